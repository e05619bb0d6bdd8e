// Checks per second on the sqlite storage, from 1 and 4 processes on one
// host, with synchronous = NORMAL and FULL (and OFF, for the CPU cost
// alone). Not Google Benchmark: the interesting case is several processes
// sharing one file, so this program forks its workers and sums their counts.
//
//   sqlite_bench [--seconds S] [--dir D] [--keys N] [--synchronous L] [--processes N]
//
// Each worker process creates its own engine (system clock, one rule,
// token bucket 1000/second, so nearly every check is allowed and writes)
// and checks random identities out of N (default 10,000) for S seconds
// (default 2). The database lives in a fresh directory under D (default
// $TMPDIR or /tmp): FULL costs an fsync per commit, so D's file system
// decides those numbers.
//
// The last rows time one single-statement upsert per check on a bare
// connection (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, no algorithm,
// no engine): the floor under any native single-statement path, to compare
// with the generic path's BEGIN IMMEDIATE / SELECT / apply / upsert / COMMIT.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  double seconds = 2.0;
  std::string dir;
  int keys = 10000;
  std::string only_sync;  // --synchronous: run just that level
  int only_processes = 0; // --processes: run just that count
};

std::string MakeTempDir(const std::string& base) {
  std::string pattern = base + "/limify_sqlite_bench_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return pattern;
}

void WriteAll(int fd, const void* data, size_t size) {
  if (write(fd, data, size) != static_cast<ssize_t>(size)) std::_Exit(3);
}
void ReadAll(int fd, void* data, size_t size) {
  if (read(fd, data, size) != static_cast<ssize_t>(size)) std::_Exit(4);
}

// One worker: creates its engine, says it is ready, waits for the go, runs
// checks until its deadline, reports the count.
[[noreturn]] void Worker(const std::string& config, const Settings& s, int ready_fd, int go_fd,
                         int seed) {
  auto engine = limify::Engine::Create(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "worker: %s\n", std::string(engine.status().message()).c_str());
    std::_Exit(2);
  }
  std::vector<std::string> ids;
  ids.reserve(s.keys);
  for (int i = 0; i < s.keys; ++i) ids.push_back("user" + std::to_string(i));
  std::mt19937 rng(seed);
  char byte = 'r';
  WriteAll(ready_fd, &byte, 1);
  ReadAll(go_fd, &byte, 1);
  const auto deadline = Clock::now() + std::chrono::duration<double>(s.seconds);
  int64_t checks = 0, degraded = 0;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 16; ++i) {
      limify::Decision d;
      if (!(*engine)->CheckKey("r", ids[rng() % ids.size()], 1, &d).ok()) ++degraded;
      degraded += d.degraded;
      ++checks;
    }
  }
  const int64_t report[2] = {checks, degraded};
  WriteAll(ready_fd, report, sizeof(report));
  std::_Exit(0);
}

struct Result {
  double per_second;
  int64_t degraded;
};

Result RunEngine(const Settings& s, int processes, const char* synchronous) {
  const std::string dir = MakeTempDir(s.dir);
  const std::string config =
      std::string(R"({"clock": "system", "storage": {"type": "sqlite", "path": ")") + dir +
      R"(/limits.db", "busy_timeout_ms": 10000, "synchronous": ")" + synchronous +
      R"("}, "rules": [{"id": "r", "path": "/r", "rate": "1000/second"}]})";
  {  // create the file and schema once, before the workers race
    auto engine = limify::Engine::Create(config);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", std::string(engine.status().message()).c_str());
      std::exit(1);
    }
  }
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) std::exit(1);
  std::vector<pid_t> pids;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = fork();
    if (pid == 0) Worker(config, s, ready[1], go[0], 1234 + p);
    pids.push_back(pid);
  }
  char byte;
  for (int p = 0; p < processes; ++p) ReadAll(ready[0], &byte, 1);
  const auto start = Clock::now();
  for (int p = 0; p < processes; ++p) WriteAll(go[1], "g", 1);
  int64_t checks = 0, degraded = 0;
  for (int p = 0; p < processes; ++p) {
    int64_t report[2];
    ReadAll(ready[0], report, sizeof(report));
    checks += report[0];
    degraded += report[1];
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  for (int fd : {ready[0], ready[1], go[0], go[1]}) close(fd);
  std::filesystem::remove_all(dir);
  return {checks / elapsed, degraded};
}

// The native-path floor: one autocommit upsert statement per check.
double RunBareUpsert(const Settings& s, const char* synchronous) {
  const std::string dir = MakeTempDir(s.dir);
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/bare.db").c_str(), &db);
  const std::string setup = std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                            synchronous +
                            "; CREATE TABLE limify_state (key BLOB NOT NULL PRIMARY KEY, state BLOB "
                            "NOT NULL, expires_us INTEGER NOT NULL) WITHOUT ROWID;";
  sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v3(db,
                     "INSERT INTO limify_state (key, state, expires_us) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
                     "expires_us = excluded.expires_us RETURNING state",
                     -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < s.keys; ++i) {
    ids.push_back("limify:{r|default|user|" + std::to_string(i) + "}:token_bucket:1000/1s");
  }
  std::mt19937 rng(99);
  uint8_t state[16] = {};
  int64_t checks = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(s.seconds);
  while (Clock::now() < deadline) {
    for (int i = 0; i < 16; ++i) {
      const std::string& key = ids[rng() % ids.size()];
      sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      sqlite3_bind_blob(stmt, 2, state, sizeof(state), SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 3, checks);
      while (sqlite3_step(stmt) == SQLITE_ROW) {
      }
      sqlite3_reset(stmt);
      ++checks;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  return checks / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  const char* tmp = std::getenv("TMPDIR");
  s.dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      s.seconds = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--dir") == 0) {
      s.dir = argv[i + 1];
    } else if (std::strcmp(argv[i], "--keys") == 0) {
      s.keys = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--synchronous") == 0) {
      s.only_sync = argv[i + 1];
    } else if (std::strcmp(argv[i], "--processes") == 0) {
      s.only_processes = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S] [--dir D] [--keys N] [--synchronous off|normal|full]"
                   " [--processes N]\n",
                   argv[0]);
      return 1;
    }
  }
  std::printf("sqlite storage, %d keys, %.1f s per row, database under %s\n\n", s.keys, s.seconds,
              s.dir.c_str());
  std::printf("| synchronous | processes | checks/s (all processes) | us per check per process |\n");
  std::printf("|---|---|---|---|\n");
  for (const char* sync : {"normal", "full", "off"}) {
    if (!s.only_sync.empty() && s.only_sync != sync) continue;
    for (int procs : {1, 4}) {
      if (s.only_processes != 0) procs = s.only_processes;
      const Result r = RunEngine(s, procs, sync);
      std::printf("| %s | %d | %.0f | %.1f |%s\n", sync, procs, r.per_second,
                  1e6 * procs / r.per_second,
                  r.degraded != 0 ? " (degraded checks: see busy_timeout_ms)" : "");
      std::fflush(stdout);
      if (s.only_processes != 0) break;
    }
  }
  std::printf("\nnative-path floor, 1 process: one autocommit upsert per check, no engine\n\n");
  std::printf("| synchronous | statements/s | us per statement |\n|---|---|---|\n");
  for (const char* sync : {"normal", "full"}) {
    if (!s.only_sync.empty() && s.only_sync != sync) continue;
    const double r = RunBareUpsert(s, sync);
    std::printf("| %s | %.0f | %.1f |\n", sync, r, 1e6 / r);
  }
  return 0;
}
