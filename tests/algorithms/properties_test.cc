// Properties every algorithm must hold over random request sequences (random
// specs, costs, peeks, and a clock that sometimes goes back):
//  - retry_after is exact: the same request passes after exactly that wait
//    and not one microsecond earlier;
//  - remaining is exact: that many unit requests pass now, one more does not;
//  - reset_after is exact: from then on the state answers like a fresh one,
//    one microsecond earlier it does not;
//  - a denied request or a peek writes no state.
// And token_bucket and gcra give identical verdicts on a monotonic clock.
#include <random>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

bool IsBucket(const std::string& name) { return name == "token_bucket" || name == "gcra"; }

// Small specs reach every corner quickly; large ones check the big numbers.
limify_limit_spec RandomSpec(const std::string& name, std::mt19937_64& rng) {
  int64_t limit, period;
  if (rng() % 2 == 0) {
    limit = 1 + rng() % 8;
    period = 1 + rng() % 60;
  } else {
    static constexpr int64_t kPeriods[] = {kSecond, kMinute, kDay, kWeek, 7 * kSecond + 3};
    limit = 1 + rng() % (name == "sliding_window" ? 300 : 100000);
    period = kPeriods[rng() % 5];
  }
  const int64_t burst = IsBucket(name) && rng() % 2 ? 1 + rng() % (2 * limit) : 0;
  return MakeSpec(limit, period, burst);
}

int64_t RandomAdvance(int64_t period, std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: case 1: case 2: return 0;
    case 3: case 4: case 5: case 6: return rng() % (period / 4 + 2);
    case 7: case 8: return rng() % (2 * period + 2);
    default: return -static_cast<int64_t>(rng() % (period + 2));  // the clock goes back
  }
}

int64_t RandomCost(int64_t capacity, std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: case 1: case 2: case 3: case 4: return 1;
    case 5: case 6: return 1 + rng() % 3;
    case 7: case 8: return 1 + rng() % capacity;
    default: return capacity + 1 + rng() % 3;
  }
}

class PropertyTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The verdict a request would get at `now` from `state`, consuming nothing.
  V PeekAt(const limify_limit_spec& spec, std::vector<unsigned char> state, int64_t now,
           int64_t cost) {
    return Summary(StepOnce(LoadPlugin(GetParam()).algorithm, spec, state, now, cost, true));
  }
};

TEST_P(PropertyTest, RetryRemainingAndResetAreExactOverRandomSequences) {
  std::mt19937_64 rng(42);
  for (int scenario = 0; scenario < 150; ++scenario) {
    const limify_limit_spec spec = RandomSpec(GetParam(), rng);
    const int64_t capacity = spec.burst != 0 ? spec.burst : spec.limit;
    const int64_t P = spec.period_us;
    Key key(GetParam(), spec, static_cast<int64_t>(rng() % (3 * P)));
    const std::vector<unsigned char> fresh(key.state.size(), 0);
    for (int i = 0; i < 150; ++i) {
      SCOPED_TRACE(::testing::Message() << "scenario " << scenario << " step " << i << " limit "
                                        << spec.limit << "/" << P << "us burst " << spec.burst
                                        << " now " << key.now);
      key.Advance(RandomAdvance(P, rng));
      const int64_t cost = RandomCost(capacity, rng);
      const bool peek = rng() % 5 == 0;
      const std::vector<unsigned char> before = key.state;
      const limify_verdict raw = key.Step(cost, peek);
      const V v = Summary(raw);
      const int64_t now = key.now;

      ASSERT_EQ(raw.limit, capacity);
      ASSERT_GE(v.remaining, 0);
      ASSERT_LE(v.remaining, capacity);
      ASSERT_GE(v.reset_after, 0);
      if (!v.allowed || peek) {
        ASSERT_EQ(key.state, before) << "a denied step or a peek wrote";
      }
      if (v.allowed) {
        ASSERT_EQ(v.retry_after, 0);
      } else if (cost > capacity) {
        ASSERT_EQ(v.retry_after, kNever);
      } else {
        ASSERT_GE(v.retry_after, 1);
        ASSERT_TRUE(PeekAt(spec, before, now + v.retry_after, cost).allowed)
            << "still denied after retry_after " << v.retry_after;
        ASSERT_FALSE(PeekAt(spec, before, now + v.retry_after - 1, cost).allowed)
            << "allowed 1 us before retry_after " << v.retry_after;
        const int64_t sooner = now + static_cast<int64_t>(rng() % v.retry_after);
        ASSERT_FALSE(PeekAt(spec, before, sooner, cost).allowed) << "allowed at " << sooner;
      }

      if (v.remaining >= 1) {
        ASSERT_TRUE(PeekAt(spec, key.state, now, v.remaining).allowed);
      }
      if (v.remaining < capacity) {
        ASSERT_FALSE(PeekAt(spec, key.state, now, v.remaining + 1).allowed)
            << "remaining " << v.remaining << " undercounts";
      }

      const int64_t reset_at = now + v.reset_after;
      for (int64_t t : {reset_at, reset_at + static_cast<int64_t>(rng() % (2 * P))}) {
        for (int64_t c : {int64_t{1}, capacity}) {
          ASSERT_EQ(PeekAt(spec, key.state, t, c), PeekAt(spec, fresh, t, c))
              << "not yet fresh at reset_after " << v.reset_after << " (+" << t - reset_at
              << "), cost " << c;
        }
      }
      if (v.reset_after > 0) {
        ASSERT_LT(PeekAt(spec, key.state, reset_at - 1, 1).remaining, capacity)
            << "reset_after " << v.reset_after << " is longer than the state matters";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, PropertyTest, ::testing::ValuesIn(AllAlgorithms()),
                         [](const auto& info) { return info.param; });

TEST(BucketEquivalenceTest, TokenBucketAndGcraAgreeOnAMonotonicClock) {
  std::mt19937_64 rng(9);
  for (int scenario = 0; scenario < 300; ++scenario) {
    const limify_limit_spec spec = RandomSpec("gcra", rng);
    const int64_t capacity = spec.burst != 0 ? spec.burst : spec.limit;
    const int64_t start = static_cast<int64_t>(rng() % kWeek) - kDay;
    Key bucket("token_bucket", spec, start), gcra("gcra", spec, start);
    for (int i = 0; i < 200; ++i) {
      const int64_t advance = std::max<int64_t>(0, RandomAdvance(spec.period_us, rng));
      bucket.Advance(advance);
      gcra.Advance(advance);
      const int64_t cost = RandomCost(capacity, rng);
      const bool peek = rng() % 5 == 0;
      const limify_verdict a = bucket.Step(cost, peek), b = gcra.Step(cost, peek);
      ASSERT_EQ(Summary(a), Summary(b)) << "scenario " << scenario << " step " << i;
      ASSERT_EQ(a.limit, b.limit);
    }
  }
}

}  // namespace
}  // namespace limify::testing
