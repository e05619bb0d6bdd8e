// Options of the sqlite storage: the `storage` JSON object without "type".
#ifndef LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_OPTIONS_H_
#define LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_OPTIONS_H_

#include <cstdint>
#include <string>

namespace limify::sqlite {

// PRAGMA synchronous. With WAL, kNormal syncs at checkpoints only: a commit
// survives a crash of the process but may be lost with the machine's power;
// kFull syncs the WAL at every commit; kOff never syncs.
enum class Synchronous { kOff, kNormal, kFull };

struct SqliteOptions {
  std::string path;               // a file, or ":memory:" (private to one instance)
  int64_t busy_timeout_ms = 1000; // longest wait for the lock before a check times out
  Synchronous synchronous = Synchronous::kNormal;
  uint32_t connections = 4;       // connections per instance (":memory:" uses one)
  uint32_t sweep_batch = 1000;    // most rows one step of the expiry sweep examines

  bool in_memory() const { return path == ":memory:"; }
};

// Parses `json` (NULL means "{}", which lacks the required path). On error
// returns false and sets `error` to a message that starts with the option
// name, e.g.
//   synchronous: expected "off", "normal" or "full", got "fast"
bool ParseSqliteOptions(const char* json, SqliteOptions* out, std::string* error);

}  // namespace limify::sqlite

#endif  // LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_OPTIONS_H_
