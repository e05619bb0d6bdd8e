// The servers the redis tests (and the chaos tests) run against, through
// scripts/redis-local. See redis_test_env.h.
#include "tests/redis/redis_test_env.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace limify::testing {
namespace {

std::string& FixtureDirSlot() {
  static std::string dir;
  return dir;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Trim(text);
}

std::string Run(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  *status = ::pclose(pipe);
  return Trim(out);
}

}  // namespace

std::string MakeTempDir() {
  char tmpl[] = "/tmp/limify-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const std::string& FixtureDir() { return FixtureDirSlot(); }
void SetFixtureDir(const std::string& dir) { FixtureDirSlot() = dir; }

int ServerPort(const std::string& name, const std::string& dir) {
  return std::stoi(ReadFile(dir + "/" + name + ".port"));
}

std::string ServerUrl(const std::string& name, const std::string& dir) {
  return "redis://127.0.0.1:" + std::to_string(ServerPort(name, dir));
}

int RedisLocal(const std::string& args, std::string* output) {
  int status = 0;
  std::string out = Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/redis-local " + args, &status);
  if (output != nullptr) *output = out;
  return status;
}

std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

std::string RedisCli(int port, const std::string& args) {
  int status = 0;
  return Run("redis-cli -p " + std::to_string(port) + " " + args, &status);
}

LocalServer::LocalServer() : dir_(MakeTempDir()) {
  if (RedisLocal("server " + dir_ + " solo", &url_) != 0) {
    throw std::runtime_error("could not start a private redis-server");
  }
}

LocalServer::~LocalServer() { RedisLocal("stop " + dir_); }

int LocalServer::port() const { return ServerPort("solo", dir_); }

pid_t LocalServer::pid() const { return static_cast<pid_t>(std::stol(ReadFile(dir_ + "/solo.pid"))); }

void LocalServer::Kill() {
  if (RedisLocal("kill " + dir_ + " solo") != 0) throw std::runtime_error("kill failed");
}

void LocalServer::Restart() {
  if (RedisLocal("restart " + dir_ + " solo") != 0) throw std::runtime_error("restart failed");
}

void LocalServer::Pause() { ::kill(pid(), SIGSTOP); }
void LocalServer::Resume() { ::kill(pid(), SIGCONT); }

void LocalServer::EnableDebugCommand() {
  // Redis 7 refuses DEBUG unless its config allows it, which only a start
  // reads: add the line, restart on the same port.
  Kill();
  std::ofstream(dir_ + "/solo.conf", std::ios::app) << "enable-debug-command local\n";
  Restart();
}

}  // namespace limify::testing

