// fixed_window: exact sequences, windows aligned to multiples of the period.
#include <cstring>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

Key FixedWindow(int64_t limit, int64_t period, int64_t start = 0) {
  return Key("fixed_window", MakeSpec(limit, period), start);
}

TEST(FixedWindowTest, LimitPassesThenDeniesUntilTheWindowEnds) {
  Key key = FixedWindow(3, kSecond, 250000);
  EXPECT_EQ(key.Check(), (V{true, 2, 0, 750000}));
  EXPECT_EQ(key.Check(), (V{true, 1, 0, 750000}));
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 750000}));
  EXPECT_EQ(key.Check(), (V{false, 0, 750000, 750000}));
  key.now = 999999;
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 1}));
  key.now = kSecond;
  EXPECT_EQ(key.Check(), (V{true, 2, 0, kSecond}));
  EXPECT_EQ(key.Step(1, true).limit, 3);
}

TEST(FixedWindowTest, StateIsWindowStartAndCount) {
  Key key = FixedWindow(3, kSecond, 2500000);
  key.Check(2);
  int64_t fields[2];
  ASSERT_EQ(key.state.size(), sizeof fields);
  std::memcpy(fields, key.state.data(), sizeof fields);
  EXPECT_EQ(fields[0], 2 * kSecond);
  EXPECT_EQ(fields[1], 2);
}

TEST(FixedWindowTest, FreshZeroStateIsAnEmptyWindow) {
  Key key = FixedWindow(4, kMinute, 7 * kMinute + 1);
  EXPECT_EQ(key.Peek(4), (V{true, 4, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(4), (V{true, 0, 0, kMinute - 1}));
}

TEST(FixedWindowTest, WindowsBeforeTimeZeroAreAlignedByFloorDivision) {
  Key key = FixedWindow(1, kSecond, -1);  // window [-1 s, 0)
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1}));
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 1}));
  key.now = 0;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  key.now = -kSecond - 1;  // window [-2 s, -1 s): earlier, keeps the stored one
  EXPECT_EQ(key.Check(), (V{false, 0, 2 * kSecond + 1, 2 * kSecond + 1}));
}

TEST(FixedWindowTest, CostAboveLimitIsNeverAllowedAndLeavesStateUntouched) {
  Key key = FixedWindow(3, kSecond);
  EXPECT_EQ(key.Check(4), (V{false, 3, kNever, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(2), (V{true, 1, 0, kSecond}));
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Check(4), (V{false, 1, kNever, kSecond}));
  EXPECT_EQ(key.Check(2), (V{false, 1, kSecond, kSecond}));
  EXPECT_EQ(key.state, before);
  EXPECT_EQ(key.Check(1), (V{true, 0, 0, kSecond}));
}

TEST(FixedWindowTest, PeekReportsWithoutConsuming) {
  Key key = FixedWindow(2, kSecond, 100);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(key.Peek(), (V{true, 2, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.CheckMany(2), 2);
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Peek(), (V{false, 0, kSecond - 100, kSecond - 100}));
  EXPECT_EQ(key.state, before);
}

TEST(FixedWindowTest, ClockGoingBackKeepsCountingInTheStoredWindow) {
  Key key = FixedWindow(3, kSecond, 1500000);
  EXPECT_EQ(key.Check(), (V{true, 2, 0, 500000}));
  key.now = 900000;  // the previous window: no fresh count
  EXPECT_EQ(key.Peek(), (V{true, 2, 0, 1100000}));
  EXPECT_EQ(key.Check(2), (V{true, 0, 0, 1100000}));
  EXPECT_EQ(key.Check(), (V{false, 0, 1100000, 1100000}));
  key.now = 1999999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 2 * kSecond;
  EXPECT_EQ(key.Check(), (V{true, 2, 0, kSecond}));
}

TEST(FixedWindowTest, DayWindowResetsAtMidnightUtc) {
  Key key = FixedWindow(100, kDay, 3 * kHour);
  EXPECT_EQ(key.CheckMany(101), 100);
  EXPECT_EQ(key.Check(), (V{false, 0, 21 * kHour, 21 * kHour}));
  key.now = kDay;
  EXPECT_EQ(key.Check(), (V{true, 99, 0, kDay}));
}

TEST(FixedWindowTest, WeekWindowsAreMultiplesOfAWeekFromTimeZero) {
  Key key = FixedWindow(2, kWeek, 2 * kWeek + 1);
  EXPECT_EQ(key.Check(2), (V{true, 0, 0, kWeek - 1}));
  EXPECT_EQ(key.Check(), (V{false, 0, kWeek - 1, kWeek - 1}));
  key.now = 3 * kWeek;
  EXPECT_EQ(key.Check(), (V{true, 1, 0, kWeek}));
}

TEST(FixedWindowTest, TenThousandPerSecondPassExactlyAndTheNextWaitsForTheWindow) {
  Key key = FixedWindow(10000, kSecond);
  for (int64_t i = 0; i < 10000; ++i) {
    key.now = i * 100;
    ASSERT_TRUE(key.Check().allowed) << i;
  }
  key.now = 999950;
  EXPECT_EQ(key.Check(), (V{false, 0, 50, 50}));
  key.now = kSecond;
  EXPECT_EQ(key.Check(), (V{true, 9999, 0, kSecond}));
}

TEST(FixedWindowTest, ValidateRefusesBurst) {
  Validation v = Validate("fixed_window", MakeSpec(10, kSecond, 5));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message,
            "fixed_window does not use \"burst\" (it allows up to the limit in each window); "
            "remove it or choose token_bucket or gcra");
}

}  // namespace
}  // namespace limify::testing
