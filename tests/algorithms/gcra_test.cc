// gcra specifics: its scaled-time state layout and a clock that goes back.
#include <cstring>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

struct GcraState {
  int64_t tat_us;
  int64_t tat_rem;
};

GcraState Read(const Key& key) {
  GcraState s;
  EXPECT_EQ(key.state.size(), sizeof s);
  std::memcpy(&s, key.state.data(), sizeof s);
  return s;
}

TEST(GcraTest, StateIsTheoreticalArrivalTimeInScaledMicroseconds) {
  // L = 3: one microsecond is 3 units; one request moves TAT by P units.
  Key key("gcra", MakeSpec(3, kSecond), 10);
  key.Check();
  // TAT = 10 * 3 + 1000000 = 1000030 = 333343 * 3 + 1.
  EXPECT_EQ(Read(key).tat_us, 333343);
  EXPECT_EQ(Read(key).tat_rem, 1);
  key.Check();
  EXPECT_EQ(Read(key).tat_us, 666676);
  EXPECT_EQ(Read(key).tat_rem, 2);
}

TEST(GcraTest, ClockGoingBackRefillsNothingAndNeverGoesNegative) {
  Key key("gcra", MakeSpec(5, kSecond), kSecond);
  EXPECT_EQ(key.Check(2), (V{true, 3, 0, 400000}));
  // TAT is 1.4 s; at 0 s it lies 1.4 s ahead, beyond the 1 s tolerance:
  // stricter than before, never looser, and remaining stays at 0.
  key.now = 0;
  EXPECT_EQ(key.Peek(), (V{false, 0, 600000, 1400000}));
  key.now = 599999;
  EXPECT_FALSE(key.Check().allowed);
  key.now = 600000;
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
}

TEST(GcraTest, FreshStateIsFullEvenBeforeTimeZero) {
  Key key("gcra", MakeSpec(2, kSecond), -5 * kSecond);
  EXPECT_EQ(key.Check(), (V{true, 1, 0, 500000}));
  EXPECT_EQ(key.Check(), (V{true, 0, 0, kSecond}));
  EXPECT_EQ(key.Check(), (V{false, 0, 500000, kSecond}));
}

}  // namespace
}  // namespace limify::testing
