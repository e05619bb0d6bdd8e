// ns per check through the C API (liblimify.so, limify.h): what every binding
// and C host pays, measured the way engine_bench measures the C++ engine, so
// the two sit side by side and each binding's figure can be read as "this
// binding's overhead over the direct C call". Memory storage, token bucket,
// a rate no check reaches; 1 and 2 threads; 1, 10,000 (the keys the Go and
// Rust binding benchmarks cycle) and 1,000,000 keys. Then a whole check with
// 10, 1,000 and 10,000 rules in the config.
//
//   capi_bench [Google Benchmark flags]
#include <benchmark/benchmark.h>
#include <limify/limify.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace {

// One engine shared by every benchmark and thread, as a host would hold it.
limify_engine* SharedEngine() {
  static limify_engine* engine = [] {
    const char* config = R"({"storage": {"type": "memory", "max_keys": 4000000},
        "rules": [{"id": "api", "path": "/api/**", "algorithm": "token_bucket",
                   "rate": "1000000000/second"}]})";
    limify_engine* created = nullptr;
    limify_error err;
    if (limify_engine_new(config, &created, &err) != LIMIFY_OK) {
      std::fprintf(stderr, "capi_bench: limify_engine_new: %s\n", err.message);
      std::abort();
    }
    return created;
  }();
  return engine;
}

// Identities "user-<i>", shuffled so consecutive checks touch unrelated keys.
const std::vector<std::string>& Identities(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::vector<std::string>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& ids = cache[n];
  if (ids.empty()) {
    ids.reserve(n);
    for (size_t i = 0; i < n; ++i) ids.push_back("user-" + std::to_string(i));
    std::shuffle(ids.begin(), ids.end(), std::mt19937_64(42));
  }
  return ids;
}

// Every key exists before timing starts: the figure is a steady-state check,
// not the first insertion. Once per key set (the engine is shared).
void Warm(const std::vector<std::string>& ids) {
  static std::mutex mu;
  static std::map<size_t, bool> warmed;
  std::lock_guard<std::mutex> lock(mu);
  if (warmed[ids.size()]) return;
  warmed[ids.size()] = true;
  limify_decision d = LIMIFY_DECISION_INIT;
  for (const std::string& id : ids) {
    (void)limify_check_key(SharedEngine(), "api", id.c_str(), 1, &d, nullptr);
  }
}

// limify_check_key: the direct form (rule by id, identity hashed, one step).
void BM_CapiCheckKey(benchmark::State& state) {
  const auto& ids = Identities(static_cast<size_t>(state.range(0)));
  if (state.thread_index() == 0) Warm(ids);
  limify_engine* engine = SharedEngine();
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    if (limify_check_key(engine, "api", ids[i++ % ids.size()].c_str(), 1, &d, &err) != LIMIFY_OK ||
        !d.allowed) {
      state.SkipWithError("limify_check_key failed or denied");
      break;
    }
    benchmark::DoNotOptimize(d.allowed);
  }
}
BENCHMARK(BM_CapiCheckKey)
    ->Arg(1)
    ->Arg(10000)
    ->Arg(1000000)
    ->ArgName("keys")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// limify_check: a whole HTTP request (route match, identity pick, hashing).
void BM_CapiCheck(benchmark::State& state) {
  const auto& ids = Identities(static_cast<size_t>(state.range(0)));
  if (state.thread_index() == 0) Warm(ids);
  limify_engine* engine = SharedEngine();
  limify_request request = LIMIFY_REQUEST_INIT;
  request.method = "GET";
  request.path = "/api/items";
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    request.user_id = ids[i++ % ids.size()].c_str();
    if (limify_check(engine, &request, &d, &err) != LIMIFY_OK || !d.allowed) {
      state.SkipWithError("limify_check failed or denied");
      break;
    }
    benchmark::DoNotOptimize(d.allowed);
  }
}
BENCHMARK(BM_CapiCheck)
    ->Arg(1)
    ->Arg(10000)
    ->Arg(1000000)
    ->ArgName("keys")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// A whole limify_check with N rules in the config (10, 1,000, 10,000): the
// route table's cost as a user sees it, on requests spread over the rules
// (literal, '*' and '**' patterns, as engine_bench's route match uses).
limify_engine* EngineWithRules(int n) {
  static std::mutex mu;
  static std::map<int, limify_engine*> engines;
  std::lock_guard<std::mutex> lock(mu);
  limify_engine*& engine = engines[n];
  if (engine != nullptr) return engine;
  std::string rules;
  for (int i = 0; i < n; ++i) {
    std::string path;
    switch (i % 3) {
      case 0: path = "/api/v1/resource" + std::to_string(i) + "/*"; break;
      case 1: path = "/api/v2/resource" + std::to_string(i) + "/**/items"; break;
      default: path = "/static/" + std::to_string(i) + "/**"; break;
    }
    if (!rules.empty()) rules += ",";
    rules += R"({"id": "r)" + std::to_string(i) + R"(", "path": ")" + path + R"(", "priority": )" +
             std::to_string(i % 7) + R"(, "rate": "1000000000/second"})";
  }
  const std::string config =
      R"({"storage": {"type": "memory", "max_keys": 4000000}, "rules": [)" + rules + "]}";
  limify_error err;
  if (limify_engine_new(config.c_str(), &engine, &err) != LIMIFY_OK) {
    std::fprintf(stderr, "capi_bench: %d rules: %s\n", n, err.message);
    std::abort();
  }
  return engine;
}

void BM_CapiCheckRules(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  limify_engine* engine = EngineWithRules(n);
  std::vector<std::string> paths;
  for (int i = 0; i < 1024; ++i) {
    const int r = (i * 7) % n;
    switch (r % 3) {
      case 0: paths.push_back("/api/v1/resource" + std::to_string(r) + "/42"); break;
      case 1: paths.push_back("/api/v2/resource" + std::to_string(r) + "/a/b/items"); break;
      default: paths.push_back("/static/" + std::to_string(r) + "/css/site.css"); break;
    }
  }
  const auto& ids = Identities(1000);
  limify_request request = LIMIFY_REQUEST_INIT;
  request.method = "GET";
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  size_t i = 0;
  for (auto _ : state) {
    request.path = paths[i & 1023].c_str();
    request.user_id = ids[i % ids.size()].c_str();
    ++i;
    if (limify_check(engine, &request, &d, &err) != LIMIFY_OK || !d.matched) {
      state.SkipWithError("limify_check failed or matched no rule");
      break;
    }
    benchmark::DoNotOptimize(d.allowed);
  }
}
BENCHMARK(BM_CapiCheckRules)->Arg(10)->Arg(1000)->Arg(10000)->ArgName("rules")->UseRealTime();

// The price of crossing into the library at all: a call that does nothing.
void BM_CapiCallFloor(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(limify_version_number());
}
BENCHMARK(BM_CapiCallFloor);

}  // namespace

BENCHMARK_MAIN();
