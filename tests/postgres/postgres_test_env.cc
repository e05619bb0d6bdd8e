// The servers the postgres tests run against, through scripts/pg-local. See
// postgres_test_env.h.
#include "tests/postgres/postgres_test_env.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

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
  char tmpl[] = "/tmp/limify-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

const std::string& FixtureDir() { return FixtureDirSlot(); }
void SetFixtureDir(const std::string& dir) { FixtureDirSlot() = dir; }

std::string ServerUrl(const std::string& name, const std::string& dir) {
  return ReadFile(dir + "/" + name + ".url");
}

int PgLocal(const std::string& args, std::string* output) {
  int status = 0;
  std::string out = Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/pg-local " + args, &status);
  if (output != nullptr) *output = out;
  return status;
}

std::string UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return hint + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
}

std::unique_ptr<pqxx::connection> Connect(const std::string& url) {
  return std::make_unique<pqxx::connection>(url);
}

LocalServer::LocalServer(bool durable) : dir_(MakeTempDir()) {
  if (PgLocal("server " + dir_ + " solo" + (durable ? " --durable" : ""), &url_) != 0) {
    throw std::runtime_error("could not start a private postgres (scripts/pg-local)");
  }
}

LocalServer::~LocalServer() { PgLocal("stop " + dir_); }

void LocalServer::Kill() {
  if (PgLocal("kill " + dir_ + " solo") != 0) throw std::runtime_error("kill failed");
}

namespace {

// `pid` and its children (the server's backends and helpers), from /proc.
std::vector<pid_t> ProcessTree(pid_t pid) {
  std::vector<pid_t> pids{pid};
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t child = static_cast<pid_t>(std::atol(entry->d_name));
    if (child <= 0) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == pid) {
      pids.push_back(child);
    }
  }
  ::closedir(proc);
  return pids;
}

}  // namespace

void LocalServer::Pause() {
  for (pid_t pid : ProcessTree(static_cast<pid_t>(std::stol(ReadFile(dir_ + "/solo.pid"))))) {
    ::kill(pid, SIGSTOP);
  }
}

void LocalServer::Resume() {
  for (pid_t pid : ProcessTree(static_cast<pid_t>(std::stol(ReadFile(dir_ + "/solo.pid"))))) {
    ::kill(pid, SIGCONT);
  }
}

void LocalServer::Restart() {
  if (PgLocal("restart " + dir_ + " solo") != 0) throw std::runtime_error("restart failed");
}

}  // namespace limify::testing
