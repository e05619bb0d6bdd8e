// The `quota` fixture plugin (tests/fixtures/quota.c), driven through the
// vtable the registry hands out: the engine's tests rely on its behaviour,
// so it is pinned here.
#include <cstdint>
#include <cstring>
#include <memory>

#include "engine/plugin_error.h"
#include "engine/plugin_registry.h"
#include "gtest/gtest.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

constexpr int64_t kSecond = 1'000'000;

class QuotaPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = PluginRegistry::Load({testing::FixtureDir("quota")});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    quota_ = registry_->FindAlgorithm("quota");
    ASSERT_NE(quota_, nullptr);
  }

  // One step of `cost` at `now_us` on state_; the verdict.
  limify_verdict Step(int64_t now_us, int64_t cost = 1, bool peek = false) {
    limify_verdict v = {};
    v.struct_size = sizeof(v);
    limify_plugin_error err;
    int32_t code = quota_->step(&spec_, state_, sizeof(state_), now_us, cost,
                                peek ? 1 : 0, &v, &err);
    EXPECT_EQ(code, LIMIFY_PLUGIN_OK) << err.message;
    return v;
  }

  std::unique_ptr<PluginRegistry> registry_;
  const limify_algorithm* quota_ = nullptr;
  limify_limit_spec spec_ = {sizeof(limify_limit_spec), 0, 3, 10 * kSecond, 0};
  unsigned char state_[16] = {};
};

TEST_F(QuotaPlugin, AllowsUpToTheLimitPerWindowThenDeniesUntilItEnds) {
  EXPECT_EQ(Step(100 * kSecond).remaining, 2);
  EXPECT_EQ(Step(101 * kSecond).remaining, 1);
  limify_verdict last = Step(102 * kSecond);
  EXPECT_EQ(last.allowed, 1u);
  EXPECT_EQ(last.remaining, 0);
  EXPECT_EQ(last.reset_after_us, 8 * kSecond);

  limify_verdict denied = Step(104 * kSecond);
  EXPECT_EQ(denied.allowed, 0u);
  EXPECT_EQ(denied.limit, 3);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retry_after_us, 6 * kSecond);
  EXPECT_EQ(denied.reset_after_us, 6 * kSecond);
}

TEST_F(QuotaPlugin, RefillsAllAtOnceWhenTheWindowEnds) {
  for (int i = 0; i < 3; ++i) Step(100 * kSecond);
  EXPECT_EQ(Step(110 * kSecond - 1).allowed, 0u);
  limify_verdict fresh = Step(110 * kSecond);
  EXPECT_EQ(fresh.allowed, 1u);
  EXPECT_EQ(fresh.remaining, 2);
  EXPECT_EQ(fresh.reset_after_us, 10 * kSecond);
}

TEST_F(QuotaPlugin, PeekDecidesWithoutConsuming) {
  limify_verdict peeked = Step(100 * kSecond, 2, /*peek=*/true);
  EXPECT_EQ(peeked.allowed, 1u);
  EXPECT_EQ(peeked.remaining, 1);
  unsigned char fresh[16] = {};
  EXPECT_EQ(std::memcmp(state_, fresh, sizeof(fresh)), 0);
  EXPECT_EQ(Step(100 * kSecond, 3).allowed, 1u);
}

TEST_F(QuotaPlugin, CostAboveTheLimitIsNeverAllowed) {
  limify_verdict v = Step(100 * kSecond, 4);
  EXPECT_EQ(v.allowed, 0u);
  EXPECT_EQ(v.retry_after_us, LIMIFY_RETRY_NEVER);
  EXPECT_EQ(v.remaining, 3);
  EXPECT_EQ(v.reset_after_us, 0);  // nothing consumed: still fresh
}

TEST_F(QuotaPlugin, TimeGoingBackwardsNeitherRefillsNorWaitsLongerThanAWindow) {
  for (int i = 0; i < 3; ++i) Step(100 * kSecond);
  limify_verdict v = Step(50 * kSecond);
  EXPECT_EQ(v.allowed, 0u);
  EXPECT_EQ(v.retry_after_us, 10 * kSecond);
}

TEST_F(QuotaPlugin, ValidateRefusesBurstThroughTheHostErrorSink) {
  limify_limit_spec with_burst = spec_;
  with_burst.burst = 5;
  limify_plugin_error err;
  int32_t code = quota_->validate(&with_burst, &err);
  absl::Status s = PluginStatus(code, err, "algorithm \"quota\"");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "algorithm \"quota\": quota does not use burst");
  EXPECT_EQ(quota_->validate(&spec_, &err), LIMIFY_PLUGIN_OK);
}

TEST_F(QuotaPlugin, NeedsSixteenBytesOfState) {
  EXPECT_EQ(quota_->state_size(&spec_), 16u);
}

}  // namespace
}  // namespace limify
