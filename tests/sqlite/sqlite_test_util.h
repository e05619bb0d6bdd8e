// Helpers for the sqlite storage's tests: a temporary directory per test,
// configurations, decisions as comparable text, direct SQLite access to the
// database file, and child processes (the worker program) with pipes.
#ifndef LIMIFY_TESTS_SQLITE_SQLITE_TEST_UTIL_H_
#define LIMIFY_TESTS_SQLITE_SQLITE_TEST_UTIL_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"

extern char** environ;

namespace limify::sqlite_test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                                       "/limify_sqlite_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// {"type": "sqlite", "path": <path>, <extra>} as the engine's storage object.
inline std::string SqliteStorage(const std::string& path, const std::string& extra = "") {
  return absl::StrCat(R"({"type": "sqlite", "path": ")", path, "\"",
                      extra.empty() ? "" : ", ", extra, "}");
}

// A whole configuration: storage object, clock, failure mode, rules.
inline std::string Config(const std::string& storage, const std::string& rules,
                          const std::string& clock = "manual",
                          const std::string& failure_mode = "open") {
  return absl::StrCat(R"({"storage": )", storage, R"(, "clock": ")", clock,
                      R"(", "failure_mode": ")", failure_mode, R"(", "rules": )", rules, "}");
}

inline std::unique_ptr<Engine> MustCreate(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  if (!engine.ok()) throw std::runtime_error(std::string(engine.status().message()));
  return *std::move(engine);
}

// Every field of a decision, so two decisions compare as strings and a
// mismatch prints both in full.
inline std::string Describe(const Decision& d) {
  return absl::StrCat("allowed=", d.allowed, " matched=", d.matched, " degraded=", d.degraded,
                      " limit=", d.limit, " remaining=", d.remaining, " period=", d.period_us,
                      " reset_after=", d.reset_after_us, " retry_after=", d.retry_after_us,
                      " rule=", d.rule_id.c_str(), " plan=", d.plan_id.c_str());
}

inline Request Get(std::string_view path, std::string_view user) {
  Request r;
  r.method = "GET";
  r.path = path;
  r.user_id = user;
  return r;
}

// A direct connection to the database file, for inspecting or sabotaging it.
class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      throw std::runtime_error(absl::StrCat("open ", path, ": ", sqlite3_errmsg(db_)));
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = absl::StrCat(sql, ": ", error != nullptr ? error : "?");
      sqlite3_free(error);
      throw std::runtime_error(message);
    }
  }
  // The first column of the first row, as text ("" when there is none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(absl::StrCat(sql, ": ", sqlite3_errmsg(db_)));
    }
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      throw std::runtime_error(absl::StrCat(sql, ": ", sqlite3_errmsg(db_)));
    }
    return out;
  }
  int64_t Count(const std::string& sql) { return std::stoll(Query(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

// The worker program (tests/sqlite/worker), started with pipes on its stdin
// and stdout.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<std::string> all = {LIMIFY_SQLITE_WORKER};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
    if (rc != 0) throw std::runtime_error(absl::StrCat("posix_spawn: ", strerror(rc)));
  }
  ~Child() {
    CloseInput();
    if (from_child_ >= 0) close(from_child_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The next line the child wrote, without its newline ("" at end of file).
  std::string ReadLine() {
    std::string line;
    char c;
    while (Read(&c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }
  // Reads up to `n` bytes; 0 at end of file.
  ssize_t Read(char* buf, size_t n) {
    ssize_t got;
    do {
      got = read(from_child_, buf, n);
    } while (got < 0 && errno == EINTR);
    return got < 0 ? 0 : got;
  }
  void Write(const std::string& text) {
    if (write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("write to child failed");
    }
  }
  void CloseInput() {
    if (to_child_ >= 0) close(to_child_);
    to_child_ = -1;
  }
  void Kill(int sig) { kill(pid_, sig); }
  // Waits for the child; returns its wait status.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace limify::sqlite_test

#endif  // LIMIFY_TESTS_SQLITE_SQLITE_TEST_UTIL_H_
