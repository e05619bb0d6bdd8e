// Throughput and p50/p99 latency against concurrency, for every algorithm on
// one storage, through the C API (liblimify.so): the matrix the report
// charts per storage and algorithm. Each caller thread checks its own 1,000
// identities round-robin under a rule of 1000/second (most checks allowed,
// some denied: a decision is timed either way) for S seconds; every call is
// timed.
//
//   latency_bench --storage memory|sqlite|redis|postgres [--url URL] [--dir D]
//                 [--threads 1,2,4,8] [--seconds 1] [--algorithms a,b,...]
//
// One JSON line per (algorithm, threads) on stdout:
//   {"storage": "redis", "algorithm": "gcra", "threads": 4, "checks_per_s": ...,
//    "p50_us": ..., "p99_us": ..., "allowed_pct": ..., "errors": 0}
// errors counts failed or degraded checks (a storage that did not answer);
// the program exits non-zero if any happened, so a broken run is not a figure.
#include <limify/limify.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kKeysPerThread = 1000;

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct Result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  double allowed_pct = 0;
  long errors = 0;
};

Result Measure(limify_engine* engine, int threads, double seconds) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> errors{0}, allowed{0};
  std::vector<std::vector<uint32_t>> latencies(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<std::string> ids;
      char id[32];
      for (int i = 0; i < kKeysPerThread; ++i) {
        std::snprintf(id, sizeof id, "t%d-%d", t, i);
        ids.emplace_back(id);
      }
      auto& lat = latencies[t];
      lat.reserve(1 << 18);
      limify_decision d = LIMIFY_DECISION_INIT;
      long mine_allowed = 0;
      size_t i = 0;
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = Clock::now();
        const limify_status status =
            limify_check_key(engine, "bench", ids[i++ % ids.size()].c_str(), 1, &d, nullptr);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
        lat.push_back(static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX)));
        if (status != LIMIFY_OK || d.degraded) errors.fetch_add(1, std::memory_order_relaxed);
        mine_allowed += d.allowed;
      }
      allowed.fetch_add(mine_allowed);
    });
  }
  const auto t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Result r;
  r.errors = errors.load();
  if (all.empty()) return r;
  std::sort(all.begin(), all.end());
  r.per_second = all.size() / elapsed;
  r.p50_us = all[all.size() / 2] / 1000.0;
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)] / 1000.0;
  r.allowed_pct = 100.0 * allowed.load() / all.size();
  return r;
}

// The storage object of the config for `storage`; an empty string if the
// arguments do not make one.
std::string StorageJson(const std::string& storage, const std::string& url, const std::string& db_path,
                        int max_threads) {
  if (storage == "memory") return R"({"type": "memory", "max_keys": 1000000})";
  if (storage == "sqlite") {
    return R"({"type": "sqlite", "path": ")" + db_path + R"(", "busy_timeout_ms": 10000})";
  }
  if (storage == "redis" && !url.empty()) {
    return R"({"type": "redis", "url": ")" + url + R"(", "command_timeout_ms": 2000})";
  }
  if (storage == "postgres" && !url.empty()) {
    return R"({"type": "postgres", "url": ")" + url + R"(", "pool_size": )" +
           std::to_string(std::min(64, std::max(1, max_threads))) +
           R"(, "connect_timeout_ms": 2000, "statement_timeout_ms": 2000})";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string storage, url, dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::vector<std::string> algorithms = {"token_bucket", "fixed_window", "sliding_window",
                                         "sliding_window_counter", "gcra"};
  std::vector<int> threads = {1, 2, 4, 8};
  double seconds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--storage") storage = value;
    else if (flag == "--url") url = value;
    else if (flag == "--dir") dir = value;
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--algorithms") algorithms = Split(value);
    else if (flag == "--threads") {
      threads.clear();
      for (const std::string& t : Split(value)) threads.push_back(std::max(1, std::atoi(t.c_str())));
    } else {
      std::fprintf(stderr, "latency_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::string db_dir;
  if (storage == "sqlite") {
    std::string pattern = dir + "/limify-latency-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("latency_bench: mkdtemp");
      return 1;
    }
    db_dir = pattern;
  }
  const std::string storage_json =
      StorageJson(storage, url, db_dir + "/limits.db", *std::max_element(threads.begin(), threads.end()));
  if (storage_json.empty()) {
    std::fprintf(stderr,
                 "usage: latency_bench --storage memory|sqlite|redis|postgres [--url URL] (redis and "
                 "postgres need --url)\n");
    return 2;
  }
  long total_errors = 0;
  for (const std::string& algorithm : algorithms) {
    const std::string config = R"({"storage": )" + storage_json +
                               R"(, "rules": [{"id": "bench", "path": "/bench", "algorithm": ")" +
                               algorithm + R"(", "rate": "1000/second"}]})";
    limify_engine* engine = nullptr;
    limify_error err;
    if (limify_engine_new(config.c_str(), &engine, &err) != LIMIFY_OK) {
      std::fprintf(stderr, "latency_bench: %s on %s: %s\n", algorithm.c_str(), storage.c_str(), err.message);
      return 1;
    }
    for (int t : threads) {
      const Result r = Measure(engine, t, seconds);
      total_errors += r.errors;
      std::printf(
          "{\"storage\": \"%s\", \"algorithm\": \"%s\", \"threads\": %d, \"checks_per_s\": %.0f, "
          "\"p50_us\": %.2f, \"p99_us\": %.2f, \"allowed_pct\": %.1f, \"errors\": %ld}\n",
          storage.c_str(), algorithm.c_str(), t, r.per_second, r.p50_us, r.p99_us, r.allowed_pct, r.errors);
      std::fflush(stdout);
    }
    limify_engine_free(engine);
  }
  if (!db_dir.empty()) std::filesystem::remove_all(db_dir);
  if (total_errors > 0) {
    std::fprintf(stderr, "latency_bench: %ld checks failed or were degraded\n", total_errors);
    return 1;
  }
  return 0;
}
