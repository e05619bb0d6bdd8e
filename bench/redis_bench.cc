// redis_bench: the redis storage's checks per second and latency (p50, p99)
// at 1..64 concurrent callers through a real engine (native path, token
// bucket and gcra), beside redis-benchmark running the very same EVALSHA on
// the same server: the ceiling a Redis client can reach. One run, one table.
//
//   redis_bench [--url redis://host:port] [--seconds 2] [--threads 1,2,8,32,64]
//               [--pool 2] [--algorithms token_bucket,gcra] [--batches 16,64] [--rounds 3]
//
// --rounds: each row runs that many pairs (limify, then redis-benchmark) and
// shows the pair with the median ratio, and the spread of the ratios;
// the largest caller count is also paired with redis-benchmark -c 50 -P 16
// (the pipelined ceiling). On a shared machine the load changes between
// runs: pairing keeps each ratio's two sides under the same load.
//
// Beside the rates: the client's CPU per check (user = the engine, plugin and
// libraries; sys = syscalls, the loopback TCP stack and thread wake-ups), and
// the server's CPU, read/write syscalls and EVALSHA calls per check for each
// client.
//
// --batches: one caller with that many requests in hand (limify_check_batch:
// one pipelined round trip per batch), beside redis-benchmark -c 1 -P <n>.
//
// Without --url it starts a throwaway server (scripts/redis-local) and stops
// it at the end. Speed is reported, never asserted.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "plugins/storage/redis/redis_scripts.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// The process's user CPU time: the client's own work per check (the kernel's
// share is mostly the loopback TCP stack, which redis-benchmark pays too).
double UserCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

// The process's system CPU time: syscalls, the loopback TCP stack (on both
// ends: a send on loopback delivers to the receiver's socket) and waking
// threads.
double SysCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

// The process's context switches (a thread sleeping or preempted): what
// handing replies to many threads costs beyond the I/O itself.
double ContextSwitches() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_nvcsw + ru.ru_nivcsw);
}

// Of those, the ones where a thread was preempted (the machine's load, or
// too many runnable threads), not put to sleep by a wait.
double Preemptions() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_nivcsw);
}

// The server's side of a run: EVALSHA calls, its CPU (user + system) and its
// read/write syscalls (/proc/<pid>/io: the server runs on this machine).
// Per check, they show how much a client's batching saves the server, which
// on a small machine is the bottleneck.
struct ServerStats {
  double calls = 0, cpu_s = 0, reads = 0, writes = 0;
};

// A "name:value" line's value in `info` (which starts with a newline).
double InfoField(const std::string& info, const std::string& name) {
  std::string line = "\n";  // (appended, not "\n" + name: GCC 12 -Wrestrict false positive)
  line += name;
  line += ':';
  const size_t at = info.find(line);
  return at == std::string::npos ? 0 : std::atof(info.c_str() + at + name.size() + 2);
}

ServerStats SnapServer(int port, const std::string& pid) {
  const std::string cli = "redis-cli -p " + std::to_string(port);
  std::string info = "\n";
  info += Run(cli + " INFO cpu");
  info += '\n';
  info += Run(cli + " INFO commandstats");
  ServerStats s;
  s.cpu_s = InfoField(info, "used_cpu_sys") + InfoField(info, "used_cpu_user");
  const size_t at = info.find("cmdstat_evalsha:calls=");
  if (at != std::string::npos) s.calls = std::atof(info.c_str() + at + 22);
  std::string io = "\n";
  io += Run("cat /proc/" + pid + "/io 2>/dev/null");
  s.reads = InfoField(io, "syscr");
  s.writes = InfoField(io, "syscw");
  return s;
}

// Totals over several runs: the server's work between two snapshots, for
// `checks` checks made in between (a combined call or a batch call of the
// script decides many checks in one EVALSHA).
struct ServerTotals {
  double checks = 0, calls = 0, cpu_s = 0, reads = 0, writes = 0;
  void Add(const ServerStats& a, const ServerStats& b, double checks_made) {
    checks += checks_made;
    calls += b.calls - a.calls;
    cpu_s += b.cpu_s - a.cpu_s;
    reads += b.reads - a.reads;
    writes += b.writes - a.writes;
  }
  std::string PerCheck() const {
    const double n = std::max(1.0, checks);
    char text[128];
    std::snprintf(text, sizeof text, "%.2f us CPU, %.3f reads, %.3f writes, %.3f EVALSHA",
                  cpu_s * 1e6 / n, reads / n, writes / n, calls / n);
    return text;
  }
};

struct Result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  double cpu_us_per_check = 0;
  double sys_us_per_check = 0;
  double switches_per_check = 0;
  double preemptions_per_check = 0;
  double checks = 0;
  long errors = 0;
};

// Paired ratios (ours / reference, each pair run back to back).
struct Ratios {
  std::vector<double> values;
  void Add(double ours, double reference) { values.push_back(ours / std::max(1.0, reference)); }
  // The pair with the median ratio: its two rates are the ones shown, so a
  // row's figures and its ratio agree.
  size_t MedianIndex() const {
    std::vector<size_t> order(values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return values[a] < values[b]; });
    return order[order.size() / 2];
  }
  double Median() const { return values[MedianIndex()]; }
  // " (3 runs: 78%..91%)", or nothing for a single run.
  std::string Spread() const {
    if (values.size() < 2) return "";
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    char text[64];
    std::snprintf(text, sizeof text, "  (%zu runs: %.0f%%..%.0f%%)", values.size(), 100 * *lo,
                  100 * *hi);
    return text;
  }
};

std::string ClientCpu(const Result& r) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f user + %.2f sys us/req", r.cpu_us_per_check,
                r.sys_us_per_check);
  return text;
}

// `threads` callers, each checking its own identity as fast as it can.
Result RunEngine(limify::Engine& engine, const std::string& rule, int threads, double seconds) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> errors{0};
  std::vector<std::vector<uint32_t>> latencies(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& lat = latencies[t];
      lat.reserve(1 << 20);
      const std::string identity = "bench-" + std::to_string(t);
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        limify::Decision d;
        const auto start = Clock::now();
        const auto status = engine.CheckKey(rule, identity, 1, &d);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
        if (!status.ok() || d.degraded || !d.allowed) errors.fetch_add(1);
        lat.push_back(static_cast<uint32_t>(std::min<int64_t>(ns.count(), UINT32_MAX)));
      }
    });
  }
  const double cpu0 = UserCpuSeconds(), sys0 = SysCpuSeconds(), cs0 = ContextSwitches(),
               pre0 = Preemptions();
  const auto t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = UserCpuSeconds() - cpu0, sys = SysCpuSeconds() - sys0;
  const double switches = ContextSwitches() - cs0, preemptions = Preemptions() - pre0;
  std::vector<uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  Result r;
  if (all.empty()) return r;
  std::sort(all.begin(), all.end());
  r.checks = all.size();
  r.per_second = all.size() / elapsed;
  r.p50_us = all[all.size() / 2] / 1000.0;
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)] / 1000.0;
  r.cpu_us_per_check = cpu * 1e6 / all.size();
  r.sys_us_per_check = sys * 1e6 / all.size();
  r.switches_per_check = switches / all.size();
  r.preemptions_per_check = preemptions / all.size();
  r.errors = errors.load();
  return r;
}

// One caller deciding `batch` requests at a time (Engine::CheckBatch, one
// pipelined round trip), each request its own identity. Latency is per batch.
Result RunBatches(limify::Engine& engine, const std::string& algorithm, int batch,
                  double seconds) {
  std::vector<std::string> identities;
  for (int i = 0; i < batch; ++i) identities.push_back("batch-" + std::to_string(i));
  const std::string path = "/" + algorithm;
  std::vector<limify::Request> requests(batch);
  for (int i = 0; i < batch; ++i) {
    requests[i].method = "GET";
    requests[i].path = path;
    requests[i].user_id = identities[i];
  }
  std::vector<limify::Decision> decisions(batch);
  std::vector<absl::Status> statuses(batch);
  std::vector<uint32_t> lat;
  lat.reserve(1 << 20);
  long errors = 0, checks = 0;
  const double cpu0 = UserCpuSeconds();
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    engine.CheckBatch(requests.data(), requests.size(), decisions.data(), statuses.data());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
    lat.push_back(static_cast<uint32_t>(std::min<int64_t>(ns.count(), UINT32_MAX)));
    checks += batch;
    for (int i = 0; i < batch; ++i) {
      if (!statuses[i].ok() || decisions[i].degraded || !decisions[i].allowed) ++errors;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  Result r;
  if (lat.empty()) return r;
  std::sort(lat.begin(), lat.end());
  r.per_second = checks / elapsed;
  r.p50_us = lat[lat.size() / 2] / 1000.0;
  r.p99_us = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)] / 1000.0;
  r.cpu_us_per_check = (UserCpuSeconds() - cpu0) * 1e6 / checks;
  r.errors = errors;
  return r;
}

// redis-benchmark on the same EVALSHA: requests per second and p50 (ms).
Result RunRedisBenchmark(int port, const std::string& evalsha, int clients, int pipeline,
                         long requests) {
  const std::string command = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) +
                              " -c " + std::to_string(clients) + " -P " +
                              std::to_string(pipeline) + " -n " + std::to_string(requests) +
                              " -q " + evalsha + " 2>/dev/null";
  rusage before{}, after{};
  ::getrusage(RUSAGE_CHILDREN, &before);
  const std::string out = Run(command);
  ::getrusage(RUSAGE_CHILDREN, &after);
  Result r;
  const auto seconds_of = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  r.checks = requests;
  r.cpu_us_per_check = (seconds_of(after.ru_utime) - seconds_of(before.ru_utime)) * 1e6 / requests;
  r.sys_us_per_check = (seconds_of(after.ru_stime) - seconds_of(before.ru_stime)) * 1e6 / requests;
  // "...: 14234.56 requests per second, p50=0.063 msec"
  const size_t rps = out.rfind(" requests per second");
  if (rps != std::string::npos) {
    size_t start = out.rfind(' ', rps - 1);
    r.per_second = std::atof(out.c_str() + (start == std::string::npos ? 0 : start + 1));
  }
  const size_t p50 = out.rfind("p50=");
  if (p50 != std::string::npos) r.p50_us = std::atof(out.c_str() + p50 + 4) * 1000;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  double seconds = 2;
  std::vector<int> threads = {1, 2, 8, 32, 64};
  int pool = 1;
  std::vector<std::string> algorithms = {"token_bucket", "gcra"};
  std::vector<int> batches = {16, 64};
  int rounds = 1;
  int busy_poll_us = -1;  // the storage's default
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--help" || i + 1 == argc) {  // a lone flag must not start a whole run
      std::fprintf(flag == "--help" ? stdout : stderr,
                   "redis_bench [--url redis://host:port] [--seconds 2] [--threads 1,2,8,32,64]\n"
                   "            [--pool 1] [--algorithms token_bucket,gcra] [--batches 16,64]"
                   " [--rounds 1]\n            [--busy-poll-us N (default: the storage's)]\n");
      return flag == "--help" ? 0 : 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--url") url = value;
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--threads") threads = ParseList(value);
    else if (flag == "--pool") pool = std::atoi(value.c_str());
    else if (flag == "--algorithms") algorithms = SplitNames(value);
    else if (flag == "--batches") batches = ParseList(value);
    else if (flag == "--rounds") rounds = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--busy-poll-us") busy_poll_us = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::string own_dir;
  if (url.empty()) {
    char tmpl[] = "/tmp/limify-redis-bench-XXXXXX";
    own_dir = std::string(::mkdtemp(tmpl)) + "/servers";
    url = Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/redis-local server " + own_dir);
    if (url.rfind("redis://", 0) != 0) {
      std::fprintf(stderr, "could not start redis-server\n");
      return 1;
    }
  }
  const int port = std::atoi(url.substr(url.rfind(':') + 1).c_str());
  std::string server_info = "\n";
  server_info += Run("redis-cli -p " + std::to_string(port) + " INFO server");
  const std::string server_pid =
      std::to_string(static_cast<long>(InfoField(server_info, "process_id")));
  std::printf("redis_bench: %s, pool_size %d, %.1f s per run, %u hardware threads\n", url.c_str(),
              pool, seconds, std::thread::hardware_concurrency());

  std::string rules;
  for (const std::string& a : algorithms) {
    if (!rules.empty()) rules += ", ";
    rules += R"({"id": ")" + a + R"(", "path": "/)" + a + R"(", "algorithm": ")" + a +
             R"(", "rate": "1000000/second"})";
  }
  const std::string config = R"({"storage": {"type": "redis", "url": ")" + url +
                             R"(", "pool_size": )" + std::to_string(pool) +
                             R"(, "command_timeout_ms": 1000)" +
                             (busy_poll_us < 0 ? std::string()
                                               : R"(, "busy_poll_us": )" + std::to_string(busy_poll_us)) +
                             R"(}, "rules": [)" + rules + "]}";
  auto engine = limify::Engine::Create(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", std::string(engine.status().message()).c_str());
    if (!own_dir.empty()) Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/redis-local stop " + own_dir);
    return 1;
  }
  for (const std::string& algorithm : algorithms) {
    const auto* script = limify::redis::FindNativeScript(algorithm);
    // The same call the engine makes: one key, a 1,000,000/s limit, cost 1.
    const std::string evalsha = "EVALSHA " + script->sha1 + " 1 'limify:{bench|default|key|x}:" +
                                algorithm + ":1000000/1s' '' 1 0 1000000 1000000 0";
    limify::Decision warm;
    (void)(*engine)->CheckKey(algorithm, "warm-up", 1, &warm);  // loads the script
    std::printf("\n%s (native path)\n", algorithm.c_str());
    std::printf("%8s %12s %9s %9s %11s | %22s %12s %9s %7s\n", "callers", "checks/s", "p50 us",
                "p99 us", "user us/chk", "redis-benchmark", "EVALSHA/s", "p50 us", "ratio");
    std::vector<std::string> server_lines;
    Ratios piped_vs_ours;
    ServerTotals piped_server;
    std::vector<double> piped_rates;
    for (int t : threads) {
      // `rounds` pairs, ours then redis-benchmark's, so that both sides of
      // each ratio see the same machine load; the row shows medians.
      std::vector<Result> ours_runs, ref_runs;
      Ratios ratios;
      ServerTotals ours_server, ref_server;
      for (int round = 0; round < rounds; ++round) {
        const ServerStats s0 = SnapServer(port, server_pid);
        ours_runs.push_back(RunEngine(**engine, algorithm, t, seconds));
        const ServerStats s1 = SnapServer(port, server_pid);
        const long n = std::max<long>(20000, static_cast<long>(ours_runs.back().per_second * seconds));
        ref_runs.push_back(RunRedisBenchmark(port, evalsha, t, 1, n));
        const ServerStats s2 = SnapServer(port, server_pid);
        ours_server.Add(s0, s1, ours_runs.back().checks);
        ref_server.Add(s1, s2, ref_runs.back().checks);
        ratios.Add(ours_runs.back().per_second, ref_runs.back().per_second);
        if (t == threads.back()) {  // the largest count also beside the pipelined ceiling
          const Result piped = RunRedisBenchmark(port, evalsha, 50, 16, 3 * n / 2);
          piped_server.Add(s2, SnapServer(port, server_pid), 3 * n / 2);
          piped_rates.push_back(piped.per_second);
          piped_vs_ours.Add(ours_runs.back().per_second, piped.per_second);
        }
      }
      const Result ours = ours_runs[ratios.MedianIndex()], ref = ref_runs[ratios.MedianIndex()];
      std::printf("%8d %12.0f %9.1f %9.1f %11.2f | %22s %12.0f %9.1f %6.0f%%%s  sys us/chk %.2f, switches/chk %.2f (%.2f preempted)%s\n",
                  t, ours.per_second, ours.p50_us, ours.p99_us, ours.cpu_us_per_check,
                  ("-c " + std::to_string(t) + " -P 1").c_str(), ref.per_second, ref.p50_us,
                  100 * ratios.Median(), ours.errors ? "  (errors!)" : "", ours.sys_us_per_check,
                  ours.switches_per_check, ours.preemptions_per_check, ratios.Spread().c_str());
      server_lines.push_back(std::to_string(t) + " callers: limify " + ours_server.PerCheck() +
                             " | redis-benchmark -P 1 " + ref_server.PerCheck() +
                             "; redis-benchmark's own CPU " + ClientCpu(ref));
    }
    std::printf("%8s %12s %9s %9s %11s | %22s %12.0f %9s\n", "", "", "", "", "",
                "-c 50 -P 16 (ceiling)", piped_rates[piped_vs_ours.MedianIndex()], "");
    std::printf("  %d callers / ceiling: %.0f%%%s\n", threads.back(), 100 * piped_vs_ours.Median(),
                piped_vs_ours.Spread().c_str());
    std::printf("  server per check (CPU, read and write syscalls, EVALSHA calls):\n");
    for (const std::string& line : server_lines) std::printf("    %s\n", line.c_str());
    std::printf("    ceiling -c 50 -P 16: %s\n", piped_server.PerCheck().c_str());
    if (!batches.empty()) std::printf("  (batch rows: one caller; p50/p99 of a whole batch)\n");
    for (int b : batches) {
      const Result ours = RunBatches(**engine, algorithm, b, seconds);
      const long n = std::max<long>(20000, static_cast<long>(ours.per_second * seconds));
      const Result ceiling = RunRedisBenchmark(port, evalsha, 1, b, n);
      std::printf("%8s %12.0f %9.1f %9.1f %11.2f | %22s %12.0f %9s %6.0f%%%s\n",
                  ("batch " + std::to_string(b)).c_str(), ours.per_second, ours.p50_us,
                  ours.p99_us, ours.cpu_us_per_check, ("-c 1 -P " + std::to_string(b)).c_str(),
                  ceiling.per_second, "",
                  100 * ours.per_second / std::max(1.0, ceiling.per_second),
                  ours.errors ? "  (errors!)" : "");
    }
  }
  // Memory per key (MEMORY USAGE, expiry included): one key per algorithm,
  // at 100/hour so it lives long enough to be measured.
  std::string memory_rules;
  for (const char* a : {"token_bucket", "gcra", "fixed_window", "sliding_window_counter",
                        "sliding_window"}) {
    if (!memory_rules.empty()) memory_rules += ", ";
    memory_rules += std::string(R"({"id": "mem_)") + a + R"(", "path": "/mem/)" + a +
                    R"(", "algorithm": ")" + a + R"(", "rate": "100/hour"})";
  }
  auto memory_engine = limify::Engine::Create(R"({"storage": {"type": "redis", "url": ")" + url +
                                              R"("}, "rules": [)" + memory_rules + "]}");
  std::printf("\nmemory per key (MEMORY USAGE, 100/hour):");
  for (const char* a : {"token_bucket", "gcra", "fixed_window", "sliding_window_counter",
                        "sliding_window"}) {
    limify::Decision d;
    if (memory_engine.ok()) (void)(*memory_engine)->CheckKey(std::string("mem_") + a, "m", 1, &d);
    const std::string key = Run("redis-cli -p " + std::to_string(port) + " --scan --pattern '*mem_" +
                                a + "|*' | head -1");
    const std::string bytes =
        Run("redis-cli -p " + std::to_string(port) + " MEMORY USAGE '" + key + "'");
    std::printf(" %s %s B;", a, bytes.c_str());
  }
  std::printf("\n");
  engine->reset();
  if (!own_dir.empty()) Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/redis-local stop " + own_dir);
  return 0;
}
