// Where the tests of the postgres storage find their server, and helpers that
// every test file shares.
//
// Under ctest, the fixture test postgres_server_start has started one server
// (scripts/pg-local fixture) in the directory named by
// LIMIFY_PG_FIXTURE_DIR. Run alone, the test binary starts its own in a
// temporary directory and stops it when it exits (see postgres_test_main.cc).
// Tests that kill a server start a private one (LocalServer).
#ifndef LIMIFY_TESTS_POSTGRES_POSTGRES_TEST_ENV_H_
#define LIMIFY_TESTS_POSTGRES_POSTGRES_TEST_ENV_H_

#include <memory>
#include <string>

#include <pqxx/connection>

namespace limify::testing {

const std::string& FixtureDir();
void SetFixtureDir(const std::string& dir);
// A new directory /tmp/limify-pg-XXXXXX.
std::string MakeTempDir();
// The URL of a server in the fixture (or in `dir`).
std::string ServerUrl(const std::string& name = "main", const std::string& dir = FixtureDir());
// Runs scripts/pg-local with `args`; returns its exit status, `output` its stdout.
int PgLocal(const std::string& args, std::string* output = nullptr);
// A name no other test (or run) uses: "<hint>_<pid>_<counter>" (a valid schema name).
std::string UniqueName(const std::string& hint);
// A plain libpqxx connection, for looking at what the storage wrote.
std::unique_ptr<pqxx::connection> Connect(const std::string& url = ServerUrl());

// A private server in its own directory, stopped (by PID) on destruction.
class LocalServer {
 public:
  // durable: fsync and synchronous_commit on, so that what a check committed
  // survives a crash (the fixture's fast settings may lose the last commits).
  explicit LocalServer(bool durable = false);
  ~LocalServer();
  const std::string& url() const { return url_; }
  void Kill();     // immediate shutdown: clients cut off
  void Restart();  // the same port and data again
  // SIGSTOP / SIGCONT to the postmaster and every process it started: the
  // sockets stay open, nothing answers.
  void Pause();
  void Resume();

 private:
  std::string dir_;
  std::string url_;
};

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_POSTGRES_POSTGRES_TEST_ENV_H_
