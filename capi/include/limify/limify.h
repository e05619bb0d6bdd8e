/*
 * limify.h — the stable C API of liblimify.so.
 *
 * Plain C99, standard headers only. Every binding (Go, Rust, Python) and
 * every C or C++ host uses this header and nothing else.
 *
 * Conventions (after LevelDB/RocksDB's c.h, libgit2 and SQLite):
 *  - Every name starts with `limify_` / `LIMIFY_`. Handles are opaque and
 *    come in create/free pairs: what limify allocates, limify frees.
 *  - Every function that can fail returns a limify_status and takes, as its
 *    last argument, an optional caller-owned limify_error* (may be NULL).
 *    On failure the error receives the code and a message naming what and
 *    where (the JSON path of a config error, the file of a plugin); on
 *    success it is cleared. There is no thread-local "last error".
 *  - Structs passed in or out start with `struct_size`: initialise them with
 *    the `*_init()` functions (or the `*_INIT` macros). The library reads and
 *    writes no byte past the size the caller declared, so structs can grow at
 *    the end without breaking programs built against an older header.
 *  - A limify_engine is thread-safe: one engine, any number of threads, no
 *    external lock. Strings passed in are NUL-terminated UTF-8 or bytes,
 *    borrowed for the duration of the call only.
 *  - No exception, panic or signal ever crosses this API: every function
 *    catches everything and returns a code. NULL where a pointer is required
 *    gives LIMIFY_INVALID_ARGUMENT, never a crash.
 *  - A denied request is not an error: the call returns LIMIFY_OK and the
 *    decision says allowed = 0.
 *  - Paths are matched as raw text: the host normalises them (percent-
 *    decoding, "." and ".." segments) before asking, or "/api/../admin"
 *    escapes a rule on "/admin" and everything below it.
 */
#ifndef LIMIFY_H_
#define LIMIFY_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#if defined(LIMIFY_BUILDING_LIBRARY)
#define LIMIFY_EXPORT __declspec(dllexport)
#else
#define LIMIFY_EXPORT __declspec(dllimport)
#endif
#else
#define LIMIFY_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */
/* ------------------------------------------------------------------------ */

#define LIMIFY_VERSION_MAJOR 0
#define LIMIFY_VERSION_MINOR 1
#define LIMIFY_VERSION_PATCH 0
#define LIMIFY_VERSION "0.1.0"
/* MAJOR * 1000000 + MINOR * 1000 + PATCH, comparable with < and >. */
#define LIMIFY_VERSION_NUMBER 1000

/* The version of the library actually loaded (may differ from the header
 * the program was built with): "0.1.0". Static string. */
LIMIFY_EXPORT const char* limify_version(void);
/* LIMIFY_VERSION_NUMBER of the loaded library. */
LIMIFY_EXPORT int32_t limify_version_number(void);

/* ------------------------------------------------------------------------ */
/* Status and errors                                                        */
/* ------------------------------------------------------------------------ */

/* Result of every fallible call. A fixed-width integer, not an enum, so the
 * ABI does not depend on the compiler's enum size and new codes can appear
 * (treat an unknown code as an error). */
typedef int32_t limify_status;

#define LIMIFY_OK 0
#define LIMIFY_INVALID_ARGUMENT 1     /* a bad argument: NULL, cost < 0, ... */
#define LIMIFY_CONFIG_ERROR 2         /* the configuration is invalid */
#define LIMIFY_PLUGIN_ERROR 3         /* a plugin failed to load or misbehaved */
#define LIMIFY_STORAGE_ERROR 4        /* the storage is unreachable or failing */
#define LIMIFY_TIMEOUT 5              /* the storage did not answer in time */
#define LIMIFY_NOT_FOUND 6            /* no such rule, file, ... */
#define LIMIFY_INTERNAL 7             /* a bug: please report it */
#define LIMIFY_BUFFER_TOO_SMALL 8     /* the output buffer is too small; see `needed` */
#define LIMIFY_FAILED_PRECONDITION 9  /* not possible in this state (e.g. the
                                         clock is not manual) */

/* A short lower-case name for a code ("ok", "config_error", ...; "unknown"
 * for a code this library does not know). Static string. */
LIMIFY_EXPORT const char* limify_status_name(limify_status status);

#define LIMIFY_ERROR_MESSAGE_SIZE 512

/* Caller-owned; a message longer than the buffer is truncated (and still
 * NUL-terminated). */
typedef struct limify_error {
  int32_t code; /* a limify_status */
  char message[LIMIFY_ERROR_MESSAGE_SIZE];
} limify_error;

/* ------------------------------------------------------------------------ */
/* Requests and decisions                                                   */
/* ------------------------------------------------------------------------ */

/* Rule, plan and policy ids are 1 to 64 characters. */
#define LIMIFY_ID_MAX 64

/* One request. NULL or "" means "absent" for every string field. */
typedef struct limify_request {
  uint32_t struct_size; /* sizeof(limify_request) */
  uint32_t reserved;    /* zero */
  const char* method;   /* "GET"; matched case-sensitively */
  const char* path;     /* "/api/items/42" */
  const char* user_id;
  const char* org_id;
  const char* api_key;
  const char* client_ip;
  const char* plan;     /* an explicit plan wins over every other source */
  int64_t cost;         /* 0 = 1; must not be negative */
} limify_request;

#define LIMIFY_REQUEST_INIT \
  { (uint32_t)sizeof(limify_request), 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }
/* Zeroes `request` and sets its struct_size (for bindings that cannot expand
 * macros). */
LIMIFY_EXPORT void limify_request_init(limify_request* request);

/* limit/remaining when no rule matched: the request is not limited. */
#define LIMIFY_UNLIMITED INT64_C(-1)
/* retry_after_us when waiting can never help: the cost exceeds the limit. */
#define LIMIFY_RETRY_NEVER INT64_C(-1)

/* The answer to one request. */
typedef struct limify_decision {
  uint32_t struct_size;   /* sizeof(limify_decision) */
  int32_t allowed;        /* 1: let it through; 0: answer 429 */
  int32_t matched;        /* 1: a rule (or the default rule) applied */
  int32_t degraded;       /* 1: decided by the failure policy, without storage */
  int64_t limit;          /* of the binding limit; LIMIFY_UNLIMITED if unmatched */
  int64_t remaining;      /* whole requests left under it */
  int64_t reset_after_us; /* until every limit of the rule is back to full */
  int64_t retry_after_us; /* 0 when allowed; LIMIFY_RETRY_NEVER if never */
  int64_t period_us;      /* window of the binding limit (0 if unmatched) */
  char rule_id[LIMIFY_ID_MAX + 1]; /* "" when no rule matched */
  char plan_id[LIMIFY_ID_MAX + 1];
} limify_decision;

#define LIMIFY_DECISION_INIT { (uint32_t)sizeof(limify_decision), 0, 0, 0, 0, 0, 0, 0, 0, "", "" }
LIMIFY_EXPORT void limify_decision_init(limify_decision* decision);

/* ------------------------------------------------------------------------ */
/* Engines                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct limify_engine limify_engine;

/* Creates an engine from a JSON configuration (see the README's
 * configuration reference). On failure *out is set to NULL. */
LIMIFY_EXPORT limify_status limify_engine_new(const char* config_json,
                                              limify_engine** out,
                                              limify_error* err);
/* The same, reading the JSON from a file. */
LIMIFY_EXPORT limify_status limify_engine_new_from_file(const char* path,
                                                        limify_engine** out,
                                                        limify_error* err);
/* Replaces the configuration atomically; checks in flight finish on the old
 * one. On error the old configuration stays in force. */
LIMIFY_EXPORT limify_status limify_engine_reload(limify_engine* engine,
                                                 const char* config_json,
                                                 limify_error* err);
/* Frees the engine. No call on it may be running or start afterwards.
 * NULL is allowed. */
LIMIFY_EXPORT void limify_engine_free(limify_engine* engine);

/* Decides and consumes. A storage failure is not an error unless the failure
 * policy cannot hide it: the decision is then marked degraded. When the call
 * fails, the decision (if its struct could be written) says allowed = 0, for
 * hosts that read only `allowed`. */
LIMIFY_EXPORT limify_status limify_check(limify_engine* engine,
                                         const limify_request* request,
                                         limify_decision* decision,
                                         limify_error* err);
/* Decides without consuming anything. */
LIMIFY_EXPORT limify_status limify_peek(limify_engine* engine,
                                        const limify_request* request,
                                        limify_decision* decision,
                                        limify_error* err);
/* Forgets the state of the request's identity under its rule (every plan). */
LIMIFY_EXPORT limify_status limify_reset(limify_engine* engine,
                                         const limify_request* request,
                                         limify_error* err);

/* Checks `n` requests; decisions[i] and statuses[i] (optional, may be NULL)
 * answer requests[i]. Returns LIMIFY_OK when every request was decided,
 * otherwise the first failing status (the others are still decided). Remote
 * storages send the batch together. */
LIMIFY_EXPORT limify_status limify_check_batch(limify_engine* engine,
                                               const limify_request* const* requests,
                                               size_t n,
                                               limify_decision* const* decisions,
                                               limify_status* statuses,
                                               limify_error* err);

/* The direct form for hosts without HTTP requests: `identity` (non-empty) is
 * limited by the rule `rule_id` (the default rule's id included) under its
 * own rate. LIMIFY_NOT_FOUND for an unknown rule. cost 0 = 1. */
LIMIFY_EXPORT limify_status limify_check_key(limify_engine* engine,
                                             const char* rule_id,
                                             const char* identity, int64_t cost,
                                             limify_decision* decision,
                                             limify_error* err);
/* limify_check_key for each of `n` identities under the rule `rule_id`, at
 * costs[i] (costs NULL: 1 each; 0 = 1): decisions[i] and statuses[i] (NULL
 * if not wanted) answer identities[i]. Returns LIMIFY_OK when every identity
 * was decided, otherwise the first failing status, `err` naming its item
 * (the others are still decided; a failed item's decision says denied).
 * Remote storages send the batch together: on Redis, one round trip. */
LIMIFY_EXPORT limify_status limify_check_key_batch(limify_engine* engine,
                                                   const char* rule_id,
                                                   const char* const* identities,
                                                   size_t n, const int64_t* costs,
                                                   limify_decision* const* decisions,
                                                   limify_status* statuses,
                                                   limify_error* err);
/* Forgets what limify_check_key keeps for `identity` under `rule_id`. */
LIMIFY_EXPORT limify_status limify_reset_key(limify_engine* engine,
                                             const char* rule_id,
                                             const char* identity,
                                             limify_error* err);

/* ------------------------------------------------------------------------ */
/* Response headers                                                         */
/* ------------------------------------------------------------------------ */

/* X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (seconds until
 * reset, rounded up). */
#define LIMIFY_HEADERS_X_RATELIMIT 0x1u
/* Retry-After (whole seconds, rounded up), only on a denied decision that
 * waiting can help. */
#define LIMIFY_HEADERS_RETRY_AFTER 0x2u
/* The IETF httpapi draft's RateLimit and RateLimit-Policy fields, the policy
 * named after the rule. */
#define LIMIFY_HEADERS_IETF 0x4u
#define LIMIFY_HEADERS_DEFAULT (LIMIFY_HEADERS_X_RATELIMIT | LIMIFY_HEADERS_RETRY_AFTER)

/* Writes the response headers for `decision` into `buf` as lines
 * "Name: value\r\n", NUL-terminated. Returns the length of the text (without
 * the NUL); if that is >= len, the text did not fit and `buf` holds as much
 * as fits (snprintf's contract). A decision that matched no rule has no
 * headers (returns 0). buf may be NULL when len is 0. */
LIMIFY_EXPORT size_t limify_format_headers(const limify_decision* decision,
                                           uint32_t flags, char* buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Hooks                                                                    */
/* ------------------------------------------------------------------------ */

/* What produced a decision. */
#define LIMIFY_OPERATION_CHECK 0
#define LIMIFY_OPERATION_PEEK 1
#define LIMIFY_OPERATION_CHECK_KEY 2

/* Observers, called synchronously on the thread that made the call, from
 * many threads at once. They must not call back into the same engine's
 * limify_set_hooks, limify_set_plan_provider or limify_engine_reload (those
 * return LIMIFY_FAILED_PRECONDITION there). A hook cannot change a decision,
 * and whatever it throws is swallowed. Either callback may be NULL. */
typedef struct limify_hooks {
  uint32_t struct_size; /* sizeof(limify_hooks) */
  uint32_t reserved;    /* zero */
  void* ctx;            /* passed back unchanged */
  /* After every decision. `request` is NULL for LIMIFY_OPERATION_CHECK_KEY. */
  void (*on_decision)(void* ctx, int32_t operation, const limify_request* request,
                      const limify_decision* decision);
  /* For every error a deciding call (check, peek, reset, check_key,
   * reset_key, check_batch) meets: storage errors hidden by the failure
   * policy (the decision is degraded) and errors the call returns. */
  void (*on_error)(void* ctx, const limify_error* error);
} limify_hooks;

LIMIFY_EXPORT void limify_hooks_init(limify_hooks* hooks);

/* Installs `hooks` (copied; NULL removes them). When this returns, no call to
 * the previous hooks is running or will start, so their ctx may be freed. */
LIMIFY_EXPORT limify_status limify_set_hooks(limify_engine* engine,
                                             const limify_hooks* hooks,
                                             limify_error* err);

/* ------------------------------------------------------------------------ */
/* Plans                                                                    */
/* ------------------------------------------------------------------------ */

/* Chooses the plan of a request that names none, for a rule that defines
 * plans. Writes a NUL-terminated plan id (at most LIMIFY_ID_MAX characters)
 * into plan_out and returns 1, or returns 0 for "no plan" (the config's
 * plan map and the rule's default then apply). Called from many threads. */
typedef int32_t (*limify_plan_provider_fn)(void* ctx, const limify_request* request,
                                           const char* rule_id,
                                           char plan_out[LIMIFY_ID_MAX + 1]);

/* Installs a provider (NULL removes it). When this returns, no call to the
 * previous provider is running or will start. */
LIMIFY_EXPORT limify_status limify_set_plan_provider(limify_engine* engine,
                                                     limify_plan_provider_fn fn,
                                                     void* ctx, limify_error* err);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

#define LIMIFY_STATS_JSON 0
#define LIMIFY_STATS_PROMETHEUS 1 /* text exposition format 0.0.4 */

/* Writes the engine's metrics: decisions by rule, plan and outcome, storage
 * errors, degraded decisions, a check latency histogram, the keys held and
 * the storage's circuit breaker (state 0 closed, 1 open, 2 half-open; times
 * opened; storage calls it short-circuited).
 * Labels are bounded by rules and plans, never by identities. *needed
 * (required) receives the size the text needs including its NUL; if len is
 * smaller the call returns LIMIFY_BUFFER_TOO_SMALL and leaves buf alone (buf
 * may be NULL with len 0). */
LIMIFY_EXPORT limify_status limify_stats(limify_engine* engine, int32_t format,
                                         char* buf, size_t len, size_t* needed,
                                         limify_error* err);

/* ------------------------------------------------------------------------ */
/* Plugins                                                                  */
/* ------------------------------------------------------------------------ */

/* Describes the plugins a configuration would load (config_json NULL: the
 * default search path) as a JSON array of objects {"name", "version", "abi",
 * "file", "algorithms", "storages"}. Same buffer contract as limify_stats. */
LIMIFY_EXPORT limify_status limify_list_plugins(const char* config_json, char* buf,
                                                size_t len, size_t* needed,
                                                limify_error* err);

/* ------------------------------------------------------------------------ */
/* The manual clock (config "clock": "manual"), for tests                   */
/* ------------------------------------------------------------------------ */

/* LIMIFY_FAILED_PRECONDITION unless the engine runs on the manual clock. */
LIMIFY_EXPORT limify_status limify_clock_set(limify_engine* engine, int64_t now_us,
                                             limify_error* err);
LIMIFY_EXPORT limify_status limify_clock_advance(limify_engine* engine,
                                                 int64_t delta_us, limify_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIMIFY_H_ */
