// The assertions every chaos case ends with, once its storage is back.
#ifndef LIMIFY_TESTS_CHAOS_CHAOS_CHECKS_H_
#define LIMIFY_TESTS_CHAOS_CHAOS_CHECKS_H_

#include <gtest/gtest.h>

#include "tests/chaos/chaos_load.h"

namespace limify::chaos {

// Decisions followed the failure policy, none was lost, no call outlived the
// storage's timeout, and the breaker opened, short-circuited and closed.
inline void ExpectThePolicyHeld(const Engine& engine, const Load::Totals& t, int timeout_ms) {
  EXPECT_EQ(t.errors, 0u) << "a storage failure is never an error";
  EXPECT_EQ(t.off_policy, 0u) << "degraded decisions follow failure_mode \"closed\"";
  EXPECT_GT(t.degraded, 0u);
  EXPECT_GT(t.normal, 0u);
  EXPECT_LT(t.max_us, (timeout_ms + kMarginMs) * 1000) << "no call outlives the timeout";
  EXPECT_EQ(Decisions(engine), t.calls) << "every check is one counted decision";
  EXPECT_GE(BreakerOpened(engine), 1u);
  EXPECT_GT(ShortCircuited(engine), 0u);
  EXPECT_EQ(BreakerState(engine), 0) << "closed again once the storage answers";
}

}  // namespace limify::chaos

#endif  // LIMIFY_TESTS_CHAOS_CHAOS_CHECKS_H_
