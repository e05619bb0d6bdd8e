// token_bucket specifics: its state layout and a clock that goes back.
#include <cstring>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

struct TokenBucketState {
  int64_t deficit_units;
  int64_t last_us;
};

TokenBucketState Read(const Key& key) {
  TokenBucketState s;
  EXPECT_EQ(key.state.size(), sizeof s);
  std::memcpy(&s, key.state.data(), sizeof s);
  return s;
}

TEST(TokenBucketTest, StateIsDeficitInUnitsOfOneOverPeriodAndLastTime) {
  Key key("token_bucket", MakeSpec(5, kSecond), 1000);
  key.Check(2);
  EXPECT_EQ(Read(key).deficit_units, 2 * kSecond);
  EXPECT_EQ(Read(key).last_us, 1000);
  key.Advance(100);  // refills 100 us * 5 units
  key.Check();
  EXPECT_EQ(Read(key).deficit_units, 2 * kSecond - 500 + kSecond);
  EXPECT_EQ(Read(key).last_us, 1100);
}

TEST(TokenBucketTest, ClockGoingBackRefillsNothingAndRetryCountsTheWayBack) {
  Key key("token_bucket", MakeSpec(5, kSecond), kSecond);
  EXPECT_EQ(key.CheckMany(5), 5);
  key.now = 500000;
  // Refill resumes only once the clock is back at 1 s: 500 ms + 200 ms.
  EXPECT_EQ(key.Check(), (V{false, 0, 700000, 1500000}));
  key.now = 1199999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 1200000;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
}

TEST(TokenBucketTest, ClockGoingBackKeepsTheBucketLevelAndTheLatestTime) {
  Key key("token_bucket", MakeSpec(5, kSecond), kSecond);
  EXPECT_EQ(key.Check(2), (V{true, 3, 0, 400000}));
  key.now = 0;
  EXPECT_EQ(key.Peek(), (V{true, 3, 0, 1400000}));
  EXPECT_EQ(key.Check(), (V{true, 2, 0, 1600000}));
  EXPECT_EQ(Read(key).last_us, kSecond);
  key.now = kSecond;
  EXPECT_EQ(key.Peek(), (V{true, 2, 0, 600000}));
}

TEST(TokenBucketTest, FreshStateIsFullEvenBeforeTimeZero) {
  Key key("token_bucket", MakeSpec(2, kSecond), -5 * kSecond);
  EXPECT_EQ(key.Check(), (V{true, 1, 0, 500000}));
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  EXPECT_EQ(key.Check(), (V{false, 0, 500000, kSecond}));
}

}  // namespace
}  // namespace limify::testing
