// How the verdicts of several limits combine into one.
#include "engine/limit_applier.h"

#include <gtest/gtest.h>

namespace limify {
namespace {

limify_verdict V(bool allowed, int64_t limit, int64_t remaining, int64_t reset, int64_t retry) {
  limify_verdict v{};
  v.struct_size = sizeof(v);
  v.allowed = allowed;
  v.limit = limit;
  v.remaining = remaining;
  v.reset_after_us = reset;
  v.retry_after_us = retry;
  return v;
}

TEST(CombineVerdictsTest, AllowedReportsTheLimitWithLeastRemaining) {
  limify_verdict vs[] = {V(true, 10, 7, 100, 0), V(true, 1000, 3, 900, 0)};
  limify_verdict out;
  EXPECT_EQ(CombineVerdicts(vs, 2, &out), 1u);
  EXPECT_TRUE(out.allowed);
  EXPECT_EQ(out.limit, 1000);
  EXPECT_EQ(out.remaining, 3);
  EXPECT_EQ(out.reset_after_us, 900);
  EXPECT_EQ(out.binding_limit, 1u);
}

TEST(CombineVerdictsTest, DeniedReportsTheLongestWaitAndLongestReset) {
  limify_verdict vs[] = {V(false, 10, 0, 5000, 400), V(true, 50, 20, 9000, 0),
                         V(false, 100, 0, 700, 600)};
  limify_verdict out;
  EXPECT_EQ(CombineVerdicts(vs, 3, &out), 2u);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.retry_after_us, 600);
  EXPECT_EQ(out.reset_after_us, 9000);
}

TEST(CombineVerdictsTest, NeverBeatsAnyFiniteWait) {
  limify_verdict vs[] = {V(false, 10, 0, 5, 999999), V(false, 1, 0, 5, LIMIFY_RETRY_NEVER)};
  limify_verdict out;
  EXPECT_EQ(CombineVerdicts(vs, 2, &out), 1u);
  EXPECT_EQ(out.retry_after_us, LIMIFY_RETRY_NEVER);
}

TEST(CombineVerdictsTest, OneDeniedLimitDeniesTheRule) {
  limify_verdict vs[] = {V(true, 10, 9, 1, 0), V(false, 1, 0, 1, 1)};
  limify_verdict out;
  CombineVerdicts(vs, 2, &out);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.limit, 1);
}

}  // namespace
}  // namespace limify
