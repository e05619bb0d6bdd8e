/* A working in-memory storage (generic path, the host's clock) that fails on
 * command, for the engine's tests of the circuit breaker and of batches.
 * Tests reach its controls with dlopen(RTLD_NOLOAD) + dlsym:
 *   switchable_storage_fail_with(code)  every call from now on returns
 *                                       `code` (0: work normally)
 *   switchable_storage_calls()          execute and remove calls that
 *                                       reached the storage
 * State is kept in a small table (enough for tests) behind one mutex. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limify/plugin.h"

#define MAX_ENTRIES 4096

struct entry {
  char* key;
  size_t key_size;
  unsigned char* state;
  size_t state_size;
};

struct instance {
  pthread_mutex_t mu;
  limify_storage_env env;
  size_t n;
  struct entry entries[MAX_ENTRIES];
};

static const limify_host_api* g_host;
static atomic_int g_fail_with;
static atomic_ulong g_calls;

__attribute__((visibility("default"))) void switchable_storage_fail_with(int32_t code) {
  atomic_store(&g_fail_with, code);
}
__attribute__((visibility("default"))) uint64_t switchable_storage_calls(void) {
  return atomic_load(&g_calls);
}

/* The commanded failure, or 0. Counts the call either way. */
static int32_t Commanded(limify_plugin_error* err) {
  int32_t code;
  atomic_fetch_add(&g_calls, 1);
  code = atomic_load(&g_fail_with);
  if (code != 0) g_host->set_error(err, code, "failing on command (switchable test storage)");
  return code;
}

static struct entry* Find(struct instance* s, const limify_key* key, size_t state_size) {
  size_t i;
  for (i = 0; i < s->n; ++i) {
    struct entry* e = &s->entries[i];
    if (e->key_size == key->size && memcmp(e->key, key->data, key->size) == 0) return e;
  }
  if (s->n == MAX_ENTRIES) return NULL;
  {
    struct entry* e = &s->entries[s->n];
    e->key = malloc(key->size);
    e->state = calloc(1, state_size);
    if (e->key == NULL || e->state == NULL) {
      free(e->key);
      free(e->state);
      return NULL;
    }
    memcpy(e->key, key->data, key->size);
    e->key_size = key->size;
    e->state_size = state_size;
    s->n++;
    return e;
  }
}

static int32_t Create(const char* options_json, const limify_storage_env* env, void** out,
                      limify_plugin_error* err) {
  struct instance* s;
  (void)options_json;
  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    g_host->set_error(err, LIMIFY_PLUGIN_INTERNAL, "out of memory");
    return LIMIFY_PLUGIN_INTERNAL;
  }
  pthread_mutex_init(&s->mu, NULL);
  s->env = *env;
  *out = s;
  return LIMIFY_PLUGIN_OK;
}

static void Destroy(void* instance) {
  struct instance* s = instance;
  size_t i;
  for (i = 0; i < s->n; ++i) {
    free(s->entries[i].key);
    free(s->entries[i].state);
  }
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static int32_t Execute(void* instance, const limify_storage_op* op, limify_verdict* out,
                       limify_plugin_error* err) {
  struct instance* s = instance;
  void* states[8];
  int64_t ttl[8];
  int write_back = 0;
  int32_t rc;
  size_t i;
  if ((rc = Commanded(err)) != 0) return rc;
  if (op->n_keys > 8) {
    g_host->set_error(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "execute: too many keys");
    return LIMIFY_PLUGIN_INVALID_ARGUMENT;
  }
  pthread_mutex_lock(&s->mu);
  for (i = 0; i < op->n_keys; ++i) {
    struct entry* e = Find(s, &op->keys[i], op->state_sizes[i]);
    if (e == NULL || e->state_size != op->state_sizes[i]) {
      pthread_mutex_unlock(&s->mu);
      g_host->set_error(err, LIMIFY_PLUGIN_INTERNAL, "execute: table full or state size changed");
      return LIMIFY_PLUGIN_INTERNAL;
    }
    states[i] = e->state;
  }
  /* The states are written in place: apply modifies them only when it sets
   * write_back, which is all a write-back would do here. */
  rc = op->apply(op->apply_ctx, states, s->env.now_us(s->env.clock_ctx), &write_back, ttl, out,
                 err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static int32_t Remove(void* instance, const limify_key* keys, size_t n, limify_plugin_error* err) {
  struct instance* s = instance;
  size_t i, j;
  int32_t rc;
  if ((rc = Commanded(err)) != 0) return rc;
  pthread_mutex_lock(&s->mu);
  for (i = 0; i < n; ++i) {
    for (j = 0; j < s->n; ++j) {
      struct entry* e = &s->entries[j];
      if (e->key_size == keys[i].size && memcmp(e->key, keys[i].data, keys[i].size) == 0) {
        memset(e->state, 0, e->state_size);
      }
    }
  }
  pthread_mutex_unlock(&s->mu);
  return LIMIFY_PLUGIN_OK;
}

static const limify_storage kStorage = {sizeof(limify_storage), LIMIFY_STORAGE_USES_HOST_CLOCK,
                                        "switchable", Create, Destroy, Execute, Remove, NULL, NULL};
static const limify_storage* const kStorages[] = {&kStorage};
static const limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "switchable_storage", "0.1.0", 0, NULL, 1, kStorages};

LIMIFY_PLUGIN_EXPORT const limify_plugin_manifest* limify_plugin_entry(const limify_host_api* host) {
  g_host = host;
  return &kManifest;
}
