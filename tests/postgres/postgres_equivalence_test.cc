// The SQL functions and the generic path against the reference (the engine's
// apply on local states, i.e. what the memory storage decides), step by step,
// with the time passed in (a test-only hook; production always uses the
// server's clock): every verdict field, every stored byte and every expiry
// must match. Random rules of one to three limits, random costs, peeks, and
// a clock that sometimes goes back.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

using postgres::PostgresStorage;

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

class EquivalenceTest : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = MakeCore(Options(ServerUrl())); }

  // Runs `moves` from `start` on rule keys tagged `tag` through `path`, and
  // checks each step against the reference.
  void RunScenario(const std::string& algorithm, const std::vector<limify_limit_spec>& specs,
                   const std::vector<Move>& moves, Path path, int64_t start) {
    const Rule rule = MakeRule(algorithm, specs, UniqueName("eq_" + algorithm));
    Reference reference;
    int64_t now = start;
    for (size_t i = 0; i < moves.size(); ++i) {
      const Move& m = moves[i];
      now += m.dt;
      PostgresStorage::Hooks hooks;
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
        std::string stored;
        int64_t expires_us = 0;
        const bool exists = ReadRow(rule.keys[k], &stored, &expires_us);
        ASSERT_EQ(exists ? stored : std::string(), reference.State(rule.keys[k]))
            << "state of key " << k;
        if (wrote) {
          ASSERT_TRUE(exists) << "key " << k;
          EXPECT_EQ(expires_us, now + ttls[k]) << "key " << k;
        }
      }
    }
  }

  std::unique_ptr<PostgresStorage> storage_;
};

TEST_F(EquivalenceTest, EveryAlgorithmNativeGenericAndBothOnOneKeyMatchTheReference) {
  std::mt19937_64 rng(20240601);
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

TEST_F(EquivalenceTest, LargeSlidingWindowMatches) {
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

TEST_F(EquivalenceTest, LimitsBeyondBigintProductsStayExact) {
  // 1,000,000 per week and a huge burst: limit x period near 2^59, cost x
  // period and the scaled TAT past 2^63, all exact in numeric.
  std::mt19937_64 rng(11);
  for (const char* algorithm : {"token_bucket", "gcra", "sliding_window_counter"}) {
    const std::vector<limify_limit_spec> specs = {
        Spec(1'000'000, 7 * kDay, UsesBurst(algorithm) ? 1'500'000 : 0)};
    std::vector<Move> moves = RandomMoves(specs, 20, rng);
    for (Move& m : moves) m.cost = m.cost * 100'000;
    RunScenario(algorithm, specs, moves, Path::kNative, kStart);
    if (HasFatalFailure()) return;
  }
}

TEST_F(EquivalenceTest, AThirdPartyAlgorithmTakesTheGenericPath) {
  // quota (tests/fixtures/quota.c) has no SQL function: BEGIN, FOR UPDATE,
  // the plugin's step here, write back.
  const uint64_t native_before = storage_->counters().native.load();
  const uint64_t generic_before = storage_->counters().generic.load();
  std::mt19937_64 rng(3);
  for (int scenario = 0; scenario < 3; ++scenario) {
    const std::vector<limify_limit_spec> specs = RandomSpecs("quota", rng);
    RunScenario("quota", specs, RandomMoves(specs, 30, rng), Path::kNative, kStart);
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(storage_->counters().native.load(), native_before);
  EXPECT_GE(storage_->counters().generic.load(), generic_before + 90);
}

}  // namespace
}  // namespace limify::testing
