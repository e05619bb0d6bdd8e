// One SQLite connection of the sqlite storage: opened on the configured file
// in WAL mode with the schema in place, with every statement the storage
// runs prepared once. A connection is used by one thread at a time (the
// storage's pool lends it), so it is opened with SQLITE_OPEN_NOMUTEX.
//
// Errors name the database file and say what failed. Their codes:
//  - InvalidArgument: the configuration cannot work (missing or read-only
//    directory, a schema newer than this plugin knows);
//  - DeadlineExceeded: the lock was not had within busy_timeout_ms
//    (SQLITE_BUSY / SQLITE_LOCKED);
//  - Unavailable: anything else SQLite reports (corrupt file, I/O error,
//    disk full, the file deleted while open...);
//  - Internal: misuse or out of memory.
// After any error but DeadlineExceeded the connection is `broken()`: the
// pool closes it rather than lend it again.
#ifndef LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_CONNECTION_H_
#define LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_CONNECTION_H_

#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "limify/plugin.h"
#include "plugins/storage/sqlite/sqlite_options.h"

namespace limify::sqlite {

using Deadline = std::chrono::steady_clock::time_point;

class Connection {
 public:
  // Opens `options.path`, switches it to WAL (files only), applies
  // `synchronous`, brings the schema to the current version and prepares
  // the statements. Waits for locks until `deadline`.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const SqliteOptions& options,
                                                          Deadline deadline);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Locks are waited for until this time (the busy handler gives up then).
  void set_deadline(Deadline deadline) { deadline_ = deadline; }
  bool broken() const { return broken_; }

  // BEGIN IMMEDIATE (takes the database's write lock now, so the step that
  // follows is atomic across processes) or BEGIN (a read snapshot). First,
  // at most every kMovedCheckInterval, makes sure the file is still the one
  // at `path`: SQLite in WAL mode goes on writing to a file renamed or
  // deleted while open, which would split the processes between two files.
  absl::Status Begin(bool write);
  absl::Status Commit();
  // Rolls back the open transaction, if any. Never fails.
  void Rollback();

  // Copies the state of `key` into `state` (`size` bytes), or zeroes it when
  // the key is missing, expired at `now_us`, or holds a state of another size.
  absl::Status Load(const limify_key& key, int64_t now_us, uint8_t* state, size_t size);
  absl::Status Store(const limify_key& key, const uint8_t* state, size_t size,
                     int64_t expires_us);
  absl::Status Erase(const limify_key& key);
  // One step of the sweeper's walk over the table in key order: examines
  // at most `batch` rows after `*cursor` (from the start when it is empty),
  // deletes those expired at `now_us`, and moves `*cursor` to the last row
  // examined, or back to "" at the end of the table.
  struct SweepResult {
    int64_t examined = 0;
    int64_t deleted = 0;
  };
  absl::StatusOr<SweepResult> Sweep(int64_t now_us, int64_t batch, std::string* cursor);
  // Rows not expired at `now_us` (a scan of the table).
  absl::StatusOr<int64_t> CountLive(int64_t now_us);

  // Per-connection scratch for the states of one step: reused, so a step on
  // a warm connection allocates nothing.
  std::vector<uint8_t>& scratch() { return scratch_; }

 private:
  enum Stmt { kBeginWrite, kBeginRead, kCommit, kRollback, kSelect, kUpsert, kDelete,
              kScan, kCount, kStmtCount };

  Connection(const SqliteOptions& options, Deadline deadline);
  absl::Status Init();
  absl::Status Exec(const char* sql, const char* what);
  absl::StatusOr<int64_t> QueryInt(const char* sql, const char* what);
  absl::Status EnsureSchema();
  absl::Status Run(Stmt stmt, const char* what);  // steps to SQLITE_DONE and resets
  // Turns SQLite's result `rc` into a Status naming the file and `what`
  // failed; marks the connection broken unless it is a lock timeout.
  absl::Status Failure(int rc, const char* what);

  static int OnBusy(void* self, int attempts) noexcept;

  const SqliteOptions& options_;  // owned by the storage, outlives every connection
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmts_[kStmtCount] = {};
  Deadline deadline_;
  std::chrono::steady_clock::time_point moved_checked_;  // last SQLITE_FCNTL_HAS_MOVED
  bool broken_ = false;
  std::vector<uint8_t> scratch_;
  std::vector<std::string> expired_;  // the sweeper's victims, reused
};

}  // namespace limify::sqlite

#endif  // LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_CONNECTION_H_
