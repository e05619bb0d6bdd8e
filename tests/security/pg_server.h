// A throwaway PostgreSQL server for the security tests (scripts/pg-local),
// stopped by PID when destroyed, and a helper to run a command.
#ifndef LIMIFY_TESTS_SECURITY_PG_SERVER_H_
#define LIMIFY_TESTS_SECURITY_PG_SERVER_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/redis/redis_test_env.h"

namespace limify::security {

// Runs `command` through the shell; its stdout.
inline std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

class PostgresServer {
 public:
  // `flags`: more arguments for `scripts/pg-local server`, e.g. "--ssl".
  explicit PostgresServer(const std::string& flags = "") : dir_(testing::MakeTempDir()) {
    url_ = Output(absl::StrCat(LIMIFY_SOURCE_DIR, "/scripts/pg-local server ", dir_, " main ", flags));
    while (!url_.empty() && (url_.back() == '\n' || url_.back() == ' ')) url_.pop_back();
  }
  ~PostgresServer() { Output(absl::StrCat(LIMIFY_SOURCE_DIR, "/scripts/pg-local stop ", dir_)); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  bool started() const { return url_.rfind("postgresql://", 0) == 0; }
  const std::string& url() const { return url_; }
  // psql -Atc `sql` against the server (over TLS when it requires it).
  std::string Query(const std::string& sql) const {
    std::string out = Output(absl::StrCat("psql '", url_, "?sslmode=prefer' -Atc \"", sql, "\""));
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  std::string dir_;
  std::string url_;
};

}  // namespace limify::security

#endif  // LIMIFY_TESTS_SECURITY_PG_SERVER_H_
