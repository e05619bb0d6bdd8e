// Contention on one key: threads, and processes with their own engines. The
// number allowed is exactly the limit, never more, on both paths.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

// Waits until the current day (UTC, Redis's clock) has more than a minute
// left, so a test's daily window cannot end while it runs.
void AvoidDayBoundary() {
  auto storage = MakeCore(Options(ServerUrl("main")));
  redis::ReplyPtr reply;
  std::string error;
  ASSERT_EQ(storage->Command("", {"TIME"}, &reply, &error), LIMIFY_PLUGIN_OK) << error;
  const int64_t seconds = std::stoll(reply->element[0]->str);
  const int64_t left = 86400 - seconds % 86400;
  if (left < 60) std::this_thread::sleep_for(std::chrono::seconds(left + 1));
}

struct Tally {
  std::atomic<int> allowed{0}, denied{0}, failed{0};
};

void Hammer(redis::RedisStorage& storage, const Rule& rule, int threads, int per_thread,
            Tally* tally) {
  std::vector<std::thread> pool;
  std::atomic<int> started{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      // All start together, so that they really overlap (thread creation
      // is slow under a sanitizer).
      started.fetch_add(1);
      while (started.load() < threads) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        const StepResult r = Step(storage, rule, 1);
        if (r.code != LIMIFY_PLUGIN_OK) {
          tally->failed.fetch_add(1);
        } else {
          (r.verdict.allowed ? tally->allowed : tally->denied).fetch_add(1);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

class ThreadsTest : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

// Two storages (as two processes would have), four threads each.
TEST_P(ThreadsTest, EightThreadsOnOneKeyGetExactlyTheLimit) {
  const auto& [algorithm, native] = GetParam();
  AvoidDayBoundary();
  auto a = MakeCore(Options(ServerUrl("main"), native ? "" : "\"native\": false"));
  auto b = MakeCore(Options(ServerUrl("main"), native ? "" : "\"native\": false"));
  const Rule rule = MakeRule(algorithm, {Spec(60, kDay)}, UniqueName("threads"));
  Tally tally;
  std::thread other([&] { Hammer(*b, rule, 4, 15, &tally); });
  Hammer(*a, rule, 4, 15, &tally);
  other.join();
  EXPECT_EQ(tally.allowed.load(), 60);
  EXPECT_EQ(tally.failed.load(), 0);
  EXPECT_EQ(tally.allowed + tally.denied + tally.failed, 120);
  if (!native) {
    // Within one storage the generic steps of a key take turns; across the
    // two they race, and the compare-and-set settles it.
    EXPECT_EQ(a->counters().generic + b->counters().generic, 120u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Paths, ThreadsTest,
    ::testing::Combine(::testing::Values("fixed_window", "sliding_window", "gcra"),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::get<0>(info.param) + (std::get<1>(info.param) ? "_Native" : "_Generic");
    });

// 32 threads on one storage: while 4 calls are on their way the others are
// combined into batch-form calls, and the limit still holds exactly, every
// algorithm; with "combine": false nothing is combined.
TEST(CombinedTest, ThirtyTwoThreadsAreCombinedAndGetExactlyTheLimit) {
  AvoidDayBoundary();
  for (const bool combine : {true, false}) {
    for (const std::string& algorithm : AllAlgorithms()) {
      SCOPED_TRACE(algorithm + (combine ? " combined" : " not combined"));
      auto storage = MakeCore(Options(ServerUrl("main"), combine ? "" : "\"combine\": false"));
      const Rule rule = MakeRule(algorithm, {Spec(500, kDay)}, UniqueName("combined"));
      Tally tally;
      Hammer(*storage, rule, 32, 25, &tally);
      EXPECT_EQ(tally.failed.load(), 0);
      EXPECT_EQ(tally.allowed.load(), 500);
      EXPECT_EQ(tally.denied.load(), 300);
      if (combine) {
        EXPECT_GT(storage->counters().native_batches.load(), 0u);
      } else {
        EXPECT_EQ(storage->counters().native_batches.load(), 0u);
      }
    }
  }
}

// Up to eight calls on their way nobody queues: eight callers, each with
// one check at a time, are never combined (at 8 callers the server is not
// yet the limit, and queueing would only add wake-ups).
TEST(CombinedTest, EightCallersAreNeverCombined) {
  AvoidDayBoundary();
  auto storage = MakeCore(Options(ServerUrl("main")));
  const Rule rule = MakeRule("token_bucket", {Spec(1000, kDay)}, UniqueName("eight"));
  Tally tally;
  Hammer(*storage, rule, 8, 50, &tally);
  EXPECT_EQ(tally.failed.load(), 0);
  EXPECT_EQ(tally.allowed.load(), 400);
  EXPECT_EQ(storage->counters().native_batches.load(), 0u);
}

// 4 processes x 8 threads, each its own engine, one identity: a fixed window
// of 300 per day allows exactly 300.
TEST(ProcessesTest, FourProcessesOfEightThreadsGetExactlyTheLimit) {
  AvoidDayBoundary();
  for (const char* native : {"1", "0"}) {
    const std::string identity = UniqueName("procs");
    std::vector<FILE*> children;
    for (int p = 0; p < 4; ++p) {
      const std::string command = std::string(LIMIFY_REDIS_HAMMER) + " " + ServerUrl("main") +
                                  " " + identity + " 8 15 fixed_window 300/day " + native;
      FILE* child = ::popen(command.c_str(), "r");
      ASSERT_NE(child, nullptr);
      children.push_back(child);
    }
    int allowed = 0, denied = 0, degraded = 0, errors = 0;
    for (FILE* child : children) {
      int a = 0, d = 0, g = 0, e = 0;
      char line[256] = {};
      const bool read = std::fgets(line, sizeof line, child) != nullptr;
      EXPECT_EQ(::pclose(child), 0);
      ASSERT_TRUE(read);
      ASSERT_EQ(std::sscanf(line, "allowed=%d denied=%d degraded=%d errors=%d", &a, &d, &g, &e), 4)
          << line;
      allowed += a, denied += d, degraded += g, errors += e;
    }
    EXPECT_EQ(allowed, 300) << "native " << native;
    EXPECT_EQ(allowed + denied + degraded + errors, 4 * 8 * 15);
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(degraded, 0) << "native " << native;
  }
}

}  // namespace
}  // namespace limify::testing
