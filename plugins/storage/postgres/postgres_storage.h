// The postgres storage: rate-limit state in PostgreSQL, one atomic step per
// check, with the server's clock (clock_timestamp(), integer microseconds).
//
// Paths. A built-in algorithm runs natively: one prepared statement calling
// its SQL function (sql/postgres/002_functions.sql, made flat by
// 003_flat_functions.sql), which locks the rule's rows in key order, decides
// every limit and consumes all or none, in one round trip and with no
// explicit transaction; it is sent with libpq's PQexecPrepared on the
// pooled connection, and a batch's in libpq's pipeline mode. Any other algorithm (or
// "native": false) takes the generic path: BEGIN, lock and read every state
// (SELECT ... FOR UPDATE, inserting an empty row for a new key so that it
// can be locked), run the host's apply here, write back, COMMIT; a peek reads
// without locking. Both paths keep the algorithms' own binary layouts in
// one bytea per key, so they read each other's rows and give the same
// verdicts (tests/postgres holds them to it).
//
// Failures. The server down, a connection lost, a restart: UNAVAILABLE; a
// statement past statement_timeout, or no connection free in time: TIMEOUT.
// The engine's failure policy and circuit breaker decide what a check then
// answers. A lost connection is replaced on the next check; the storage can
// be created while the server is down and connects (and migrates) when it
// comes back.
//
// Expired rows are deleted by a background thread, in bounded batches along
// the primary key, on a connection of its own.
#ifndef LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_STORAGE_H_
#define LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_STORAGE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection_base>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "limify/plugin.h"
#include "plugins/storage/postgres/postgres_connection.h"
#include "plugins/storage/postgres/postgres_options.h"

namespace limify::postgres {

class PostgresStorage {
 public:
  // How errors reach the host (limify_host_api.set_error).
  using SetErrorFn = void (*)(limify_plugin_error* err, int32_t code, const char* message);

  // For tests only: the plugin's execute never passes hooks.
  struct Hooks {
    bool has_now = false;  // decide at now_us instead of the server's clock
    int64_t now_us = 0;
    bool force_generic = false;
  };

  struct Counters {
    std::atomic<uint64_t> native{0};   // checks decided by a SQL function
    std::atomic<uint64_t> generic{0};  // checks decided by the generic path
    std::atomic<uint64_t> swept{0};    // expired rows deleted by the sweeper
  };

  PostgresStorage(const PostgresOptions& options, SetErrorFn set_error);
  PostgresStorage(const PostgresStorage&) = delete;
  PostgresStorage& operator=(const PostgresStorage&) = delete;
  ~PostgresStorage();

  // Connects once (within connect_timeout_ms) and prepares the schema. A
  // server that cannot be reached is fine (the storage connects on first
  // use); a schema it cannot use is not (FailedPrecondition, or the server's
  // refusal, e.g. permission denied).
  absl::Status WarmUp();

  // One atomic step (limify_storage.execute).
  int32_t Execute(const limify_storage_op& op, limify_verdict* out, limify_plugin_error* err,
                  const Hooks* hooks = nullptr);
  // Many checks at once (limify_storage.execute_batch). The native ones go
  // out together on one connection in libpq's pipeline mode, each followed
  // by a Sync so that each is its own implicit transaction exactly as in
  // Execute (an error ends that op only), and are answered in one round
  // trip; the others then run one by one through Execute. A key always takes
  // the same path, so ops on one key run in batch order. Fills *outs[i] and
  // codes[i]; errors go to errs[i] (entries may be null). An op that fails
  // limify::plugin::CheckStorageOp is answered INVALID_ARGUMENT alone.
  void ExecuteBatch(const limify_storage_op* const* ops, size_t n, limify_verdict* const* outs,
                    int32_t* codes, limify_plugin_error* const* errs,
                    const Hooks* hooks = nullptr);
  // Forgets `keys` with one DELETE (limify_storage.remove).
  int32_t Remove(const limify_key* keys, size_t n_keys, limify_plugin_error* err);
  // Rows in the state table, expired ones not yet swept included.
  int32_t KeyCount(int64_t* out, limify_plugin_error* err);

  // One pass of the sweeper over the whole table, batch by batch; returns
  // the rows deleted. Runs in the background every sweep_interval_ms.
  absl::StatusOr<int64_t> SweepOnce();

  const Counters& counters() const { return counters_; }
  const PostgresOptions& options() const { return options_; }
  uint64_t Connects() const { return pool_.connects(); }

 private:
  absl::Status Setup(pqxx::connection_base& conn);
  int32_t Fail(limify_plugin_error* err, const absl::Status& status);
  Deadline NewDeadline() const;
  const char* NativeStatement(const limify_storage_op& op, const Hooks* hooks) const;
  int32_t Native(const char* statement, const limify_storage_op& op, const Hooks* hooks,
                 limify_verdict* out, limify_plugin_error* err);
  int32_t Generic(const limify_storage_op& op, const Hooks* hooks, limify_verdict* out,
                  limify_plugin_error* err);
  // The pipeline of ExecuteBatch: ops[which[k]] runs statements[which[k]].
  void Pipeline(const limify_storage_op* const* ops, const std::vector<size_t>& which,
                const std::vector<const char*>& statements, const Hooks* hooks,
                limify_verdict* const* outs, int32_t* codes, limify_plugin_error* const* errs);
  void SweepLoop();
  // Up to max_batches sweep steps from sweep_cursor_; needs sweep_mu_.
  absl::StatusOr<int64_t> SweepLocked(int max_batches);

  const PostgresOptions options_;
  const SetErrorFn set_error_;
  const std::string schema_;  // quoted

  std::mutex schema_mu_;                 // one migration at a time
  std::atomic<bool> schema_ready_{false};

  Pool pool_;
  Counters counters_;

  std::mutex sweep_mu_;  // one pass at a time; guards sweep_conn_
  ConnectionPtr sweep_conn_;
  std::string sweep_cursor_ = "\\x";  // the last key swept, as a bytea literal
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread sweeper_;
};

}  // namespace limify::postgres

#endif  // LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_STORAGE_H_
