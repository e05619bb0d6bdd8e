// sliding_window (exact log): exact sequences, and agreement with a plain
// list of timestamps.
#include <cstring>
#include <deque>
#include <random>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

Key SlidingWindow(int64_t limit, int64_t period, int64_t start = 0) {
  return Key("sliding_window", MakeSpec(limit, period), start);
}

TEST(SlidingWindowTest, RetryAfterIsMeasuredFromTheOldestEntryNotTheNewest) {
  Key key = SlidingWindow(3, kSecond);
  EXPECT_EQ(key.Check(), (V{true, 2, 0, kSecond}));
  key.now = 100;
  EXPECT_EQ(key.Check(), (V{true, 1, 0, kSecond}));
  key.now = 200;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  key.now = 300;
  // The entry at 0 leaves the window at 1 s: 999700 us, not 999900.
  EXPECT_EQ(key.Check(), (V{false, 0, 999700, 999900}));
  EXPECT_EQ(key.Check(2), (V{false, 0, 999800, 999900}));
  key.now = 999999;
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 201}));
  key.now = kSecond;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  EXPECT_EQ(key.Check(), (V{false, 0, 100, kSecond}));
  EXPECT_EQ(key.Step(1, true).limit, 3);
}

TEST(SlidingWindowTest, StateIsARingOfTimestamps) {
  Key key = SlidingWindow(2, kSecond, 10);
  ASSERT_EQ(key.state.size(), 8u + 8u * 2);
  key.Check();
  key.now = 20;
  key.Check();
  key.now = kSecond + 10;  // the first entry expires, the new one takes its slot
  key.Check();
  uint32_t head_count[2];
  int64_t ts[2];
  std::memcpy(head_count, key.state.data(), sizeof head_count);
  std::memcpy(ts, key.state.data() + 8, sizeof ts);
  EXPECT_EQ(head_count[0], 1u);
  EXPECT_EQ(head_count[1], 2u);
  EXPECT_EQ(ts[0], kSecond + 10);
  EXPECT_EQ(ts[1], 20);
}

TEST(SlidingWindowTest, FreshZeroStateIsAnEmptyLog) {
  Key key = SlidingWindow(4, kMinute, 123);
  EXPECT_EQ(key.Peek(4), (V{true, 4, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(4), (V{true, 0, 0, kMinute}));
}

TEST(SlidingWindowTest, CostAboveLimitIsNeverAllowedAndLeavesStateUntouched) {
  Key key = SlidingWindow(3, kSecond);
  EXPECT_EQ(key.Check(4), (V{false, 3, kNever, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(2), (V{true, 1, 0, kSecond}));
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Check(4), (V{false, 1, kNever, kSecond}));
  EXPECT_EQ(key.Check(2), (V{false, 1, kSecond, kSecond}));
  EXPECT_EQ(key.state, before);
}

TEST(SlidingWindowTest, PeekReportsWithoutConsumingOrExpiring) {
  Key key = SlidingWindow(2, kSecond);
  EXPECT_EQ(key.Peek(), (V{true, 2, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.CheckMany(2), 2);
  key.now = 2 * kSecond;  // both expired, but a peek writes nothing
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Peek(), (V{true, 2, 0, 0}));
  EXPECT_EQ(key.state, before);
}

TEST(SlidingWindowTest, ClockGoingBackStampsNewEntriesWithTheNewestTime) {
  Key key = SlidingWindow(3, kSecond, 1000);
  key.Check();
  key.now = 2000;
  key.Check();
  key.now = 500;
  // Stamped 2000, so it expires at 1002000: reset counts from 500.
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1001500}));
  key.now = 600;
  EXPECT_EQ(key.Check(), (V{false, 0, 1000400, 1001400}));
  key.now = 1001000;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
}

TEST(SlidingWindowTest, DayAndWeekPeriods) {
  Key day = SlidingWindow(2, kDay);
  day.Check();
  day.now = kHour;
  day.Check();
  day.now = 2 * kHour;
  EXPECT_EQ(day.Check(), (V{false, 0, 22 * kHour, 23 * kHour}));
  Key week = SlidingWindow(1, kWeek, kDay);
  week.Check();
  week.now = 3 * kDay;
  EXPECT_EQ(week.Check(), (V{false, 0, 5 * kDay, 5 * kDay}));
  week.now = kWeek + kDay;
  EXPECT_EQ(week.Check(), (V{true, 0, 0, kWeek}));
}

TEST(SlidingWindowTest, TenThousandPerSecondPassExactlyAndTheNextWaitsForTheOldest) {
  Key key = SlidingWindow(10000, kSecond);
  for (int64_t i = 0; i < 10000; ++i) {
    key.now = i * 100;
    ASSERT_TRUE(key.Check().allowed) << i;
  }
  key.now = 999950;
  EXPECT_EQ(key.Check(), (V{false, 0, 50, 999950}));
  key.now = 999999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = kSecond;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  EXPECT_EQ(key.Check(), (V{false, 0, 100, kSecond}));
}

TEST(SlidingWindowTest, ValidateRefusesBurstAndLimitsTooLargeForTheLog) {
  Validation v = Validate("sliding_window", MakeSpec(10, kSecond, 5));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message,
            "sliding_window does not use \"burst\" (it allows up to the limit in any window of "
            "one period); remove it or choose token_bucket or gcra");
  v = Validate("sliding_window", MakeSpec(100001, kSecond));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(v.message.find("limit 100001 is too large"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("use sliding_window_counter"), std::string::npos) << v.message;
  const limify_limit_spec biggest = MakeSpec(100000, kSecond);
  EXPECT_EQ(Validate("sliding_window", biggest).code, LIMIFY_PLUGIN_OK);
  EXPECT_EQ(LoadPlugin("sliding_window").algorithm->state_size(&biggest), 800008u);
}

// The ring against a plain list: live entries are those with ts + P > now;
// a consuming request forgets the expired ones.
TEST(SlidingWindowTest, AgreesWithAPlainTimestampListOverRandomRequests) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const int64_t limit = 1 + rng() % 6, period = 1 + rng() % 40;
    Key key = SlidingWindow(limit, period);
    std::deque<int64_t> log;
    for (int i = 0; i < 100; ++i) {
      key.now += static_cast<int64_t>(rng() % 20) - 4;  // sometimes back
      const int64_t cost = 1 + rng() % (limit + 1);
      const bool peek = rng() % 5 == 0;
      int64_t live = 0;
      for (int64_t ts : log) live += ts + period > key.now;
      const bool allowed = live + cost <= limit;
      const V got = key.Peek(cost);
      ASSERT_EQ(got.allowed, allowed) << "round " << round << " step " << i;
      ASSERT_EQ(got.remaining, limit - live);
      key.Step(cost, peek);
      if (allowed && !peek) {
        while (!log.empty() && log.front() + period <= key.now) log.pop_front();
        const int64_t stamp = log.empty() ? key.now : std::max(key.now, log.back());
        for (int64_t c = 0; c < cost; ++c) log.push_back(stamp);
      }
    }
  }
}

}  // namespace
}  // namespace limify::testing
