// Bytes per key that limify keeps, at several key counts: in the memory
// storage (growth of this process's resident set) and in Redis (growth of
// the server's used_memory). Each count runs in a fresh child process (memory
// storage) or on an emptied database (Redis), so one count's leftovers never
// shrink the next one's figure. Token bucket, 10/day, one check per key: a
// key lives until its bucket is full again (2.4 hours here), so none expires
// while 10^7 are written (at 100/hour they would go after 36 s).
//
//   memory_per_key [--keys 10000,1000000,10000000] [--storage memory|redis]
//                  [--redis-url redis://127.0.0.1:PORT]
//
// Prints one line per count: "storage keys bytes_total bytes_per_key seconds".
// The Redis database is emptied (FLUSHALL) before every count: point it only
// at a throwaway server.
#include <limify/limify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<long> ParseCounts(const std::string& text) {
  std::vector<long> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::atol(item.c_str()));
  return out;
}

// This process's resident set in bytes (/proc/self/statm, second field).
long ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  const int read = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  return read == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

limify_engine* NewEngine(const std::string& storage_json) {
  const std::string config = R"({"storage": )" + storage_json +
                             R"(, "rules": [{"id": "mem", "path": "/mem",
                                 "algorithm": "token_bucket", "rate": "10/day"}]})";
  limify_engine* engine = nullptr;
  limify_error err;
  if (limify_engine_new(config.c_str(), &engine, &err) != LIMIFY_OK) {
    std::fprintf(stderr, "memory_per_key: limify_engine_new: %s\n", err.message);
    std::exit(1);
  }
  return engine;
}

// Memory storage, in a child so the count starts from a clean heap. The
// child writes "keys bytes seconds" to `fd`.
void MeasureMemoryChild(long keys, int fd) {
  limify_engine* engine =
      NewEngine(R"({"type": "memory", "max_keys": )" + std::to_string(keys + 1000) + "}");
  char identity[32];
  limify_decision d = LIMIFY_DECISION_INIT;
  // One key first, so the figure excludes what the engine allocates once.
  (void)limify_check_key(engine, "mem", "warm-up", 1, &d, nullptr);
  const long before = ResidentBytes();
  const auto start = Clock::now();
  for (long i = 0; i < keys; ++i) {
    std::snprintf(identity, sizeof identity, "user-%ld", i);
    if (limify_check_key(engine, "mem", identity, 1, &d, nullptr) != LIMIFY_OK || !d.allowed) {
      std::fprintf(stderr, "memory_per_key: check %ld failed or was denied\n", i);
      std::_Exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const long after = ResidentBytes();
  char line[128];
  const int n = std::snprintf(line, sizeof line, "%ld %ld %.3f\n", keys, after - before, seconds);
  if (write(fd, line, n) != n) std::_Exit(3);
  limify_engine_free(engine);
  std::_Exit(0);
}

bool MeasureMemory(long keys) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    MeasureMemoryChild(keys, fds[1]);
  }
  close(fds[1]);
  char buf[128] = {};
  const ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  long counted = 0, bytes = 0;
  double seconds = 0;
  if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::sscanf(buf, "%ld %ld %lf", &counted, &bytes, &seconds) != 3) {
    std::fprintf(stderr, "memory_per_key: the memory run at %ld keys failed\n", keys);
    return false;
  }
  std::printf("memory %ld %ld %.1f %.3f\n", keys, bytes, static_cast<double>(bytes) / keys, seconds);
  std::fflush(stdout);
  return true;
}

long RedisInfoField(const std::string& cli, const std::string& section, const std::string& field) {
  const std::string out = RunCommand(cli + " INFO " + section);
  const size_t at = out.find(field + ":");
  return at == std::string::npos ? -1 : std::atol(out.c_str() + at + field.size() + 1);
}

// Redis: the keys are written through limify_check_batch (one pipelined
// round trip per 1,000 requests), then the server's used_memory and key
// count are read; DBSIZE must equal the count, or the figure means nothing.
bool MeasureRedis(long keys, const std::string& url) {
  const std::string port = url.substr(url.rfind(':') + 1);
  const std::string cli = "redis-cli -h 127.0.0.1 -p " + port;
  RunCommand(cli + " FLUSHALL");
  limify_engine* engine = NewEngine(R"({"type": "redis", "url": ")" + url +
                                    R"(", "command_timeout_ms": 5000})");
  const long before = RedisInfoField(cli, "memory", "used_memory");
  constexpr size_t kBatch = 1000;
  std::vector<std::string> ids(kBatch);
  std::vector<limify_request> requests(kBatch);
  std::vector<const limify_request*> request_ptrs(kBatch);
  std::vector<limify_decision> decisions(kBatch);
  std::vector<limify_decision*> decision_ptrs(kBatch);
  for (size_t j = 0; j < kBatch; ++j) {
    limify_request_init(&requests[j]);
    requests[j].method = "GET";
    requests[j].path = "/mem";
    request_ptrs[j] = &requests[j];
    limify_decision_init(&decisions[j]);
    decision_ptrs[j] = &decisions[j];
  }
  const auto start = Clock::now();
  for (long i = 0; i < keys; i += kBatch) {
    const size_t n = static_cast<size_t>(std::min<long>(kBatch, keys - i));
    for (size_t j = 0; j < n; ++j) {
      ids[j] = "user-" + std::to_string(i + static_cast<long>(j));
      requests[j].user_id = ids[j].c_str();
    }
    limify_error err;
    if (limify_check_batch(engine, request_ptrs.data(), n, decision_ptrs.data(), nullptr, &err) !=
        LIMIFY_OK) {
      std::fprintf(stderr, "memory_per_key: limify_check_batch: %s\n", err.message);
      limify_engine_free(engine);
      return false;
    }
    for (size_t j = 0; j < n; ++j) {
      if (!decisions[j].allowed || decisions[j].degraded) {
        std::fprintf(stderr, "memory_per_key: a Redis check was denied or degraded\n");
        limify_engine_free(engine);
        return false;
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  limify_engine_free(engine);
  const long after = RedisInfoField(cli, "memory", "used_memory");
  const long dbsize = std::atol(RunCommand(cli + " DBSIZE").c_str());
  if (dbsize != keys) {
    std::fprintf(stderr, "memory_per_key: Redis holds %ld keys after %ld checks\n", dbsize, keys);
    return false;
  }
  std::printf("redis %ld %ld %.1f %.3f\n", keys, after - before,
              static_cast<double>(after - before) / keys, seconds);
  std::fflush(stdout);
  RunCommand(cli + " FLUSHALL");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> counts = {10000, 1000000, 10000000};
  std::string storage = "memory", url;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--keys") {
      counts = ParseCounts(value);
    } else if (flag == "--storage") {
      storage = value;
    } else if (flag == "--redis-url") {
      url = value;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--keys N,N,...] [--storage memory|redis] [--redis-url URL]\n",
                   argv[0]);
      return 2;
    }
  }
  if (storage != "memory" && storage != "redis") {
    std::fprintf(stderr, "memory_per_key: --storage must be memory or redis, not %s\n",
                 storage.c_str());
    return 2;
  }
  if (storage == "redis" && url.rfind("redis://", 0) != 0) {
    std::fprintf(stderr, "memory_per_key: --storage redis needs --redis-url redis://HOST:PORT\n");
    return 2;
  }
  std::printf("# storage keys bytes_total bytes_per_key seconds\n");
  std::fflush(stdout);
  bool ok = true;
  for (long keys : counts) {
    if (keys <= 0) {
      std::fprintf(stderr, "memory_per_key: key counts must be positive\n");
      return 2;
    }
    ok = (storage == "memory" ? MeasureMemory(keys) : MeasureRedis(keys, url)) && ok;
  }
  return ok ? 0 : 1;
}
