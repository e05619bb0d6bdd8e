// postgres_bench: the postgres storage's checks per second and latency (p50,
// p99) at 1 and 8 concurrent callers through a real engine (native path,
// token bucket), beside pgbench running the very same SQL function on the
// same server, with synchronous_commit on and off, in one run, one table.
// pgbench is the ceiling a client of that function can reach; the ratio is
// what the engine, libpqxx and the storage's own work cost on top of it.
//
//   postgres_bench [--url postgresql://...] [--seconds 5] [--callers 1,8]
//
// Without --url it starts a throwaway server with fsync on (scripts/pg-local
// server --durable) and stops it at the end. Speed is reported, never
// asserted; not part of the tests.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = rc;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

struct Result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
};

void Quantiles(std::vector<double>* latencies, Result* r) {
  if (latencies->empty()) return;
  std::sort(latencies->begin(), latencies->end());
  r->p50_us = (*latencies)[latencies->size() / 2];
  r->p99_us = (*latencies)[std::min(latencies->size() - 1, latencies->size() * 99 / 100)];
}

// `callers` threads, each checking its own identity as fast as it can.
Result RunEngine(limify::Engine& engine, int callers, double seconds) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> errors{0}, total{0};
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      const std::string identity = "bench-caller-" + std::to_string(t);
      latencies[t].reserve(200000);
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        limify::Decision d;
        const auto start = Clock::now();
        const absl::Status s = engine.CheckKey("bench", identity, 1, &d);
        latencies[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (!s.ok() || d.degraded || !d.allowed) errors.fetch_add(1);
      }
    });
  }
  const auto start = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Result r;
  r.per_second = all.size() / elapsed;
  r.errors = errors.load();
  Quantiles(&all, &r);
  return r;
}

// pgbench -M prepared running `sql` with `callers` clients, each its own key.
Result RunPgbench(const std::string& pg_bin, const std::string& url, const std::string& sync,
                  int callers, double seconds) {
  Result r;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("limify-pgbench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream script(dir / "check.sql");
    script << "SELECT * FROM limify.token_bucket(ARRAY[convert_to('pgbench-caller-' || "
              ":client_id, 'UTF8')], 1, false, ARRAY[1000000000, 1000000, 0]::bigint[]);\n";
  }
  const std::string command = "cd " + dir.string() + " && PGOPTIONS='-c synchronous_commit=" +
                              sync + "' " + pg_bin + "/pgbench -n -M prepared -l --sampling-rate 0.1 -c " +
                              std::to_string(callers) + " -j " + std::to_string(callers) +
                              " -T " + std::to_string(static_cast<int>(seconds)) +
                              " -f check.sql '" + url + "' 2>&1";
  int status = 0;
  const std::string out = Run(command, &status);
  const size_t at = out.find("tps = ");
  if (status != 0 || at == std::string::npos) {
    std::fprintf(stderr, "pgbench failed:\n%s\n", out.c_str());
    r.errors = 1;
  } else {
    r.per_second = std::stod(out.substr(at + 6));
  }
  // The per-transaction log, one transaction in ten (logging every one
  // would slow pgbench down): client, transaction, latency (us), ...
  std::vector<double> latencies;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("pgbench_log", 0) != 0) continue;
    std::ifstream log(entry.path());
    long client, tx;
    double latency;
    std::string rest;
    while (log >> client >> tx >> latency && std::getline(log, rest)) latencies.push_back(latency);
  }
  Quantiles(&latencies, &r);
  std::filesystem::remove_all(dir);
  return r;
}

std::string WithSynchronousCommit(const std::string& url, const std::string& sync) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "options=-c%20synchronous_commit%3D" + sync;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  double seconds = 5;
  std::vector<int> callers = {1, 8};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") {
      url = value;
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--callers") {
      callers = ParseList(value);
    } else {
      std::fprintf(stderr, "usage: %s [--url URL] [--seconds S] [--callers 1,8]\n", argv[0]);
      return 2;
    }
  }
  const char* bin_env = std::getenv("LIMIFY_PG_BIN");
  const std::string pg_bin =
      bin_env != nullptr ? bin_env : Run("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1");
  std::string own_dir;
  if (url.empty()) {
    own_dir = Run("mktemp -d /tmp/limify-pgb-XXXXXX");
    int status = 0;
    url = Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/pg-local server " + own_dir +
                  " bench --durable",
              &status);
    if (status != 0) {
      std::fprintf(stderr, "could not start PostgreSQL (scripts/pg-local)\n");
      return 1;
    }
  }
  std::printf("postgres_bench: %s, %.0f s per run, token_bucket native path vs pgbench -M prepared\n",
              url.c_str(), seconds);
  std::printf("%-6s %-8s %-8s %12s %9s %9s %8s\n", "sync", "callers", "client", "checks/s",
              "p50 us", "p99 us", "ratio");
  int rc = 0;
  for (const std::string sync : {"on", "off"}) {
    const std::string sync_url = WithSynchronousCommit(url, sync);
    for (int n : callers) {
      const std::string config =
          R"({"storage": {"type": "postgres", "url": ")" + sync_url + R"(", "pool_size": )" +
          std::to_string(n) +
          R"(, "statement_timeout_ms": 2000, "connect_timeout_ms": 2000}, "failure_mode": "closed",)"
          R"( "rules": [{"id": "bench", "path": "/bench", "algorithm": "token_bucket",)"
          R"( "rate": "1000000000/second"}]})";
      auto engine = limify::Engine::Create(config);
      if (!engine.ok()) {
        std::fprintf(stderr, "engine: %s\n", std::string(engine.status().message()).c_str());
        rc = 1;
        break;
      }
      std::mutex first_error_mu;
      std::string first_error;
      (void)(*engine)->SetErrorListener([&](const absl::Status& status) {
        std::lock_guard<std::mutex> lock(first_error_mu);
        if (first_error.empty()) first_error = std::string(status.message());
      });
      RunEngine(**engine, n, 1.0);  // warm-up: connections, prepared statements, schema
      const Result ours = RunEngine(**engine, n, seconds);
      RunPgbench(pg_bin, url, sync, n, 1.0);
      const Result theirs = RunPgbench(pg_bin, url, sync, n, seconds);
      std::printf("%-6s %-8d %-8s %12.0f %9.0f %9.0f %8s\n", sync.c_str(), n, "pgbench",
                  theirs.per_second, theirs.p50_us, theirs.p99_us, "");
      std::printf("%-6s %-8d %-8s %12.0f %9.0f %9.0f %7.0f%%\n", sync.c_str(), n, "limify",
                  ours.per_second, ours.p50_us, ours.p99_us,
                  theirs.per_second > 0 ? 100.0 * ours.per_second / theirs.per_second : 0.0);
      if (ours.errors > 0 || theirs.errors > 0) {
        std::fprintf(stderr, "errors: limify %ld (first: %s), pgbench %ld\n", ours.errors,
                     first_error.c_str(), theirs.errors);
        rc = 1;
      }
    }
  }
  if (!own_dir.empty()) Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/pg-local stop " + own_dir);
  return rc;
}
