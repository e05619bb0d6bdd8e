// sliding_window_counter: exact sequences of the weighted two-window estimate
// (previous count × its overlap with (now-P, now] + current count).
#include <cstring>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

Key Counter(int64_t limit, int64_t period, int64_t start = 0) {
  return Key("sliding_window_counter", MakeSpec(limit, period), start);
}

TEST(SlidingWindowCounterTest, FullWindowThenRetryWhenThePreviousWindowHasFadedEnough) {
  Key key = Counter(10, kSecond);
  EXPECT_EQ(key.Check(), (V{true, 9, 0, 2 * kSecond}));
  EXPECT_EQ(key.CheckMany(9), 9);
  // Next window: 10 × (1 - e/P) + 1 <= 10 once e >= 100 ms.
  EXPECT_EQ(key.Check(), (V{false, 0, 1100000, 2 * kSecond}));
  key.now = 1099999;
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 900001}));
  key.now = 1100000;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1900000}));
  EXPECT_EQ(key.Step(1, true).limit, 10);
}

TEST(SlidingWindowCounterTest, RemainingGrowsAsThePreviousWindowFades) {
  Key key = Counter(10, kSecond);
  EXPECT_EQ(key.CheckMany(10), 10);
  key.now = 1500000;  // previous window weighs half
  EXPECT_EQ(key.Peek(), (V{true, 5, 0, 500000}));
  EXPECT_EQ(key.CheckMany(4), 4);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1500000}));
  EXPECT_EQ(key.Check(), (V{false, 0, 100000, 1500000}));
  key.now = 1599999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 1600000;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1400000}));
}

TEST(SlidingWindowCounterTest, RetryMovesToTheNextWindowWhenThisOneCannotFit) {
  Key key = Counter(10, kSecond);
  EXPECT_EQ(key.CheckMany(10), 10);
  key.now = 1900000;
  EXPECT_EQ(key.CheckMany(10), 9);
  EXPECT_EQ(key.Check(), (V{false, 0, 100000, 1100000}));
  key.now = 2 * kSecond;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 2 * kSecond}));
}

TEST(SlidingWindowCounterTest, CostOfTheWholeLimitWaitsUntilBothWindowsAreGone) {
  Key key = Counter(10, kSecond);
  EXPECT_EQ(key.Check(10), (V{true, 0, 0, 2 * kSecond}));
  EXPECT_EQ(key.Check(10), (V{false, 0, 2 * kSecond, 2 * kSecond}));
  key.now = 2 * kSecond - 1;
  EXPECT_EQ(key.Check(10), (V{false, 9, 1, 1}));
  key.now = 2 * kSecond;
  EXPECT_EQ(key.Check(10), (V{true, 0, 0, 2 * kSecond}));
}

TEST(SlidingWindowCounterTest, StateIsWindowStartPreviousAndCurrentCounts) {
  Key key = Counter(10, kSecond, 2500000);
  key.Check(3);
  int64_t fields[3];
  ASSERT_EQ(key.state.size(), sizeof fields);
  std::memcpy(fields, key.state.data(), sizeof fields);
  EXPECT_EQ(fields[0], 2 * kSecond);
  EXPECT_EQ(fields[1], 0);
  EXPECT_EQ(fields[2], 3);
  key.now = 3200000;
  key.Check();
  std::memcpy(fields, key.state.data(), sizeof fields);
  EXPECT_EQ(fields[0], 3 * kSecond);
  EXPECT_EQ(fields[1], 3);
  EXPECT_EQ(fields[2], 1);
}

TEST(SlidingWindowCounterTest, FreshZeroStateIsEmpty) {
  Key key = Counter(4, kMinute, 5 * kMinute + 7);
  EXPECT_EQ(key.Peek(4), (V{true, 4, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(4), (V{true, 0, 0, 2 * kMinute - 7}));
}

TEST(SlidingWindowCounterTest, CostAboveLimitIsNeverAllowedAndLeavesStateUntouched) {
  Key key = Counter(3, kSecond);
  EXPECT_EQ(key.Check(4), (V{false, 3, kNever, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(2), (V{true, 1, 0, 2 * kSecond}));
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Check(4), (V{false, 1, kNever, 2 * kSecond}));
  EXPECT_EQ(key.state, before);
}

TEST(SlidingWindowCounterTest, PeekReportsWithoutConsuming) {
  Key key = Counter(2, kSecond);
  EXPECT_EQ(key.Peek(), (V{true, 2, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.CheckMany(2), 2);
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Peek(), (V{false, 0, 1500000, 2 * kSecond}));
  EXPECT_EQ(key.state, before);
}

TEST(SlidingWindowCounterTest, ClockGoingBackStaysInTheStoredWindowAtItsStart) {
  Key key = Counter(10, kSecond);
  EXPECT_EQ(key.CheckMany(10), 10);
  key.now = 1500000;
  EXPECT_EQ(key.CheckMany(5), 5);
  key.now = 1200000;  // same window, earlier: the previous window weighs more
  EXPECT_EQ(key.Check(), (V{false, 0, 400000, 1800000}));
  key.now = 500000;  // an earlier window: treated as the stored window's start
  EXPECT_EQ(key.Check(), (V{false, 0, 1100000, 2500000}));
  key.now = 1599999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 1600000;
  EXPECT_TRUE(key.Check().allowed);
}

TEST(SlidingWindowCounterTest, DayAndWeekPeriods) {
  Key day = Counter(100, kDay);
  EXPECT_EQ(day.CheckMany(100), 100);
  EXPECT_EQ(day.Check(), (V{false, 0, kDay + kDay / 100, 2 * kDay}));
  Key week = Counter(7, kWeek);
  EXPECT_EQ(week.CheckMany(7), 7);
  EXPECT_EQ(week.Check(), (V{false, 0, kWeek + kDay, 2 * kWeek}));
  week.now = kWeek + kDay - 1;
  EXPECT_FALSE(week.Check().allowed);
  week.now = kWeek + kDay;
  EXPECT_TRUE(week.Check().allowed);
}

TEST(SlidingWindowCounterTest, TenThousandPerSecondPassExactlyAndRetryIsExact) {
  Key key = Counter(10000, kSecond);
  EXPECT_EQ(key.CheckMany(10000), 10000);
  EXPECT_EQ(key.Check(), (V{false, 0, 1000100, 2 * kSecond}));
  key.now = 1000099;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 1000100;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1999900}));
}

TEST(SlidingWindowCounterTest, ValidateRefusesBurst) {
  Validation v = Validate("sliding_window_counter", MakeSpec(10, kSecond, 5));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message,
            "sliding_window_counter does not use \"burst\" (it allows up to the limit in any "
            "window of one period); remove it or choose token_bucket or gcra");
}

}  // namespace
}  // namespace limify::testing
