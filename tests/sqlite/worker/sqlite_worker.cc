// The other process of the sqlite storage's multi-process tests, started by
// the tests with its stdin and stdout on pipes:
//
//   sqlite_worker hammer <db> <threads> <checks_per_thread>
//       Creates an engine (system clock) with a fixed window of 500/minute
//       on <db>, prints "ready", waits for one byte on stdin, then runs the
//       checks on one key from <threads> threads and prints
//       "allowed <n> degraded <n> errors <n>".
//   sqlite_worker run <db>
//       Checks one key (token bucket, capacity 100000, refill 1/week) in a
//       loop forever, writing one '.' to stdout after each allowed check,
//       until it is killed.
//   sqlite_worker lock <db> [exclusive]
//       Takes the database's write lock with plain SQLite (BEGIN IMMEDIATE;
//       with `exclusive`, a rollback-journal EXCLUSIVE lock on a fresh file),
//       prints "locked", and holds it until stdin closes.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace {

std::string Storage(const std::string& db) {
  return "{\"type\": \"sqlite\", \"path\": \"" + db + "\", \"busy_timeout_ms\": 30000}";
}

std::unique_ptr<limify::Engine> MustCreate(const std::string& config) {
  auto engine = limify::Engine::Create(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "sqlite_worker: %s\n", std::string(engine.status().message()).c_str());
    std::exit(2);
  }
  return *std::move(engine);
}

void Say(const std::string& line) {
  std::string text = line + "\n";
  if (write(1, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::exit(3);
}

int Hammer(const std::string& db, int threads, int checks) {
  auto engine = MustCreate("{\"storage\": " + Storage(db) +
                           ", \"clock\": \"system\", \"rules\": [{\"id\": \"r\", \"path\": \"/r\","
                           " \"algorithm\": \"fixed_window\", \"rate\": \"500/minute\"}]}");
  Say("ready");
  char go;
  if (read(0, &go, 1) != 1) return 4;
  std::atomic<int> allowed{0}, degraded{0}, errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < checks; ++i) {
        limify::Decision d;
        if (!engine->CheckKey("r", "shared", 1, &d).ok()) {
          errors.fetch_add(1);
        } else if (d.degraded) {
          degraded.fetch_add(1);
        } else if (d.allowed) {
          allowed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  Say("allowed " + std::to_string(allowed.load()) + " degraded " +
      std::to_string(degraded.load()) + " errors " + std::to_string(errors.load()));
  return 0;
}

int Run(const std::string& db) {
  auto engine = MustCreate("{\"storage\": " + Storage(db) +
                           ", \"clock\": \"system\", \"rules\": [{\"id\": \"k\", \"path\": \"/k\","
                           " \"rate\": \"1/week\", \"burst\": 100000}]}");
  limify::Request request;
  request.method = "GET";
  request.path = "/k";
  request.user_id = "victim";
  for (;;) {
    limify::Decision d;
    if (!engine->Check(request, &d).ok() || d.degraded) return 5;
    if (d.allowed && write(1, ".", 1) != 1) return 3;
  }
}

int Lock(const std::string& db, bool exclusive) {
  sqlite3* conn = nullptr;
  if (sqlite3_open(db.c_str(), &conn) != SQLITE_OK) return 6;
  const char* sql = exclusive
                        ? "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; CREATE TABLE other (x);"
                        : "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS other (x);";
  char* error = nullptr;
  if (sqlite3_exec(conn, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite_worker lock: %s\n", error != nullptr ? error : "?");
    return 7;
  }
  Say("locked");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  sqlite3_close(conn);  // rolls back
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "hammer" && argc == 5) return Hammer(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "run" && argc == 3) return Run(argv[2]);
  if (mode == "lock" && (argc == 3 || argc == 4)) {
    return Lock(argv[2], argc == 4 && std::string(argv[3]) == "exclusive");
  }
  std::fprintf(stderr, "usage: sqlite_worker hammer|run|lock <db> ...\n");
  return 1;
}
