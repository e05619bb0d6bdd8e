#include "plugins/storage/sqlite/sqlite_connection.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "plugins/storage/sqlite/sqlite_schema.h"

namespace limify::sqlite {
namespace {

// The statements, by Connection::Stmt. `key` is the engine's storage key as
// a BLOB; `expires_us` is host-clock time after which the row is fresh.
constexpr const char* kSql[] = {
    "BEGIN IMMEDIATE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT state, expires_us FROM limify_state WHERE key = ?1",
    "INSERT INTO limify_state (key, state, expires_us) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, expires_us = excluded.expires_us",
    "DELETE FROM limify_state WHERE key = ?1",
    // The primary key's order: a range of at most ?2 rows, no sort.
    "SELECT key, expires_us FROM limify_state WHERE key > ?1 ORDER BY key LIMIT ?2",
    "SELECT count(*) FROM limify_state WHERE expires_us > ?1",
};

// How often a connection checks that its file is still the one at `path`
// (two stat calls).
constexpr auto kMovedCheckInterval = std::chrono::milliseconds(100);

// A zero-length blob still needs a non-null pointer (null binds SQL NULL).
constexpr uint8_t kEmpty[1] = {0};

const void* BlobData(const void* data, size_t size) { return size == 0 ? kEmpty : data; }

// Resets a statement when it goes out of scope, whatever happened.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// What to tell an operator about an SQLite result code, beyond its message.
const char* Hint(int rc) {
  switch (rc) {
    case SQLITE_READONLY_DBMOVED:
      return "the database file was moved or deleted while open";
    case SQLITE_BUSY_SNAPSHOT:
      return "another process changed the database during the transaction";
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "locked by another connection or process for longer than busy_timeout_ms";
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return "the file is corrupt or is not a SQLite database";
    case SQLITE_READONLY:
      return "the file or its directory is read-only";
    case SQLITE_CANTOPEN:
      return "cannot open the file: check that its directory exists and is writable";
    case SQLITE_FULL:
      return "the disk is full";
    case SQLITE_IOERR:
      return "I/O error";
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "permission denied";
    default:
      return nullptr;
  }
}

absl::StatusCode CodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kDeadlineExceeded;
    case SQLITE_NOMEM:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

// The clear errors for a file SQLite would only call "unable to open": the
// directory must exist and be writable (WAL creates <file>-wal and
// <file>-shm beside the database), and an existing file must be readable
// and writable. Checked with the effective ids, as open(2) does.
absl::Status CheckLocation(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("path: directory \"", dir,
                                                   "\" does not exist (database \"", path,
                                                   "\"): ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("path: \"", dir, "\" is not a directory (database \"",
                                                   path, "\")"));
  }
  if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "path: directory \"", dir, "\" is not writable (database \"", path,
        "\"; WAL mode creates \"", path, "-wal\" and \"", path, "-shm\" beside it): ",
        std::strerror(errno)));
  }
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("path: \"", path, "\" is a directory"));
    }
    if (faccessat(AT_FDCWD, path.c_str(), R_OK | W_OK, AT_EACCESS) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("path: database \"", path,
                                                     "\" is not readable and writable: ",
                                                     std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Connection::Connection(const SqliteOptions& options, Deadline deadline)
    : options_(options), deadline_(deadline), moved_checked_(std::chrono::steady_clock::now()) {}

Connection::~Connection() {
  for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);  // NULL is a no-op
  // Every statement is finalized, so this closes (and, for the last
  // connection to the file, checkpoints the WAL).
  sqlite3_close(db_);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const SqliteOptions& options,
                                                             Deadline deadline) {
  std::unique_ptr<Connection> c(new Connection(options, deadline));
  if (absl::Status s = c->Init(); !s.ok()) return s;
  return c;
}

absl::Status Connection::Init() {
  if (!options_.in_memory()) {
    if (absl::Status s = CheckLocation(options_.path); !s.ok()) return s;
  }
  const int rc = sqlite3_open_v2(options_.path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) return Failure(rc, "opening");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_handler(db_, &Connection::OnBusy, this);

  if (!options_.in_memory()) {
    // Persistent in the file: the first connection switches, the others see it.
    sqlite3_stmt* stmt = nullptr;
    int r = sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
    if (r != SQLITE_OK) return Failure(r, "enabling WAL");
    // Switching needs an exclusive lock. When several processes open a new
    // file at once, SQLite answers BUSY without calling the busy handler (to
    // avoid a deadlock), so wait here, within busy_timeout_ms.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(options_.busy_timeout_ms);
    auto pause = std::chrono::microseconds(500);
    while ((r = sqlite3_step(stmt)) == SQLITE_BUSY && std::chrono::steady_clock::now() < deadline) {
      sqlite3_reset(stmt);
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(20'000));
    }
    std::string mode;
    if (r == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      mode = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(stmt);
    if (r != SQLITE_ROW) return Failure(r, "enabling WAL");
    if (mode != "wal") {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("database \"", options_.path,
                                                 "\": cannot use WAL mode (journal_mode is \"",
                                                 mode, "\"); is the file on a network file system?"));
    }
  }
  const char* sync = options_.synchronous == Synchronous::kOff    ? "PRAGMA synchronous = OFF"
                     : options_.synchronous == Synchronous::kFull ? "PRAGMA synchronous = FULL"
                                                                  : "PRAGMA synchronous = NORMAL";
  if (absl::Status s = Exec(sync, "setting synchronous"); !s.ok()) return s;
  if (absl::Status s = EnsureSchema(); !s.ok()) return s;

  for (int i = 0; i < kStmtCount; ++i) {
    const int r = sqlite3_prepare_v3(db_, kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts_[i],
                                     nullptr);
    if (r != SQLITE_OK) return Failure(r, "preparing statements (does the schema match?)");
  }
  return absl::OkStatus();
}

absl::Status Connection::Exec(const char* sql, const char* what) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : Failure(rc, what);
}

absl::StatusOr<int64_t> Connection::QueryInt(const char* sql, const char* what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Failure(rc, what);
  rc = sqlite3_step(stmt);
  const int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Failure(rc, what);
  return value;
}

absl::Status Connection::EnsureSchema() {
  const int64_t current = CurrentSchemaVersion();
  auto newer = [&](int64_t found) {
    broken_ = true;
    return absl::InvalidArgumentError(absl::StrCat(
        "database \"", options_.path, "\": schema version ", found,
        " is newer than this plugin's (", current,
        "): it was written by a newer limify; upgrade, or use another file"));
  };
  absl::StatusOr<int64_t> version = QueryInt("PRAGMA user_version", "reading the schema version");
  if (!version.ok()) return version.status();
  if (*version == current) return absl::OkStatus();
  if (*version > current || *version < 0) return newer(*version);

  // Create or upgrade under the write lock; another process may have done it
  // while this one waited, so read the version again inside.
  if (absl::Status s = Exec("BEGIN IMMEDIATE", "locking to create the schema"); !s.ok()) return s;
  version = QueryInt("PRAGMA user_version", "reading the schema version");
  if (!version.ok()) {
    Rollback();
    return version.status();
  }
  if (*version > current || *version < 0) {
    Rollback();
    return newer(*version);
  }
  for (int64_t v = *version; v < current; ++v) {
    const Migration& m = Migrations()[static_cast<size_t>(v)];
    const int rc = sqlite3_exec(db_, m.sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      absl::Status s = Failure(rc, "applying the schema");
      Rollback();
      return absl::Status(s.code(), absl::StrCat(s.message(), " [sql/sqlite/", m.name, "]"));
    }
  }
  const std::string set_version = absl::StrCat("PRAGMA user_version = ", current);
  if (absl::Status s = Exec(set_version.c_str(), "setting the schema version"); !s.ok()) {
    Rollback();
    return s;
  }
  if (absl::Status s = Exec("COMMIT", "committing the schema"); !s.ok()) {
    Rollback();
    return s;
  }
  return absl::OkStatus();
}

absl::Status Connection::Failure(int rc, const char* what) {
  const absl::StatusCode code = CodeOf(rc);
  if (code != absl::StatusCode::kDeadlineExceeded) broken_ = true;
  const char* message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string text = absl::StrCat("database \"", options_.path, "\": ", what, ": ", message);
  if (const char* hint = Hint(rc)) {
    absl::StrAppend(&text, " (", hint);
    if (code == absl::StatusCode::kDeadlineExceeded) {
      absl::StrAppend(&text, " = ", options_.busy_timeout_ms);
    }
    absl::StrAppend(&text, ")");
  }
  return absl::Status(code, text);
}

int Connection::OnBusy(void* self, int attempts) noexcept {
  const Connection* c = static_cast<const Connection*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (now >= c->deadline_) return 0;  // SQLITE_BUSY: the caller times out
  // A step holds the lock for tens of microseconds: poll fast at first, then
  // back off to 1 ms (SQLite's default handler sleeps 1, 2, 5, 10... ms).
  const auto pause = std::min<std::chrono::steady_clock::duration>(
      std::chrono::microseconds(std::min(int64_t{20} << std::min(attempts, 6), int64_t{1000})),
      c->deadline_ - now);
  std::this_thread::sleep_for(pause);
  return 1;
}

absl::Status Connection::Run(Stmt stmt, const char* what) {
  ResetOnExit reset(stmts_[stmt]);
  const int rc = sqlite3_step(stmts_[stmt]);
  return rc == SQLITE_DONE ? absl::OkStatus() : Failure(rc, what);
}

absl::Status Connection::Begin(bool write) {
  if (!options_.in_memory()) {
    const auto now = std::chrono::steady_clock::now();
    if (now - moved_checked_ >= kMovedCheckInterval) {
      moved_checked_ = now;
      int moved = 0;
      sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved);
      if (moved != 0) {
        broken_ = true;  // the next connection opens whatever is at `path` now
        return absl::UnavailableError(absl::StrCat(
            "database \"", options_.path, "\": ", Hint(SQLITE_READONLY_DBMOVED),
            "; reopening it"));
      }
    }
  }
  return write ? Run(kBeginWrite, "BEGIN IMMEDIATE") : Run(kBeginRead, "BEGIN");
}

absl::Status Connection::Commit() {
  absl::Status s = Run(kCommit, "COMMIT");
  if (!s.ok()) Rollback();
  return s;
}

void Connection::Rollback() {
  if (db_ == nullptr || sqlite3_get_autocommit(db_) != 0) return;  // none open
  if (stmts_[kRollback] != nullptr) {
    sqlite3_step(stmts_[kRollback]);
    sqlite3_reset(stmts_[kRollback]);
  } else {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

absl::Status Connection::Load(const limify_key& key, int64_t now_us, uint8_t* state,
                              size_t size) {
  sqlite3_stmt* stmt = stmts_[kSelect];
  ResetOnExit reset(stmt);
  sqlite3_bind_blob64(stmt, 1, BlobData(key.data, key.size), key.size, SQLITE_STATIC);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const int64_t expires_us = sqlite3_column_int64(stmt, 1);
    const void* blob = sqlite3_column_blob(stmt, 0);
    const size_t bytes = static_cast<size_t>(sqlite3_column_bytes(stmt, 0));
    if (expires_us > now_us && bytes == size && (blob != nullptr || size == 0)) {
      if (size != 0) std::memcpy(state, blob, size);
      return absl::OkStatus();
    }
  } else if (rc != SQLITE_DONE) {
    return Failure(rc, "reading a key");
  }
  if (size != 0) std::memset(state, 0, size);  // missing or expired: fresh
  return absl::OkStatus();
}

absl::Status Connection::Store(const limify_key& key, const uint8_t* state, size_t size,
                               int64_t expires_us) {
  sqlite3_stmt* stmt = stmts_[kUpsert];
  ResetOnExit reset(stmt);
  sqlite3_bind_blob64(stmt, 1, BlobData(key.data, key.size), key.size, SQLITE_STATIC);
  sqlite3_bind_blob64(stmt, 2, BlobData(state, size), size, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 3, expires_us);
  const int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus() : Failure(rc, "writing a key");
}

absl::Status Connection::Erase(const limify_key& key) {
  sqlite3_stmt* stmt = stmts_[kDelete];
  ResetOnExit reset(stmt);
  sqlite3_bind_blob64(stmt, 1, BlobData(key.data, key.size), key.size, SQLITE_STATIC);
  const int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus() : Failure(rc, "deleting a key");
}

absl::StatusOr<Connection::SweepResult> Connection::Sweep(int64_t now_us, int64_t batch,
                                                         std::string* cursor) {
  SweepResult result;
  expired_.clear();
  {
    // Collect first, delete after: a table must not change under its own scan.
    sqlite3_stmt* scan = stmts_[kScan];
    ResetOnExit reset(scan);
    sqlite3_bind_blob64(scan, 1, BlobData(cursor->data(), cursor->size()), cursor->size(),
                        SQLITE_STATIC);
    sqlite3_bind_int64(scan, 2, batch);
    std::string last;
    int rc;
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
      ++result.examined;
      const char* key = static_cast<const char*>(sqlite3_column_blob(scan, 0));
      last.assign(key != nullptr ? key : "", static_cast<size_t>(sqlite3_column_bytes(scan, 0)));
      if (sqlite3_column_int64(scan, 1) <= now_us) expired_.push_back(last);
    }
    if (rc != SQLITE_DONE) return Failure(rc, "scanning for expired keys");
    // Past the end: the next walk starts over.
    *cursor = result.examined < batch ? std::string() : std::move(last);
  }
  for (const std::string& key : expired_) {
    if (absl::Status s = Erase({key.data(), key.size()}); !s.ok()) return s;
    ++result.deleted;
  }
  return result;
}

absl::StatusOr<int64_t> Connection::CountLive(int64_t now_us) {
  sqlite3_stmt* stmt = stmts_[kCount];
  ResetOnExit reset(stmt);
  sqlite3_bind_int64(stmt, 1, now_us);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) return Failure(rc, "counting keys");
  return sqlite3_column_int64(stmt, 0);
}

}  // namespace limify::sqlite
