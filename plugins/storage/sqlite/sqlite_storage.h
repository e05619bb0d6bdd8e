// The sqlite storage: rate-limit state in one SQLite database that every
// process of a host opening the same file shares.
//
// Atomicity. A check runs the generic path in one BEGIN IMMEDIATE
// transaction: it takes the database's write lock, reads every key's state,
// lets the host decide (op->apply), writes the states back and commits. The
// write lock is the file's, so the step is atomic across threads and
// processes. Within a process, writers first take the instance's writer
// turn (a mutex and condition variable), so threads of one process queue
// without polling and only other processes reach SQLite's busy handler.
// Peeks read one snapshot (BEGIN, not IMMEDIATE) and take no turn.
//
// Connections. SQLite connections must not be used by two threads at once:
// the instance lends them from a pool of at most `connections` (opened on
// first need, each with its statements prepared once). A connection that
// failed with anything but a lock timeout is closed, not lent again; the
// next one opened re-checks the file and the schema. ":memory:" is one
// connection, hence one private database per instance.
//
// Fork. A SQLite connection must not be used on both sides of a fork (its
// POSIX locks belong to the parent). A pre-fork server may create the
// engine before forking its workers: a child that finds the pool opened by
// another process abandons those connections (without closing them, which
// would disturb the parent's locks) and opens its own.
//
// Time. The host's clock (env->now_us), read once per step after the lock
// is held, so steps on one key see non-decreasing time within a process.
//
// Expiry. A row is kept for the ttl the algorithm gives (expires_us = now +
// ttl); a row expired at `now` reads as a fresh key. Expired rows are
// deleted by writers, inside their transaction, by a walk over the table in
// key order that examines at most `sweep_batch` rows per step (a range of
// the primary key: bounded work, never a full scan): one step per second of
// host-clock time, and another on the next write while a step finds a
// quarter or more of its rows expired. No index on the expiry: keeping one
// up to date costs every check a second B-tree update (measured: about
// twice the write time).
//
// Deadlines. Waiting for the writer turn, a pooled connection and SQLite's
// lock together take at most busy_timeout_ms; beyond it the step fails with
// LIMIFY_PLUGIN_TIMEOUT and the engine's failure policy decides.
#ifndef LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_STORAGE_H_
#define LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_STORAGE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "limify/plugin.h"
#include "plugins/storage/sqlite/sqlite_connection.h"
#include "plugins/storage/sqlite/sqlite_options.h"

namespace limify::sqlite {

// The host's clock, as lent in limify_storage_env.
struct HostClock {
  int64_t (*now_us)(void* ctx) = nullptr;
  void* ctx = nullptr;
  int64_t Now() const { return now_us(ctx); }
};

class SqliteStorage {
 public:
  // Opens the first connection now, so that a wrong path, a corrupt file or
  // a newer schema fails the engine's Create with a message naming the file.
  static absl::StatusOr<std::unique_ptr<SqliteStorage>> Create(const SqliteOptions& options,
                                                               HostClock clock);
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;
  ~SqliteStorage();

  // One atomic step (the generic path). `op` has been checked by the caller.
  // SQLite failures are returned as a Status; apply's own result code (and
  // the error it set) is passed on through `apply_rc`.
  absl::Status Execute(const limify_storage_op& op, limify_verdict* out,
                       limify_plugin_error* err, int32_t* apply_rc);
  // Forgets `keys`, atomically.
  absl::Status Remove(absl::Span<const limify_key> keys);
  // Rows not expired at the host clock's now.
  absl::StatusOr<int64_t> KeyCount();

 private:
  class Lease;

  SqliteStorage(const SqliteOptions& options, HostClock clock);

  Deadline NewDeadline() const;
  // A connection of the pool until the Lease dies; opens one when none is
  // idle and fewer than `connections` exist.
  absl::StatusOr<Lease> Acquire(Deadline deadline);
  void Release(std::unique_ptr<Connection> connection);
  // The writer turn (see the file comment).
  bool TakeTurn(Deadline deadline);
  void EndTurn();
  // Deletes expired rows if one is due; runs during a write transaction
  // (hence under the writer turn).
  absl::Status MaybeSweep(Connection& c, int64_t now_us);

  const SqliteOptions options_;
  const HostClock clock_;
  const size_t max_connections_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(pool_mu_);
  size_t open_ ABSL_GUARDED_BY(pool_mu_) = 0;  // idle + lent + being opened
  pid_t pool_pid_ ABSL_GUARDED_BY(pool_mu_);    // the process that opened them

  std::mutex turn_mu_;
  std::condition_variable turn_cv_;
  bool turn_taken_ ABSL_GUARDED_BY(turn_mu_) = false;

  // Sweep bookkeeping, touched only by the writer holding the turn.
  int64_t last_sweep_us_ = INT64_MIN;
  bool sweep_again_ = false;  // the last step found a backlog
  std::string sweep_cursor_;  // the last key the walk examined ("" = start)
};

}  // namespace limify::sqlite

#endif  // LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_STORAGE_H_
