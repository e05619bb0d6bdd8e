/* A storage plugin whose every call fails as an unreachable server would:
 * the engine's tests use it to check that the failure policy decides. */
#include <stddef.h>

#include "limify/plugin.h"

static const limify_host_api* g_host;
static int g_instance;

static int32_t Create(const char* options_json, const limify_storage_env* env, void** out,
                      limify_plugin_error* err) {
  (void)options_json;
  (void)env;
  (void)err;
  *out = &g_instance;
  return LIMIFY_PLUGIN_OK;
}

static void Destroy(void* instance) { (void)instance; }

static int32_t Execute(void* instance, const limify_storage_op* op, limify_verdict* out,
                       limify_plugin_error* err) {
  (void)instance;
  (void)op;
  (void)out;
  g_host->set_error(err, LIMIFY_PLUGIN_UNAVAILABLE, "connection refused (test storage)");
  return LIMIFY_PLUGIN_UNAVAILABLE;
}

static int32_t Remove(void* instance, const limify_key* keys, size_t n, limify_plugin_error* err) {
  (void)instance;
  (void)keys;
  (void)n;
  g_host->set_error(err, LIMIFY_PLUGIN_UNAVAILABLE, "connection refused (test storage)");
  return LIMIFY_PLUGIN_UNAVAILABLE;
}

/* Counting keys needs the server too. */
static int32_t KeyCount(void* instance, int64_t* out_count, limify_plugin_error* err) {
  (void)instance;
  (void)out_count;
  g_host->set_error(err, LIMIFY_PLUGIN_UNAVAILABLE, "connection refused (test storage)");
  return LIMIFY_PLUGIN_UNAVAILABLE;
}

static const limify_storage kStorage = {sizeof(limify_storage), 0, "unavailable", Create,
                                        Destroy, Execute, Remove, KeyCount, NULL};
static const limify_storage* const kStorages[] = {&kStorage};
static const limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "unavailable_storage", "0.1.0", 0, NULL, 1, kStorages};

LIMIFY_PLUGIN_EXPORT const limify_plugin_manifest* limify_plugin_entry(const limify_host_api* host) {
  g_host = host;
  return &kManifest;
}
