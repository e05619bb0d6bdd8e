// Soak: a rotating population of identities (10 million by default) on the
// memory storage, for a bounded time. The memory storage holds at most
// max_keys keys, so once full, resident memory must stay under the bound's
// budget and flat while identities keep arriving; leaks are for the
// sanitizer builds (LeakSanitizer at exit) and scripts/soak (valgrind).
//
//   limify_soak [--seconds N] [--identities N] [--max-keys N] [--threads N]
//               [--check-rss 0|1]
// Prints one line per second and a summary; exits 1 when a bound is broken.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "nlohmann/json.hpp"

namespace {

struct Options {
  int seconds = 60;
  int64_t identities = 10'000'000;
  int64_t max_keys = 1'000'000;
  int threads = 2;
  bool check_rss = true;
};

// Budget per key held: the memory storage measures ~250 B per key (key,
// state, table slot); 400 B leaves room for the allocator's slack.
constexpr int64_t kBudgetBytesPerKey = 400;
constexpr int64_t kBaseBudgetBytes = int64_t{64} << 20;  // code, arenas, threads
// The memory storage bounds each shard to ceil(max_keys / shards) keys.
constexpr int64_t kShards = 64;
// Once full, memory may not grow by more than this across the rest of the run.
constexpr double kFlatTolerance = 0.10;

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

int64_t KeysHeld(const limify::Engine& engine) {
  auto stats = engine.Stats(limify::StatsFormat::kJson);
  if (!stats.ok()) return -1;
  const auto json = nlohmann::json::parse(*stats);
  return json.contains("keys") && json["keys"].is_number_integer() ? json["keys"].get<int64_t>() : -1;
}

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int64_t value = std::atoll(argv[i + 1]);
    if (flag == "--seconds") o->seconds = static_cast<int>(value);
    else if (flag == "--identities") o->identities = value;
    else if (flag == "--max-keys") o->max_keys = value;
    else if (flag == "--threads") o->threads = static_cast<int>(value);
    else if (flag == "--check-rss") o->check_rss = value != 0;
    else return false;
  }
  return argc % 2 == 1 && o->seconds > 0 && o->identities > 0 && o->max_keys > 0 && o->threads > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fprintf(stderr, "usage: %s [--seconds N] [--identities N] [--max-keys N] [--threads N] "
                         "[--check-rss 0|1]\n", argv[0]);
    return 2;
  }
  // A day's rate: a key lives ~86 s after its check (one token's refill), so
  // the table fills however slowly a loaded machine checks, then evicts.
  auto engine = limify::Engine::Create(absl::StrCat(
      R"({"storage": {"type": "memory", "shards": )", kShards, R"(, "max_keys": )", o.max_keys, R"(},
          "rules": [{"id": "api", "path": "/api/**", "rate": "1000/day"}]})"));
  if (!engine.ok()) {
    std::fprintf(stderr, "soak: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  const int64_t start_rss = ResidentBytes();
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.emplace_back([&] {
      char user[32];
      limify::Decision decision;
      limify::Request request;
      request.method = "GET";
      request.path = "/api/items";
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t i = next.fetch_add(1, std::memory_order_relaxed) % o.identities;
        std::snprintf(user, sizeof user, "user-%lld", static_cast<long long>(i));
        request.user_id = user;
        if (!(*engine)->Check(request, &decision).ok()) errors.fetch_add(1);
      }
    });
  }

  const int64_t budget = kBaseBudgetBytes + o.max_keys * kBudgetBytesPerKey;
  int64_t full_rss = -1, peak_rss = 0, keys = 0;
  bool failed = false;
  for (int s = 1; s <= o.seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const int64_t rss = ResidentBytes();
    keys = KeysHeld(**engine);
    peak_rss = std::max(peak_rss, rss);
    // The first sample after the table filled: the reference for flatness.
    if (full_rss < 0 && keys >= o.max_keys * 95 / 100) full_rss = rss;
    std::printf("soak: %3ds checks=%lld keys=%lld rss=%lld MiB\n", s,
                static_cast<long long>(next.load()), static_cast<long long>(keys),
                static_cast<long long>(rss >> 20));
    std::fflush(stdout);
  }
  stop = true;
  for (auto& w : workers) w.join();
  const int64_t end_rss = ResidentBytes();

  std::printf("soak: %lld checks over %lld identities in %ds; keys held %lld (max_keys %lld); "
              "rss start %lld MiB, when full %lld MiB, end %lld MiB, peak %lld MiB, budget %lld MiB\n",
              static_cast<long long>(next.load()), static_cast<long long>(o.identities), o.seconds,
              static_cast<long long>(keys), static_cast<long long>(o.max_keys),
              static_cast<long long>(start_rss >> 20), static_cast<long long>(full_rss >> 20),
              static_cast<long long>(end_rss >> 20), static_cast<long long>(peak_rss >> 20),
              static_cast<long long>(budget >> 20));
  if (errors.load() != 0) {
    std::printf("FAIL: %lld checks returned an error\n", static_cast<long long>(errors.load()));
    failed = true;
  }
  const int64_t key_bound = (o.max_keys + kShards - 1) / kShards * kShards;
  if (keys > key_bound) {
    std::printf("FAIL: %lld keys held, above the bound %lld (max_keys %lld)\n",
                static_cast<long long>(keys), static_cast<long long>(key_bound),
                static_cast<long long>(o.max_keys));
    failed = true;
  }
  if (next.load() < o.identities / 10 && o.identities > o.max_keys) {
    std::printf("note: the run was too short to rotate through the population\n");
  }
  if (o.check_rss) {
    if (full_rss < 0) {
      std::printf("FAIL: the table never filled (%lld of %lld keys): run longer\n",
                  static_cast<long long>(keys), static_cast<long long>(o.max_keys));
      failed = true;
    } else {
      if (peak_rss > budget) {
        std::printf("FAIL: peak rss %lld MiB above the budget %lld MiB\n",
                    static_cast<long long>(peak_rss >> 20), static_cast<long long>(budget >> 20));
        failed = true;
      }
      if (end_rss > full_rss * (1 + kFlatTolerance)) {
        std::printf("FAIL: rss grew from %lld to %lld MiB after the table was full\n",
                    static_cast<long long>(full_rss >> 20), static_cast<long long>(end_rss >> 20));
        failed = true;
      }
    }
  }
  std::printf(failed ? "soak: FAILED\n" : "soak: ok\n");
  return failed ? 1 : 0;
}
