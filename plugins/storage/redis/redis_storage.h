// The redis storage: rate-limit state in Redis or a Redis Cluster, one atomic
// step per check.
//
// Paths. An algorithm with a script in lua/ (the five built-in ones) runs
// natively: one EVALSHA with every key of the rule, deciding all limits and
// consuming all-or-nothing inside the script, with Redis TIME as the clock.
// Any other algorithm (or "native": false, or limits too large for Lua's
// exact integers) takes the generic path: one script reads the server's time
// and every state, the host's apply runs here, and a compare-and-set script
// writes the new states only if none changed meanwhile, retrying with
// jittered backoff. Both paths store the algorithms' own binary layouts as
// Redis strings, so a key is interchangeable between them, and give the same
// verdicts (tests/redis holds them to it).
//
// Scripts are run by SHA-1; a NOSCRIPT reply (SCRIPT FLUSH, a restart, a new
// node) is answered by sending the script itself with EVAL, which loads it.
//
// Cluster. With "cluster": "auto" (the default) the first contact asks
// CLUSTER SLOTS: a cluster answers with its slot map, a standalone server
// with an error. Keys are routed by the CRC16 of their hash tag (all keys of
// a check share it: limify:{rule|plan|kind|hash}:...); MOVED updates the map
// and schedules a refresh, ASK is followed with ASKING, TRYAGAIN retried
// until the deadline, and a connection error to a node schedules a refresh.
//
// Combining ("combine", on by default; standalone only). Concurrent native
// checks beyond eight calls on their way are combined into calls of their
// script's batch form (check_combiner.h), so that under load the server
// pays a script call's own cost once per call, not once per check.
//
// Over-limit cache ("over_limit_cache", off by default): blocks Redis
// answered are answered again locally until their retry_after passes; see
// over_limit_cache.h for why that never blocks what Redis would allow.
//
// Time bounds. A check, retries and redirections included, never takes
// longer than command_timeout_ms (connecting included, itself bounded by
// connect_timeout_ms). A server that cannot be reached gives UNAVAILABLE, one
// that does not answer in time TIMEOUT; what to decide then is the engine's
// failure policy.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_STORAGE_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_STORAGE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "limify/plugin.h"
#include "plugins/storage/redis/check_combiner.h"
#include "plugins/storage/redis/over_limit_cache.h"
#include "plugins/storage/redis/redis_connection.h"
#include "plugins/storage/redis/redis_options.h"
#include "plugins/storage/redis/redis_scripts.h"
#include "plugins/storage/redis/resp.h"

namespace limify::redis {

// Limits whose arithmetic stays exact in Lua (doubles) may run natively:
// (2 * max(limit, burst) + cost) * period < 2^52 for every limit.
bool FitsLua(const limify_storage_op& op);

class RedisStorage {
 public:
  // How errors reach the host (limify_host_api.set_error).
  using SetErrorFn = void (*)(limify_plugin_error* err, int32_t code, const char* message);

  // For tests only: the plugin's execute never passes hooks.
  struct Hooks {
    bool has_now = false;  // use now_us instead of Redis TIME
    int64_t now_us = 0;
    bool force_generic = false;
  };

  // What happened so far (tests and diagnostics).
  struct Counters {
    std::atomic<uint64_t> native{0};        // checks decided by a native script
    std::atomic<uint64_t> native_batches{0}; // script calls that decided several checks
                                             // (a batch's, or concurrent checks combined)
    std::atomic<uint64_t> generic{0};       // checks decided by the generic path
    std::atomic<uint64_t> lua_fallbacks{0}; // native script answered "inexact"
    std::atomic<uint64_t> cas_conflicts{0};
    std::atomic<uint64_t> script_loads{0};  // NOSCRIPT answered with EVAL
    std::atomic<uint64_t> moved{0};
    std::atomic<uint64_t> asks{0};
    std::atomic<uint64_t> tryagains{0};
    std::atomic<uint64_t> refreshes{0};     // slot maps fetched
    std::atomic<uint64_t> cache_hits{0};    // blocks answered by the over-limit cache
  };

  RedisStorage(const RedisOptions& options, SetErrorFn set_error);
  RedisStorage(const RedisStorage&) = delete;
  RedisStorage& operator=(const RedisStorage&) = delete;
  ~RedisStorage();

  // Connects once and learns whether the server is a cluster, within
  // connect_timeout_ms. Failing to connect is not an error (the storage
  // connects on first use); a server that contradicts "cluster": true/false
  // is (INVALID_ARGUMENT, with `error` set).
  int32_t WarmUp(std::string* error);

  // One atomic step (limify_storage.execute).
  int32_t Execute(const limify_storage_op& op, limify_verdict* out, limify_plugin_error* err,
                  const Hooks* hooks = nullptr);
  // Many checks at once (limify_storage.execute_batch), for a host with many
  // requests in hand, all within one command_timeout_ms. The native ones are
  // written as one pipeline per server and answered in one round trip; ops
  // of one script (on a cluster: of one slot too) share one call of its
  // batch form, which decides them in turn at one instant and costs the
  // server a fraction of a call per check. Any that needs more (NOSCRIPT, a
  // redirection, the generic path) then runs alone through Execute. Each op
  // is one atomic step, as with Execute; ops on one key run in batch order
  // except that those sent again run after the others. A script that fails
  // as a whole fails each of its ops (some may have been decided): none is
  // sent again. An op that fails limify::plugin::CheckStorageOp gets
  // INVALID_ARGUMENT alone. Fills *outs[i] and codes[i]; errors go to
  // errs[i] (entries may be null).
  void ExecuteBatch(const limify_storage_op* const* ops, size_t n, limify_verdict* const* outs,
                    int32_t* codes, limify_plugin_error* const* errs,
                    const Hooks* hooks = nullptr);
  // The keys of this storage (its key_prefix + "limify:{"), counted with
  // SCAN MATCH ... COUNT 1000 on every master (limify_storage.key_count,
  // for a metrics scrape). Each SCAN is bounded by command_timeout_ms and
  // the whole count by kKeyCountBudgetMs: beyond that it gives up (TIMEOUT)
  // rather than stall the scrape.
  static constexpr int kKeyCountBudgetMs = 1000;
  int32_t KeyCount(int64_t* out_count, limify_plugin_error* err);
  // Forgets `keys` with one DEL (limify_storage.remove).
  int32_t Remove(const limify_key* keys, size_t n_keys, limify_plugin_error* err);

  // Runs one command, routed by the slot of `route_key` (the seed server
  // when empty), following redirections; for tests and diagnostics.
  int32_t Command(std::string_view route_key, const std::vector<std::string>& argv,
                  ReplyPtr* reply, std::string* error);

  bool IsCluster() const { return mode_.load(std::memory_order_acquire) == kCluster; }
  const Counters& counters() const { return counters_; }
  const RedisOptions& options() const { return options_; }
  // Successful connects, over all nodes (tests: reconnection).
  uint64_t Connects() const;

 private:
  enum Mode { kUnknown = 0, kStandalone = 1, kCluster = 2 };
  class ScriptCall;

  int32_t Fail(limify_plugin_error* err, int32_t code, const std::string& message) const;
  int32_t ExecuteBy(const limify_storage_op& op, Deadline deadline, limify_verdict* out,
                    limify_plugin_error* err, const Hooks* hooks);
  int32_t ExecuteUncached(const limify_storage_op& op, Deadline deadline, limify_verdict* out,
                          limify_plugin_error* err, const Hooks* hooks);
  OverLimitCache* CacheFor(const Hooks* hooks) const;
  bool AnswerFromCache(OverLimitCache* cache, const limify_storage_op& op,
                       OverLimitCache::Clock::time_point now, limify_verdict* out);
  Deadline NewDeadline() const;
  int32_t Detect(Deadline deadline, std::string* error);
  int32_t RefreshSlots(Deadline deadline, bool force, std::string* error);
  bool ApplySlots(const redisReply* reply, const Node& asked);
  Node* FindOrAddNode(const std::string& host, int port);
  Node* NodeFor(int slot, Deadline deadline, int32_t* code, std::string* error);
  int32_t Route(int slot, std::string_view command, Deadline deadline, ReplyPtr* reply,
                std::string* error);
  int32_t RunScript(const Script& script, int slot, const ScriptCall& call, Deadline deadline,
                    ReplyPtr* reply, std::string* error);
  const Script* NativeScriptFor(const limify_storage_op& op, const Hooks* hooks) const;
  void NativeArgs(const limify_storage_op& op, const Hooks* hooks, std::string* args) const;
  static void AppendNow(const Hooks* hooks, CommandBuilder* b);
  static void AppendCheckArgs(const limify_storage_op& op, CommandBuilder* b);
  void EncodeBatchCall(const Script& script, const limify_storage_op* const* ops,
                       const std::vector<size_t>& which, const Hooks* hooks,
                       std::string* out) const;
  int32_t ReadNativeReply(const Script& script, const redisReply* r, limify_verdict* out,
                          std::string* error, bool* fall_back);
  int32_t Native(const Script& script, const limify_storage_op& op, int slot, const Hooks* hooks,
                 Deadline deadline, limify_verdict* out, limify_plugin_error* err,
                 bool* fall_back);
  int32_t NativeAlone(const Script& script, const limify_storage_op& op, int slot,
                      const Hooks* hooks, Deadline deadline, limify_verdict* out,
                      limify_plugin_error* err, bool* fall_back);
  // A check in the combiner (CheckCombiner::Entry::check).
  struct CombinedCheck {
    const limify_storage_op* op;
    const Script* script;
    limify_verdict* out;
    limify_plugin_error* err;
    int32_t code;
  };
  void SendCombined(CheckCombiner::Entry* const* entries, size_t n, Deadline deadline) noexcept;
  // Sends the native ops `which` (scripts[i] set) as one pipeline of script
  // calls per server, within `deadline`, and settles each it can (codes[i],
  // *outs[i], errs[i], (*done)[i]). What it cannot (NOSCRIPT, a redirection,
  // the generic path, no server known) is left for the caller to send alone.
  void SendNative(const limify_storage_op* const* ops, const std::vector<size_t>& which,
                  const Script* const* scripts, const Hooks* hooks, Deadline deadline,
                  limify_verdict* const* outs, int32_t* codes, limify_plugin_error* const* errs,
                  std::vector<bool>* done);
  int32_t Generic(const limify_storage_op& op, int slot, const Hooks* hooks, Deadline deadline,
                  limify_verdict* out, limify_plugin_error* err);

  const RedisOptions options_;
  const SetErrorFn set_error_;
  const ConnectionConfig base_config_;
  std::atomic<int> mode_{kUnknown};
  Node* seed_ = nullptr;  // the URL's server: the standalone server, or where a cluster is asked

  mutable std::mutex nodes_mu_;
  std::vector<std::unique_ptr<Node>> nodes_;  // only grows; Node addresses are stable
  std::unique_ptr<std::atomic<Node*>[]> slots_;  // cluster slot -> master

  // The generic path's steps on one key take turns within this process (a
  // stripe per hash of the first key), so compare-and-set conflicts arise
  // only between processes: 32 threads on one key otherwise starve some.
  // (A flag under a mutex and a condition variable, not std::timed_mutex,
  // whose clocked lock ThreadSanitizer does not see.)
  struct Turn {
    std::mutex mu;
    std::condition_variable cv;
    bool taken = false;
  };
  static constexpr size_t kGenericStripes = 256;
  std::unique_ptr<Turn[]> generic_stripes_;

  std::mutex refresh_mu_;  // one detection or slot refresh at a time
  Deadline last_refresh_{};
  std::atomic<bool> refresh_wanted_{false};

  // Null unless "over_limit_cache" is on.
  std::unique_ptr<OverLimitCache> over_limit_cache_;
  // Null when "combine" is off.
  std::unique_ptr<CheckCombiner> combiner_;

  Counters counters_;
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_STORAGE_H_
