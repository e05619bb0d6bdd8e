// Where the tests of the redis storage find their servers, and helpers that
// every test file shares.
//
// Under ctest, the fixture test redis_servers_start has started one server
// and a 3-master cluster (scripts/redis-local fixture) in the directory named
// by LIMIFY_REDIS_FIXTURE_DIR. Run alone, the test binary starts its own in a
// temporary directory and stops them when it exits (see redis_test_main.cc).
// Tests that kill or pause a server start a private one (LocalServer).
#ifndef LIMIFY_TESTS_REDIS_REDIS_TEST_ENV_H_
#define LIMIFY_TESTS_REDIS_REDIS_TEST_ENV_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace limify::testing {

// The fixture's directory (servers: main, c1, c2, c3).
const std::string& FixtureDir();
void SetFixtureDir(const std::string& dir);
// A new directory /tmp/limify-redis-XXXXXX.
std::string MakeTempDir();
// redis://127.0.0.1:<port> of a server in the fixture (or in `dir`).
std::string ServerUrl(const std::string& name, const std::string& dir = FixtureDir());
int ServerPort(const std::string& name, const std::string& dir = FixtureDir());
// Runs scripts/redis-local with `args`; returns its exit status, `output` its stdout.
int RedisLocal(const std::string& args, std::string* output = nullptr);
// A prefix no other test (or run) uses: "t<pid>-<counter>-".
std::string UniqueName(const std::string& hint);
// redis-cli -p <port> <args> (stdout, trimmed).
std::string RedisCli(int port, const std::string& args);

// A private server in its own directory, stopped (by PID) on destruction.
class LocalServer {
 public:
  LocalServer();
  ~LocalServer();
  const std::string& url() const { return url_; }
  int port() const;
  void Kill();     // SIGKILL
  void Restart();  // the same port again
  void Pause();    // SIGSTOP: the socket stays open, nothing answers
  void Resume();   // SIGCONT
  // Restarts the server with DEBUG allowed from loopback (DEBUG SLEEP).
  void EnableDebugCommand();
  pid_t pid() const;

 private:
  std::string dir_;
  std::string url_;
};

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_REDIS_REDIS_TEST_ENV_H_
