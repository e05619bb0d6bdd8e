/*
 * limify plugin ABI — the contract between the engine and every algorithm or
 * storage plugin.
 *
 * Pure C99, standard headers only, so that a plugin can be written in C, C++,
 * Rust or anything that can export a C function, and built by another
 * compiler than the engine's.
 *
 * Conventions (after SQLite's versioned structs, libgit2's backends and
 * PostgreSQL's PG_MODULE_MAGIC):
 *  - A plugin is a shared object exporting one function named
 *    LIMIFY_PLUGIN_ENTRY_SYMBOL ("limify_plugin_entry"). The host calls it
 *    right after loading and gets a manifest that proves the ABI (magic, major
 *    version, struct size) and lists what the plugin provides.
 *  - Every struct that may grow carries its size (`struct_size`, first or
 *    right after the manifest's magic and version). Structs only grow at the
 *    end; the host never reads a field past the size the plugin declared, and
 *    a plugin must not read past the size the host declared.
 *  - No exception, panic or C++ object crosses this boundary. Fallible
 *    functions return a limify_plugin_code and report text through
 *    host->set_error(), which copies it: whoever allocates, frees.
 *  - Algorithms are pure state machines: no I/O, no clock. Time is passed in
 *    as integer microseconds. Storages make one step atomic and supply the
 *    clock.
 */
#ifndef LIMIFY_PLUGIN_H_
#define LIMIFY_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "LMFY" — first field of every manifest; anything else is not a plugin. */
#define LIMIFY_PLUGIN_MAGIC 0x4C4D4659u
/* A host refuses a plugin whose major version differs from its own. Minor
 * versions add fields at the end of structs and are compatible both ways.
 * History: 1.0 first release; 1.1 adds limify_storage.key_count; 1.2 adds
 * limify_storage.execute_batch. */
#define LIMIFY_PLUGIN_ABI_MAJOR 1
#define LIMIFY_PLUGIN_ABI_MINOR 2
#define LIMIFY_PLUGIN_ENTRY_SYMBOL "limify_plugin_entry"

/* The symbol must be exported with C linkage and default visibility. */
#if defined(_WIN32)
#define LIMIFY_PLUGIN_EXPORT __declspec(dllexport)
#else
#define LIMIFY_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Result of every fallible plugin function. The values are the engine's own
 * status codes (the C API reports them unchanged). */
typedef enum limify_plugin_code {
  LIMIFY_PLUGIN_OK = 0,
  LIMIFY_PLUGIN_INVALID_ARGUMENT = 1, /* bad options or spec: a config error */
  LIMIFY_PLUGIN_UNAVAILABLE = 4,      /* storage unreachable or failing */
  LIMIFY_PLUGIN_TIMEOUT = 5,          /* storage did not answer in time */
  LIMIFY_PLUGIN_INTERNAL = 7          /* a bug or an unexpected condition */
} limify_plugin_code;

/* Retry-after value meaning "never": the cost exceeds what the limit can
 * ever grant, so waiting does not help. */
#define LIMIFY_RETRY_NEVER INT64_C(-1)

/* Opaque error sink owned by the host; only host->set_error writes it. */
typedef struct limify_plugin_error limify_plugin_error;

/* Services the host offers every plugin; handed to the entry function. The
 * pointer stays valid for as long as the plugin is loaded. */
typedef struct limify_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Records an error; the host copies `message`. `err` may be NULL. */
  void (*set_error)(limify_plugin_error* err, int32_t code,
                    const char* message);
} limify_host_api;

/* ------------------------------------------------------------------------ */
/* Algorithms                                                               */
/* ------------------------------------------------------------------------ */

/* One limit: `limit` requests per `period_us`, and how many may pass at once. */
typedef struct limify_limit_spec {
  uint32_t struct_size;
  uint32_t reserved; /* zero */
  int64_t limit;     /* > 0 */
  int64_t period_us; /* > 0 */
  int64_t burst;     /* 0 = not configured; the algorithm defaults it */
} limify_limit_spec;

/* The outcome of one step for one limit. */
typedef struct limify_verdict {
  uint32_t struct_size;
  uint32_t allowed;       /* 1 if a request of this cost passes */
  int64_t limit;          /* what `remaining` counts down from */
  int64_t remaining;      /* whole requests left after this step */
  int64_t reset_after_us; /* until the state is back to full (fresh) */
  int64_t retry_after_us; /* 0 when allowed; LIMIFY_RETRY_NEVER if never */
  /* Set by whoever combines the limits of a rule (the host's apply, or a
   * storage's native path): index of the limit that binds. Algorithms leave
   * it 0. */
  uint32_t binding_limit;
  uint32_t reserved2; /* zero */
} limify_verdict;

/*
 * An algorithm. State for one key is `state_size(spec)` bytes. A state of all
 * zero bytes is a fresh key (full capacity). State may be unaligned: read and
 * write it with memcpy.
 */
typedef struct limify_algorithm {
  uint32_t struct_size;
  uint32_t reserved; /* zero */
  const char* name;  /* e.g. "token_bucket"; [a-z0-9_]+ */

  /* Accepts or refuses a spec (e.g. "sliding_window does not use burst").
   * Called once per limit at configuration time. */
  int32_t (*validate)(const limify_limit_spec* spec, limify_plugin_error* err);

  /* Bytes of state one key needs for this (validated) spec. */
  size_t (*state_size)(const limify_limit_spec* spec);

  /* Decides a request of `cost` (>= 1) at `now_us`. Writes the new state into
   * `state` only when the request is allowed and `peek` is 0; otherwise the
   * state is left untouched. Time may go backwards: no refill, no crash. */
  int32_t (*step)(const limify_limit_spec* spec, void* state,
                  size_t state_size, int64_t now_us, int64_t cost, int peek,
                  limify_verdict* out, limify_plugin_error* err);
} limify_algorithm;

/* ------------------------------------------------------------------------ */
/* Storages                                                                 */
/* ------------------------------------------------------------------------ */

/* A storage key: bytes, not NUL-terminated. */
typedef struct limify_key {
  const char* data;
  size_t size;
} limify_key;

/* What the host lends a storage when creating it. */
typedef struct limify_storage_env {
  uint32_t struct_size;
  uint32_t reserved;
  /* The host's clock (system or manual), for storages that do not own one. */
  int64_t (*now_us)(void* clock_ctx);
  void* clock_ctx;
} limify_storage_env;

typedef enum limify_storage_mode {
  LIMIFY_MODE_CHECK = 0, /* decide and consume */
  LIMIFY_MODE_PEEK = 1   /* decide, consume nothing */
} limify_storage_mode;

/*
 * One atomic step over the keys of one rule (one key per limit). The storage
 * must run it atomically with respect to every other user of the same
 * storage, and supply `now_us`.
 *
 * Generic path (any algorithm): load the state of every key (zero bytes for a
 * missing or expired key), call `apply`, and if it sets *write_back, store
 * every state back with its ttl_us (a state may be dropped after ttl_us
 * microseconds: by then it is equivalent to a fresh one).
 *
 * Native path: a storage that implements `algorithm` itself (a Lua script, a
 * SQL function) may decide in one round trip instead, and must give the same
 * answers as the generic path.
 */
typedef struct limify_storage_op {
  uint32_t struct_size;
  uint32_t mode; /* limify_storage_mode */
  size_t n_keys;
  const limify_key* keys;
  const size_t* state_sizes;       /* per key */
  const char* algorithm;           /* name, for native paths */
  const limify_limit_spec* specs;  /* per key */
  int64_t cost;

  /* Host logic for the generic path. `states[i]` holds state_sizes[i] bytes.
   * Fills `out` (the rule's combined verdict) and ttl_us[i]. It modifies the
   * states only when it sets *write_back. */
  int32_t (*apply)(void* apply_ctx, void* const* states, int64_t now_us,
                   int* write_back, int64_t* ttl_us, limify_verdict* out,
                   limify_plugin_error* err);
  void* apply_ctx;
} limify_storage_op;

/* Storage capability flags. */
#define LIMIFY_STORAGE_USES_HOST_CLOCK 0x1u /* honours env->now_us (manual clock) */

typedef struct limify_storage {
  uint32_t struct_size;
  uint32_t flags;   /* LIMIFY_STORAGE_* */
  const char* name; /* e.g. "memory"; [a-z0-9_]+ */

  /* Creates an instance from the JSON object of `storage` options (without
   * "type"). Errors name the option, e.g. "max_keys: expected ...". */
  int32_t (*create)(const char* options_json, const limify_storage_env* env,
                    void** out_instance, limify_plugin_error* err);
  void (*destroy)(void* instance);

  /* Runs one atomic step; `out` receives the verdict. */
  int32_t (*execute)(void* instance, const limify_storage_op* op,
                     limify_verdict* out, limify_plugin_error* err);

  /* Forgets the state of `keys` (all of them, atomically). */
  int32_t (*remove)(void* instance, const limify_key* keys, size_t n_keys,
                    limify_plugin_error* err);

  /* ---- ABI 1.1 (read only when struct_size covers it) ---- */

  /* Optional (NULL: not supported). Writes into *out_count how many keys the
   * instance holds, for the engine's metrics ("keys held"). Called from a
   * metrics scrape, not per request: it may take a round trip, and an
   * estimate (e.g. including expired keys not yet swept) is fine. */
  int32_t (*key_count)(void* instance, int64_t* out_count,
                       limify_plugin_error* err);

  /* ---- ABI 1.2 (read only when struct_size covers it) ---- */

  /* Optional (NULL: the host calls `execute` once per op instead). Runs
   * `n_ops` independent steps, for a host with many requests in hand; a
   * remote storage sends them together (one pipelined round trip per
   * server). Each op is one atomic step exactly as `execute` would run it,
   * with the same answer; the batch as a whole is not atomic. Steps on the
   * same keys take effect in batch order.
   *
   * The arrays hold pointers, so that each struct keeps its own struct_size:
   * ops[i] is answered in *outs[i] and codes[i] (a limify_plugin_code), its
   * error text goes to errs[i] (an entry may be NULL). Returns
   * LIMIFY_PLUGIN_OK when every codes[i] is set; any other code (with `err`)
   * fails the whole batch and the host reads no codes[i]. */
  int32_t (*execute_batch)(void* instance, const limify_storage_op* const* ops,
                           size_t n_ops, limify_verdict* const* outs,
                           int32_t* codes, limify_plugin_error* const* errs,
                           limify_plugin_error* err);
} limify_storage;

/* ------------------------------------------------------------------------ */
/* The manifest                                                             */
/* ------------------------------------------------------------------------ */

typedef struct limify_plugin_manifest {
  uint32_t magic; /* LIMIFY_PLUGIN_MAGIC */
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t struct_size; /* sizeof(limify_plugin_manifest) as built */
  uint32_t reserved;
  const char* name;    /* plugin name, for messages */
  const char* version; /* plugin version, e.g. "1.0.0" */
  size_t n_algorithms;
  const limify_algorithm* const* algorithms;
  size_t n_storages;
  const limify_storage* const* storages;
} limify_plugin_manifest;

/* The one function a plugin exports. Returns a manifest with static lifetime,
 * or NULL to refuse loading. */
typedef const limify_plugin_manifest* (*limify_plugin_entry_fn)(
    const limify_host_api* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIMIFY_PLUGIN_H_ */
