// `limify bench CONFIG`: hammers one engine from --threads threads for
// --duration with requests spread over --keys identities, then prints the
// throughput and the latency percentiles of single checks. Each call is timed
// with the steady clock into a per-thread histogram; the histograms are
// merged at the end, so recording takes no lock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/decision_format.h"
#include "cli/durations.h"
#include "cli/engine_handle.h"
#include "cli/exit_codes.h"
#include "cli/latency_histogram.h"
#include "cli/progress_bar.h"
#include "cli/report.h"
#include "cli/request_options.h"

namespace limify::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string config;
  RequestOptions request;
  int threads = 1;
  std::string duration = "5s";
  int64_t keys = 1000;
  bool json = false;
};

// One thread's results; aligned so that the progress counters of two threads
// never share a cache line.
struct alignas(64) Worker {
  std::atomic<uint64_t> done{0};  // read by the progress bar
  uint64_t allowed = 0;
  uint64_t denied = 0;
  uint64_t errors = 0;
  limify_status first_status = LIMIFY_OK;
  limify_error first_error{};
  LatencyHistogram latency;
};

// xorshift64*: a cheap per-thread choice of key.
struct Rng {
  uint64_t state;
  uint64_t Next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
  }
};

void Work(limify_engine* engine, const RequestOptions& options,
          const std::vector<std::string>& keys, int index, const std::atomic<bool>& go,
          const std::atomic<bool>& stop, Worker* w) {
  limify_request request = options.ToRequest();
  limify_decision decision;
  limify_decision_init(&decision);
  limify_error err{};
  Rng rng{0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(index + 1)};
  while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
  uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    request.user_id = keys[rng.Next() % keys.size()].c_str();
    const Clock::time_point t0 = Clock::now();
    const limify_status status = limify_check(engine, &request, &decision, &err);
    const Clock::time_point t1 = Clock::now();
    w->latency.Record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    if (status != LIMIFY_OK) {
      if (w->errors++ == 0) {
        w->first_status = status;
        w->first_error = err;
      }
    } else if (decision.allowed) {
      ++w->allowed;
    } else {
      ++w->denied;
    }
    w->done.store(++n, std::memory_order_relaxed);
  }
}

// 950 -> "950ns", 2100 -> "2.1us", 1234567 -> "1.23ms".
std::string FormatNanos(uint64_t ns) {
  char buf[32];
  if (ns < 1000) {
    std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
  } else if (ns < 1000000) {
    std::snprintf(buf, sizeof buf, "%.3gus", static_cast<double>(ns) / 1e3);
  } else if (ns < 1000000000) {
    std::snprintf(buf, sizeof buf, "%.3gms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ns) / 1e9);
  }
  return buf;
}

struct Totals {
  uint64_t checks = 0, allowed = 0, denied = 0, errors = 0;
  double seconds = 0;
  LatencyHistogram latency;
};

void PrintText(const BenchOptions& o, const Totals& t, int64_t duration_us) {
  std::printf("limify bench: %s %s on %s, %d thread%s, %lld key%s, %s\n",
              o.request.method.c_str(), o.request.path.c_str(),
              ConfigDisplayName(o.config).c_str(), o.threads, o.threads == 1 ? "" : "s",
              static_cast<long long>(o.keys), o.keys == 1 ? "" : "s",
              FormatDuration(duration_us).c_str());
  const double rate = t.seconds > 0 ? static_cast<double>(t.checks) / t.seconds : 0;
  std::printf("  checks    %llu in %.2fs: %.0f per second\n",
              static_cast<unsigned long long>(t.checks), t.seconds, rate);
  std::printf("  allowed   %llu\n  denied    %llu\n",
              static_cast<unsigned long long>(t.allowed),
              static_cast<unsigned long long>(t.denied));
  if (t.errors > 0) std::printf("  errors    %llu\n", static_cast<unsigned long long>(t.errors));
  const LatencyHistogram& h = t.latency;
  std::printf("  latency   p50 %s  p90 %s  p99 %s  p999 %s  max %s  (one check, steady clock)\n",
              FormatNanos(h.Quantile(0.5)).c_str(), FormatNanos(h.Quantile(0.9)).c_str(),
              FormatNanos(h.Quantile(0.99)).c_str(), FormatNanos(h.Quantile(0.999)).c_str(),
              FormatNanos(h.max()).c_str());
}

void PrintJson(const BenchOptions& o, const Totals& t, int64_t duration_us) {
  const LatencyHistogram& h = t.latency;
  const double rate = t.seconds > 0 ? static_cast<double>(t.checks) / t.seconds : 0;
  std::printf(
      "{\"config\":%s,\"method\":%s,\"path\":%s,\"threads\":%d,\"keys\":%lld,"
      "\"duration_us\":%lld,\"seconds\":%.6f,\"checks\":%llu,\"checks_per_second\":%.1f,"
      "\"allowed\":%llu,\"denied\":%llu,\"errors\":%llu,\"latency_ns\":{\"min\":%llu,"
      "\"mean\":%.1f,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu}}\n",
      JsonString(ConfigDisplayName(o.config)).c_str(), JsonString(o.request.method).c_str(),
      JsonString(o.request.path).c_str(), o.threads, static_cast<long long>(o.keys),
      static_cast<long long>(duration_us), t.seconds, static_cast<unsigned long long>(t.checks),
      rate, static_cast<unsigned long long>(t.allowed), static_cast<unsigned long long>(t.denied),
      static_cast<unsigned long long>(t.errors), static_cast<unsigned long long>(h.min()),
      h.mean(), static_cast<unsigned long long>(h.Quantile(0.5)),
      static_cast<unsigned long long>(h.Quantile(0.9)),
      static_cast<unsigned long long>(h.Quantile(0.99)),
      static_cast<unsigned long long>(h.Quantile(0.999)),
      static_cast<unsigned long long>(h.max()));
}

int RunBench(const BenchOptions& o) {
  int64_t duration_us = 0;
  if (!ParseDuration(o.duration, &duration_us) || duration_us <= 0) {
    return Fail(kExitUsage, "--duration: \"" + o.duration +
                                "\" is not a positive duration (e.g. 5s, 500ms, 1m)");
  }
  EngineHandle engine;
  if (int code = OpenEngine(o.config, &engine); code != kExitOk) return code;

  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(o.keys));
  for (int64_t i = 0; i < o.keys; ++i) keys.push_back("bench-user-" + std::to_string(i));

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>());
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) {
    threads.emplace_back(Work, engine.get(), std::cref(o.request), std::cref(keys), i,
                         std::cref(go), std::cref(stop), workers[i].get());
  }

  ProgressBar bar(stderr);
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::microseconds(duration_us);
  go.store(true, std::memory_order_release);
  const double total_s = static_cast<double>(duration_us) / 1e6;
  for (Clock::time_point now = start; now < end; now = Clock::now()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(end - now, std::chrono::milliseconds(100)));
    if (bar.enabled()) {
      uint64_t done = 0;
      for (const auto& w : workers) done += w->done.load(std::memory_order_relaxed);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      bar.Update(elapsed / total_s, elapsed, total_s, elapsed > 0 ? done / elapsed : 0);
    }
  }
  stop.store(true, std::memory_order_relaxed);
  const Clock::time_point stopped = Clock::now();
  for (std::thread& t : threads) t.join();
  bar.Finish();

  Totals totals;
  totals.seconds = std::chrono::duration<double>(stopped - start).count();
  const Worker* first_failure = nullptr;
  for (const auto& w : workers) {
    totals.checks += w->done.load(std::memory_order_relaxed);
    totals.allowed += w->allowed;
    totals.denied += w->denied;
    totals.errors += w->errors;
    totals.latency.Merge(w->latency);
    if (first_failure == nullptr && w->errors > 0) first_failure = w.get();
  }
  if (o.json) {
    PrintJson(o, totals, duration_us);
  } else {
    PrintText(o, totals, duration_us);
  }
  if (first_failure != nullptr) {
    return FailWith(first_failure->first_status, first_failure->first_error,
                    "check failed " + std::to_string(totals.errors) + " times; first");
  }
  return kExitOk;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Measure check throughput and latency (p50/p90/p99/p999) of CONFIG from several threads; "
      "a progress bar on a terminal");
  command->add_option("config", o->config, "configuration file (JSON), or - for stdin")
      ->required();
  command->add_option("-t,--threads", o->threads, "threads calling limify_check")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command->add_option("-d,--duration", o->duration, "how long to run, e.g. 5s, 500ms")
      ->capture_default_str();
  command->add_option("-k,--keys", o->keys,
                      "distinct identities (user ids), chosen at random per check")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))
      ->capture_default_str();
  AddRequestOptions(command, &o->request,
                    {.path_required = false, .with_identity = false, .with_cost = true});
  command->add_flag("--json", o->json, "print the results as one JSON object");
  command->callback([o, exit_code] { *exit_code = RunBench(*o); });
}

}  // namespace limify::cli
