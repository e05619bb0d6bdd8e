// Contention on one key: threads of two storages, and four processes of
// eight threads with their own engines. The number allowed is exactly the
// limit, never more, on both paths.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/nontransaction>

#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

// Waits until the server's current window of `period_s` seconds has more
// than `margin_s` left, so a test's window cannot end while it runs.
void AvoidWindowEnd(int64_t period_s, int64_t margin_s) {
  auto conn = Connect();
  pqxx::nontransaction tx(*conn);
  const double now = tx.exec("SELECT extract(epoch FROM clock_timestamp())")[0][0].as<double>();
  const double left = period_s - std::fmod(now, static_cast<double>(period_s));
  if (left < margin_s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(left * 1000) + 50));
  }
}

struct Tally {
  std::atomic<int> allowed{0}, denied{0}, failed{0};
};

void Hammer(postgres::PostgresStorage& storage, const Rule& rule, int threads, int per_thread,
            Tally* tally) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
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
  AvoidWindowEnd(86400, 30);
  const std::string extra = std::string("\"pool_size\": 4, \"native\": ") + (native ? "true" : "false");
  auto a = MakeCore(Options(ServerUrl(), extra));
  auto b = MakeCore(Options(ServerUrl(), extra));
  const Rule rule = MakeRule(algorithm, {Spec(60, kDay), Spec(1000, kDay)}, UniqueName("threads"));
  Tally tally;
  std::thread other([&] { Hammer(*b, rule, 4, 15, &tally); });
  Hammer(*a, rule, 4, 15, &tally);
  other.join();
  EXPECT_EQ(tally.allowed.load(), 60);
  EXPECT_EQ(tally.failed.load(), 0);
  EXPECT_EQ(tally.allowed + tally.denied + tally.failed, 120);
  const uint64_t on_path = native ? a->counters().native + b->counters().native
                                  : a->counters().generic + b->counters().generic;
  EXPECT_EQ(on_path, 120u);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, ThreadsTest,
    ::testing::Combine(::testing::Values("fixed_window", "sliding_window", "gcra"),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::get<0>(info.param) + (std::get<1>(info.param) ? "_Native" : "_Generic");
    });

// 4 processes x 8 threads, each its own engine, one identity: a fixed window
// of 1,000 per minute allows exactly 1,000.
TEST(ProcessesTest, FourProcessesOfEightThreadsGetExactlyTheLimit) {
  for (const char* native : {"1", "0"}) {
    AvoidWindowEnd(60, 20);
    const std::string identity = UniqueName("procs");
    std::vector<FILE*> children;
    for (int p = 0; p < 4; ++p) {
      const std::string command = std::string(LIMIFY_PG_HAMMER) + " '" + ServerUrl() + "' " +
                                  identity + " 8 40 fixed_window 1000/minute " + native;
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
    EXPECT_EQ(allowed, 1000) << "native " << native;
    EXPECT_EQ(allowed + denied + degraded + errors, 4 * 8 * 40);
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(degraded, 0) << "native " << native;
  }
}

}  // namespace
}  // namespace limify::testing
