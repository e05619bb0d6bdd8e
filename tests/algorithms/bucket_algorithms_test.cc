// Exact verdict sequences shared by token_bucket and gcra: on a monotonic
// clock they are two representations of the same bucket.
#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

class BucketTest : public ::testing::TestWithParam<std::string> {
 protected:
  Key MakeKey(int64_t limit, int64_t period, int64_t burst = 0) {
    return Key(GetParam(), MakeSpec(limit, period, burst));
  }
};

TEST_P(BucketTest, BurstOfLimitPassesThenDeniesWithExactRetryAndReset) {
  Key key = MakeKey(5, kSecond);  // one token per 200 ms
  EXPECT_EQ(key.Check(), (V{true, 4, 0, 200000}));
  EXPECT_EQ(key.Check(), (V{true, 3, 0, 400000}));
  EXPECT_EQ(key.Check(), (V{true, 2, 0, 600000}));
  EXPECT_EQ(key.Check(), (V{true, 1, 0, 800000}));
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1000000}));
  EXPECT_EQ(key.Check(), (V{false, 0, 200000, 1000000}));
  key.Advance(199999);
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 800001}));
  key.Advance(1);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1000000}));
  EXPECT_EQ(key.Step(1, false).limit, 5);
}

TEST_P(BucketTest, BucketRefillsToFullAfterResetAndNoFurther) {
  Key key = MakeKey(5, kSecond);
  EXPECT_EQ(key.CheckMany(5), 5);
  key.Advance(kSecond);
  EXPECT_EQ(key.Peek(), (V{true, 5, 0, 0}));
  key.Advance(10 * kSecond);
  EXPECT_EQ(key.CheckMany(6), 5);
}

TEST_P(BucketTest, FreshZeroStateIsAFullBucket) {
  Key key = MakeKey(7, kMinute);
  ASSERT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Peek(7), (V{true, 7, 0, 0}));
  EXPECT_EQ(key.Check(7), (V{true, 0, 0, kMinute}));
}

TEST_P(BucketTest, CostAboveBurstIsNeverAllowedAndLeavesStateUntouched) {
  Key key = MakeKey(5, kSecond);
  EXPECT_EQ(key.Check(6), (V{false, 5, kNever, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.Check(2), (V{true, 3, 0, 400000}));
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Check(6), (V{false, 3, kNever, 400000}));
  EXPECT_EQ(key.state, before);
}

TEST_P(BucketTest, CostAboveOneConsumesThatManyTokens) {
  Key key = MakeKey(5, kSecond);
  EXPECT_EQ(key.Check(3), (V{true, 2, 0, 600000}));
  EXPECT_EQ(key.Check(3), (V{false, 2, 200000, 600000}));
  key.Advance(199999);
  EXPECT_EQ(key.Check(3), (V{false, 2, 1, 400001}));
  key.Advance(1);
  EXPECT_EQ(key.Check(3), (V{true, 0, 0, 1000000}));
}

TEST_P(BucketTest, PeekReportsWithoutConsuming) {
  Key key = MakeKey(2, kSecond);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(key.Peek(), (V{true, 2, 0, 0}));
  EXPECT_TRUE(key.IsFresh());
  EXPECT_EQ(key.CheckMany(2), 2);
  const std::vector<unsigned char> before = key.state;
  EXPECT_EQ(key.Peek(), (V{false, 0, 500000, 1000000}));
  EXPECT_EQ(key.Peek(2), (V{false, 0, 1000000, 1000000}));
  EXPECT_EQ(key.state, before);
}

TEST_P(BucketTest, DayPeriodRefillsOneTokenEvery86Point4Seconds) {
  Key key = MakeKey(1000, kDay);
  EXPECT_EQ(key.CheckMany(1000), 1000);
  EXPECT_EQ(key.Check(), (V{false, 0, 86400000, kDay}));
  key.Advance(86400000 - 1);
  EXPECT_FALSE(key.Check().allowed);
  key.Advance(1);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kDay}));
}

TEST_P(BucketTest, WeekPeriodKeepsExactRetryAndReset) {
  Key key = MakeKey(5, kWeek);
  EXPECT_EQ(key.CheckMany(5), 5);
  EXPECT_EQ(key.Check(), (V{false, 0, kWeek / 5, kWeek}));
  EXPECT_EQ(kWeek / 5, 120960000000);
  key.Advance(kWeek / 5);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kWeek}));
}

TEST_P(BucketTest, TenThousandPerSecondLosesNoPrecision) {
  Key key = MakeKey(10000, kSecond);
  EXPECT_EQ(key.CheckMany(10000), 10000);
  EXPECT_EQ(key.Check(), (V{false, 0, 100, kSecond}));
  key.Advance(99);
  EXPECT_EQ(key.Check(), (V{false, 0, 1, kSecond - 99}));
  key.Advance(1);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  // Exactly one token per 100 us.
  key.Advance(300);
  EXPECT_EQ(key.Peek(), (V{true, 3, 0, kSecond - 300}));
  key.Advance(kSecond - 300);
  EXPECT_EQ(key.Peek(), (V{true, 10000, 0, 0}));
}

TEST_P(BucketTest, RateThatDoesNotDivideThePeriodRoundsWaitsUp) {
  Key key = MakeKey(3, kSecond);  // one token per 333333.33 us
  EXPECT_EQ(key.CheckMany(3), 3);
  EXPECT_EQ(key.Check(), (V{false, 0, 333334, kSecond}));
  key.Advance(333333);
  EXPECT_EQ(key.Check(), (V{false, 0, 1, 666667}));
  key.Advance(1);
  EXPECT_EQ(key.Check(), (V{true, 0, 0, 1000000}));
}

TEST_P(BucketTest, BurstDefaultsToLimit) {
  Key key = MakeKey(10, kSecond);
  EXPECT_EQ(key.Step(1, true).limit, 10);
  EXPECT_EQ(key.CheckMany(11), 10);
}

TEST_P(BucketTest, ExplicitBurstBelowLimitCapsTheBucketButKeepsTheRate) {
  Key key = MakeKey(10, kSecond, 3);
  EXPECT_EQ(key.Step(1, true).limit, 3);
  EXPECT_EQ(key.Check(), (V{true, 2, 0, 100000}));
  EXPECT_EQ(key.CheckMany(2), 2);
  EXPECT_EQ(key.Check(), (V{false, 0, 100000, 300000}));
  EXPECT_EQ(key.Check(4), (V{false, 0, kNever, 300000}));
  key.Advance(kSecond);
  EXPECT_EQ(key.Peek(), (V{true, 3, 0, 0}));
}

TEST_P(BucketTest, ExplicitBurstAboveLimitAllowsALargerBurst) {
  Key key = MakeKey(1, kSecond, 4);
  EXPECT_EQ(key.CheckMany(5), 4);
  EXPECT_EQ(key.Check(), (V{false, 0, kSecond, 4 * kSecond}));
}

TEST_P(BucketTest, ValidateRefusesOverflowingProducts) {
  Validation v = Validate(GetParam(), MakeSpec(10000000, kWeek));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message, GetParam() +
                           ": 10000000/1w is too large: limit × period must stay below 2^62 "
                           "microseconds");
  v = Validate(GetParam(), MakeSpec(1, kWeek, 10000000));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message, GetParam() +
                           ": burst 10000000 with a period of 1w is too large: burst × period "
                           "must stay below 2^62 microseconds");
  EXPECT_EQ(Validate(GetParam(), MakeSpec(1000000, kWeek, 1000000)).code, LIMIFY_PLUGIN_OK);
}

INSTANTIATE_TEST_SUITE_P(Buckets, BucketTest, ::testing::Values("token_bucket", "gcra"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace limify::testing
