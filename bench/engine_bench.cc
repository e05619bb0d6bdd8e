// ns per check on the memory storage, for each algorithm, at 1 and 2
// threads, on 1 hot key or spread over 1,000,000 keys; ns per rule match in a
// table of 1,000 rules. Run: build/release/bench/engine_bench
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/identity_hasher.h"
#include "engine/route_table.h"

namespace {

const char* const kAlgorithms[] = {"token_bucket", "fixed_window", "sliding_window",
                                   "sliding_window_counter", "gcra"};

// One engine per algorithm, shared by every benchmark and thread.
limify::Engine& EngineFor(const std::string& algorithm) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<limify::Engine>> engines;
  std::lock_guard<std::mutex> lock(mu);
  auto& engine = engines[algorithm];
  if (engine == nullptr) {
    std::string config = absl::StrCat(
        R"({"storage": {"type": "memory", "max_keys": 4000000},
            "rules": [{"id": "api", "path": "/api/**", "algorithm": ")",
        algorithm, R"(", "rate": "10/second"}]})");
    auto created = limify::Engine::Create(config);
    if (!created.ok()) {
      fprintf(stderr, "%s\n", created.status().ToString().c_str());
      std::abort();
    }
    engine = *std::move(created);
  }
  return *engine;
}

const std::vector<std::string>& Identities(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::vector<std::string>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& ids = cache[n];
  if (ids.empty()) {
    for (size_t i = 0; i < n; ++i) ids.push_back(absl::StrCat("user-", i));
    std::shuffle(ids.begin(), ids.end(), std::mt19937_64(42));
  }
  return ids;
}

// The direct form: rule by id, identity hashed, one storage step.
void BM_CheckKey(benchmark::State& state) {
  limify::Engine& engine = EngineFor(kAlgorithms[state.range(0)]);
  const auto& ids = Identities(static_cast<size_t>(state.range(1)));
  if (state.thread_index() == 0) {  // the loop start below is a barrier
    limify::Decision d;
    for (const std::string& id : ids) (void)engine.CheckKey("api", id, 1, &d);
  }
  limify::Decision d;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    (void)engine.CheckKey("api", ids[i++ % ids.size()], 1, &d);
    benchmark::DoNotOptimize(d.allowed);
  }
  state.SetLabel(kAlgorithms[state.range(0)]);
}
BENCHMARK(BM_CheckKey)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {1, 1'000'000}})
    ->ArgNames({"algo", "keys"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// The whole request path: route match, identity resolution, hashing, step.
void BM_CheckRequest(benchmark::State& state) {
  limify::Engine& engine = EngineFor("token_bucket");
  limify::Request request;
  request.method = "GET";
  request.path = "/api/v1/items/42";
  request.user_id = "user-1";
  limify::Decision d;
  for (auto _ : state) {
    (void)engine.Check(request, &d);
    benchmark::DoNotOptimize(d.allowed);
  }
}
BENCHMARK(BM_CheckRequest)->Threads(1)->Threads(2)->UseRealTime();

void BM_IdentityHash(benchmark::State& state) {
  limify::IdentityHasher hasher;
  char out[limify::IdentityHasher::kHexLength];
  for (auto _ : state) {
    hasher.Hash("user-123456", out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_IdentityHash);

// Rule matching in a table of N rules (literal, '*' and '**' patterns).
void BM_RouteMatch(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<limify::RuleConfig> rules;
  for (int i = 0; i < n; ++i) {
    limify::RuleConfig rule;
    rule.id = absl::StrCat("r", i);
    switch (i % 3) {
      case 0: rule.path = absl::StrCat("/api/v1/resource", i, "/*"); break;
      case 1: rule.path = absl::StrCat("/api/v2/resource", i, "/**/items"); break;
      default: rule.path = absl::StrCat("/static/", i, "/**"); break;
    }
    rule.priority = i % 7;
    rules.push_back(std::move(rule));
  }
  auto table = limify::RouteTable::Build(rules);
  if (!table.ok()) {
    state.SkipWithError(std::string(table.status().message()).c_str());
    return;
  }
  std::vector<std::string> paths;
  for (int i = 0; i < 1024; ++i) {
    int r = (i * 7) % n;
    switch (r % 3) {
      case 0: paths.push_back(absl::StrCat("/api/v1/resource", r, "/42")); break;
      case 1: paths.push_back(absl::StrCat("/api/v2/resource", r, "/a/b/items")); break;
      default: paths.push_back(absl::StrCat("/static/", r, "/css/site.css")); break;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table->Match("GET", paths[i++ & 1023]));
  }
}
BENCHMARK(BM_RouteMatch)->Arg(10)->Arg(1000)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
