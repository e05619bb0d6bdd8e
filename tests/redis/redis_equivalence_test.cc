// The native scripts and the generic path against the reference (the engine's
// apply on local states, i.e. what the memory storage decides), step by step,
// with the time passed in (a test-only hook; production always uses Redis
// TIME): every verdict field, every stored byte and every expiry must match.
// The virtual clock starts in the year 2100, so that expiries (absolute
// times, PXAT) never pass on the server's real clock during a test.
// Runs on the standalone server and on the cluster.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

using redis::RedisStorage;

enum class Path { kNative, kGeneric, kAlternate };

constexpr int64_t kStart = 4'102'444'800'000'000;  // 2100-01-01, in Unix microseconds

const char* PathName(Path p) {
  return p == Path::kNative ? "native" : p == Path::kGeneric ? "generic" : "alternate";
}

bool UsesBurst(const std::string& algorithm) {
  return algorithm == "token_bucket" || algorithm == "gcra";
}

std::vector<limify_limit_spec> RandomSpecs(const std::string& algorithm, std::mt19937_64& rng) {
  static constexpr int64_t kPeriods[] = {kSecond, 10 * kSecond, kMinute, kHour, kDay};
  const size_t n = 1 + rng() % 3;
  std::vector<limify_limit_spec> specs;
  for (size_t i = 0; i < n; ++i) {
    const int64_t limit = 1 + static_cast<int64_t>(rng() % 12);
    const int64_t period = kPeriods[rng() % 5] * (rng() % 4 == 0 ? 3 : 1);
    int64_t burst = 0;
    if (UsesBurst(algorithm) && rng() % 3 == 0) burst = 1 + static_cast<int64_t>(rng() % 20);
    specs.push_back(Spec(limit, period, burst));
  }
  return specs;
}

// One step of a scenario: how far the clock moves, the cost, peek or not.
struct Move {
  int64_t dt;
  int64_t cost;
  bool peek;
};

std::vector<Move> RandomMoves(const std::vector<limify_limit_spec>& specs, size_t count,
                              std::mt19937_64& rng) {
  int64_t shortest = specs[0].period_us, longest = specs[0].period_us, smallest = specs[0].limit;
  for (const auto& s : specs) {
    shortest = std::min(shortest, s.period_us);
    longest = std::max(longest, s.period_us);
    smallest = std::min(smallest, s.limit);
  }
  auto uniform = [&](int64_t hi) { return hi <= 0 ? 0 : static_cast<int64_t>(rng() % (hi + 1)); };
  std::vector<Move> moves;
  for (size_t i = 0; i < count; ++i) {
    Move m{};
    const unsigned pick = rng() % 100;
    if (pick < 40) {
      m.dt = uniform(shortest / 8);
    } else if (pick < 65) {
      m.dt = uniform(longest);
    } else if (pick < 80) {
      m.dt = 0;
    } else if (pick < 88) {
      m.dt = longest + uniform(2 * longest);
    } else if (pick < 94) {
      m.dt = -uniform(shortest / 4);  // the clock goes back
    } else {
      m.dt = uniform(1000);
    }
    const unsigned c = rng() % 100;
    m.cost = c < 70 ? 1 : c < 93 ? 2 + uniform(2) : smallest + 1 + uniform(3);
    m.peek = rng() % 10 == 0;
    moves.push_back(m);
  }
  return moves;
}

class EquivalenceTest : public ::testing::TestWithParam<bool /*cluster*/> {
 protected:
  void SetUp() override {
    storage_ = MakeCore(Options(ServerUrl(GetParam() ? "c1" : "main")));
  }

  // Runs `moves` from `start` on rule keys tagged `tag` through `path`, and
  // checks each step against the reference.
  void RunScenario(const std::string& algorithm, const std::vector<limify_limit_spec>& specs,
                   const std::vector<Move>& moves, Path path, int64_t start) {
    const Rule rule = MakeRule(algorithm, specs, UniqueName("eq-" + algorithm));
    Reference reference;
    int64_t now = start;
    for (size_t i = 0; i < moves.size(); ++i) {
      const Move& m = moves[i];
      now += m.dt;
      RedisStorage::Hooks hooks;
      hooks.has_now = true;
      hooks.now_us = now;
      hooks.force_generic = path == Path::kGeneric || (path == Path::kAlternate && i % 2 == 1);
      std::vector<int64_t> ttls;
      bool wrote = false;
      const StepResult want = reference.Step(rule, now, m.cost, m.peek, &ttls, &wrote);
      const StepResult got = Step(*storage_, rule, m.cost, m.peek, &hooks);
      SCOPED_TRACE(::testing::Message()
                   << algorithm << " " << PathName(path) << " step " << i << " now " << now
                   << " cost " << m.cost << (m.peek ? " peek" : ""));
      ASSERT_TRUE(SameResult(want, got)) << "want " << want << "\n got " << got;
      for (size_t k = 0; k < rule.keys.size(); ++k) {
        bool exists = false;
        const std::string stored = GetRaw(*storage_, rule.keys[k], &exists);
        ASSERT_EQ(stored, reference.State(rule.keys[k])) << "state of key " << k;
        if (wrote) {
          // Expiries are absolute (PXAT), from the script's clock: exact here.
          const int64_t at_us = now + ttls[k];
          EXPECT_EQ(ExpireTimeMs(*storage_, rule.keys[k]), at_us / 1000 + (at_us % 1000 > 0))
              << "key " << k;
        }
      }
    }
  }

  std::unique_ptr<RedisStorage> storage_;
};

TEST_P(EquivalenceTest, EveryAlgorithmNativeGenericAndBothOnOneKeyMatchTheReference) {
  std::mt19937_64 rng(20240601 + (GetParam() ? 1 : 0));
  for (const std::string& algorithm : AllAlgorithms()) {
    for (int scenario = 0; scenario < 3; ++scenario) {
      const auto specs = RandomSpecs(algorithm, rng);
      const auto moves = RandomMoves(specs, 40, rng);
      const int64_t start = kStart + static_cast<int64_t>(rng() % 1'000'000'000'000);
      for (Path path : {Path::kNative, Path::kGeneric, Path::kAlternate}) {
        RunScenario(algorithm, specs, moves, path, start);
        if (HasFatalFailure()) return;
      }
    }
  }
  // Each path really ran.
  EXPECT_GT(storage_->counters().native.load(), 0u);
  EXPECT_GT(storage_->counters().generic.load(), 0u);
}

TEST_P(EquivalenceTest, LargeSlidingWindowIsReadAndWrittenInPlace) {
  // L > 512: the script reads entries with GETRANGE and writes with SETRANGE.
  std::mt19937_64 rng(7);
  const std::vector<limify_limit_spec> specs = {Spec(600, kMinute)};
  std::vector<Move> moves;
  for (int i = 0; i < 40; ++i) {
    moves.push_back(Move{static_cast<int64_t>(rng() % (20 * kSecond)),
                         1 + static_cast<int64_t>(rng() % 90), rng() % 8 == 0});
  }
  for (Path path : {Path::kNative, Path::kAlternate}) {
    RunScenario("sliding_window", specs, moves, path, kStart);
    if (HasFatalFailure()) return;
  }
}

TEST_P(EquivalenceTest, LimitsBeyondLuasExactIntegersTakeTheGenericPath) {
  // 1,000,000 per week: limit x period is about 2^59, past 2^53.
  const std::vector<limify_limit_spec> specs = {Spec(1'000'000, 7 * kDay)};
  const uint64_t native_before = storage_->counters().native.load();
  std::mt19937_64 rng(11);
  RunScenario("token_bucket", specs, RandomMoves(specs, 10, rng), Path::kNative,
              kStart);
  EXPECT_EQ(storage_->counters().native.load(), native_before);
}

TEST_P(EquivalenceTest, AScriptThatWouldLoseExactnessHandsOverToTheGenericPath) {
  // gcra, then the clock jumps back 100 days: (TAT - now) x L passes 2^52
  // inside the script, which answers "inexact" without writing anything.
  const std::vector<limify_limit_spec> specs = {Spec(1000, kSecond)};
  const uint64_t before = storage_->counters().lua_fallbacks.load();
  std::vector<Move> moves = {{0, 5, false}, {-100 * kDay, 1, false}, {10, 1, true}};
  RunScenario("gcra", specs, moves, Path::kNative, kStart);
  EXPECT_GT(storage_->counters().lua_fallbacks.load(), before);
}

INSTANTIATE_TEST_SUITE_P(Servers, EquivalenceTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Cluster" : "Standalone"; });

}  // namespace
}  // namespace limify::testing
