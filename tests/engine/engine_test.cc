// The engine end to end on the memory storage with the manual clock: rule,
// plan and identity resolution, multi-limit all-or-nothing, peek, reset,
// CheckKey, the failure policy, hot reload and configuration errors that
// need the loaded plugins.
#include "engine/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace limify {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

std::string ManualConfig(const std::string& rules, const std::string& extra = "") {
  return absl::StrCat(R"({"clock": "manual", )", extra, R"("rules": )", rules, "}");
}

Request Get(std::string_view path, std::string_view user = "alice") {
  Request r;
  r.method = "GET";
  r.path = path;
  r.user_id = user;
  return r;
}

Decision MustCheck(Engine& engine, const Request& request) {
  Decision d;
  absl::Status status = engine.Check(request, &d);
  EXPECT_TRUE(status.ok()) << status;
  return d;
}

TEST(EngineTest, UnmatchedRequestIsAllowedAndUnlimited) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "a", "path": "/a", "rate": "1/second"}])"));
  Decision d = MustCheck(*engine, Get("/b"));
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.matched);
  EXPECT_EQ(d.limit, kUnlimited);
  EXPECT_EQ(d.remaining, kUnlimited);
}

TEST(EngineTest, DefaultRuleLimitsUnmatchedRequests) {
  auto engine = MakeEngine(
      ManualConfig(R"([{"id": "a", "path": "/a", "rate": "9/second"}])",
                   R"("default_rule": {"id": "fallback", "rate": "1/minute"}, )"));
  Decision first = MustCheck(*engine, Get("/elsewhere"));
  EXPECT_TRUE(first.allowed);
  EXPECT_TRUE(first.matched);
  EXPECT_EQ(first.rule_id, "fallback");
  EXPECT_FALSE(MustCheck(*engine, Get("/other")).allowed);
}

TEST(EngineTest, BurstPassesUpToTheLimitThenBlocksWithExactRetryAfter) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/search", "rate": "5/second"}])"));
  for (int i = 0; i < 5; ++i) {
    Decision d = MustCheck(*engine, Get("/search"));
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.rule_id, "s");
    EXPECT_EQ(d.plan_id, "default");
  }
  Decision blocked = MustCheck(*engine, Get("/search"));
  EXPECT_FALSE(blocked.allowed);
  EXPECT_EQ(blocked.remaining, 0);
  EXPECT_EQ(blocked.retry_after_us, 200'000);  // one token per 200 ms
  EXPECT_EQ(blocked.reset_after_us, 1'000'000);
  EXPECT_EQ(blocked.period_us, 1'000'000);

  ASSERT_TRUE(engine->AdvanceClock(199'999).ok());
  EXPECT_FALSE(MustCheck(*engine, Get("/search")).allowed);
  ASSERT_TRUE(engine->AdvanceClock(1).ok());
  EXPECT_TRUE(MustCheck(*engine, Get("/search")).allowed);
}

TEST(EngineTest, IdentitiesHaveSeparateBuckets) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "alice")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/s", "alice")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "bob")).allowed);
}

TEST(EngineTest, FirstPresentIdentityInConfiguredOrderIsUsed) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])",
                                        R"("identity": {"order": ["api_key", "client_ip"]}, )"));
  Request r = Get("/s", "alice");
  r.api_key = "k1";
  r.client_ip = "10.0.0.1";
  EXPECT_TRUE(MustCheck(*engine, r).allowed);
  // Another user with the same API key shares its bucket: user_id is not in the order.
  Request same_key = Get("/s", "bob");
  same_key.api_key = "k1";
  EXPECT_FALSE(MustCheck(*engine, same_key).allowed);
  // Without an API key the client IP is next.
  Request by_ip = Get("/s", "carol");
  by_ip.client_ip = "10.0.0.1";
  EXPECT_TRUE(MustCheck(*engine, by_ip).allowed);
}

TEST(EngineTest, RequestsWithoutIdentityShareOneAnonymousBucket) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/s", "")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "someone")).allowed);
}

TEST(EngineTest, IdentityValuesThatLookAlikeDoNotCollide) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])"));
  const std::string nul_user("a\0b", 3);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "a")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", nul_user)).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "a|user|x}")).allowed);
  Request org = Get("/s", "");
  org.org_id = "a";  // same value, other kind
  EXPECT_TRUE(MustCheck(*engine, org).allowed);
}

constexpr char kPlanRules[] = R"([{"id": "items", "path": "/items/**", "rate": "1/minute",
    "plans": {"pro": "3/minute", "enterprise": ["2/second", "100/day"]}}])";

TEST(EngineTest, ExplicitPlanWinsOverEverySource) {
  auto engine = MakeEngine(
      ManualConfig(kPlanRules, R"("identity_plans": {"user_id": {"alice": "enterprise"}}, )"));
  ASSERT_TRUE(engine
                  ->SetPlanProvider(
                      [](const Request&, std::string_view) { return std::string("enterprise"); })
                  .ok());
  Request r = Get("/items/1");
  r.plan = "pro";
  Decision d = MustCheck(*engine, r);
  EXPECT_EQ(d.plan_id, "pro");
  EXPECT_EQ(d.limit, 3);
}

TEST(EngineTest, PlanProviderWinsOverConfigMap) {
  auto engine = MakeEngine(
      ManualConfig(kPlanRules, R"("identity_plans": {"user_id": {"alice": "enterprise"}}, )"));
  std::string seen_rule;
  ASSERT_TRUE(engine
                  ->SetPlanProvider([&](const Request& request, std::string_view rule) {
                    seen_rule = std::string(rule);
                    return std::string(request.user_id == "alice" ? "pro" : "");
                  })
                  .ok());
  Decision d = MustCheck(*engine, Get("/items/1"));
  EXPECT_EQ(d.plan_id, "pro");
  EXPECT_EQ(seen_rule, "items");
  // The provider has no plan for bob: the rule's own rate.
  EXPECT_EQ(MustCheck(*engine, Get("/items/1", "bob")).plan_id, "default");
}

TEST(EngineTest, ConfigMapGivesPlanByIdentity) {
  auto engine = MakeEngine(
      ManualConfig(kPlanRules, R"("identity_plans": {"user_id": {"alice": "enterprise"}}, )"));
  Decision d = MustCheck(*engine, Get("/items/1"));
  EXPECT_EQ(d.plan_id, "enterprise");
  EXPECT_EQ(d.limit, 2);  // 2/second binds before 100/day
  EXPECT_EQ(MustCheck(*engine, Get("/items/1", "bob")).plan_id, "default");
}

TEST(EngineTest, UnknownPlanFallsBackToTheRuleOwnRate) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Request r = Get("/items/1");
  r.plan = "platinum";
  Decision d = MustCheck(*engine, r);
  EXPECT_EQ(d.plan_id, "default");
  EXPECT_EQ(d.limit, 1);
}

TEST(EngineTest, PlansHaveSeparateState) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  EXPECT_TRUE(MustCheck(*engine, Get("/items/1")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/items/1")).allowed);
  Request pro = Get("/items/1");
  pro.plan = "pro";
  EXPECT_TRUE(MustCheck(*engine, pro).allowed);
}

TEST(EngineTest, MultiLimitRuleConsumesNothingUnlessAllAllow) {
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "x", "path": "/x", "algorithm": "fixed_window", "rate": ["2/second", "3/minute"]}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/x")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/x")).allowed);
  Decision per_second = MustCheck(*engine, Get("/x"));
  EXPECT_FALSE(per_second.allowed);
  EXPECT_EQ(per_second.limit, 2);
  EXPECT_EQ(per_second.period_us, 1'000'000);
  // The blocked request consumed nothing from the per-minute limit: one left.
  ASSERT_TRUE(engine->AdvanceClock(1'000'000).ok());
  Decision third = MustCheck(*engine, Get("/x"));
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.remaining, 0);  // the per-minute limit binds now
  EXPECT_EQ(third.limit, 3);
  Decision per_minute = MustCheck(*engine, Get("/x"));
  EXPECT_FALSE(per_minute.allowed);
  EXPECT_EQ(per_minute.limit, 3);
  EXPECT_EQ(per_minute.period_us, 60'000'000);
  EXPECT_EQ(per_minute.retry_after_us, 59'000'000);
}

TEST(EngineTest, CostGreaterThanCapacityIsNeverAllowed) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "5/second"}])"));
  Request r = Get("/s");
  r.cost = 6;
  Decision d = MustCheck(*engine, r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_us, kRetryNever);
  r.cost = 5;
  EXPECT_TRUE(MustCheck(*engine, r).allowed);  // nothing was consumed before
}

TEST(EngineTest, InvalidCostIsAnError) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "5/second"}])"));
  Request r = Get("/s");
  r.cost = 0;
  Decision d;
  EXPECT_EQ(engine->Check(r, &d).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EngineTest, PeekDoesNotConsume) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "2/minute"}])"));
  Decision d;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(engine->Peek(Get("/s"), &d).ok());
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2);
  }
  EXPECT_TRUE(MustCheck(*engine, Get("/s")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s")).allowed);
  ASSERT_TRUE(engine->Peek(Get("/s"), &d).ok());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
}

TEST(EngineTest, ResetForgetsOneIdentityUnderOneRule) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "alice")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "bob")).allowed);
  ASSERT_TRUE(engine->Reset(Get("/s", "alice")).ok());
  EXPECT_TRUE(MustCheck(*engine, Get("/s", "alice")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/s", "bob")).allowed);
}

TEST(EngineTest, ResetForgetsEveryPlanOfTheIdentity) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Request pro = Get("/items/1");
  pro.plan = "pro";
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(MustCheck(*engine, pro).allowed);
  EXPECT_FALSE(MustCheck(*engine, pro).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/items/1")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/items/1")).allowed);
  ASSERT_TRUE(engine->Reset(Get("/items/1")).ok());  // asked without a plan
  EXPECT_TRUE(MustCheck(*engine, pro).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/items/1")).allowed);
}

TEST(EngineTest, CheckKeyLimitsAnyIdentityByRuleId) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "jobs", "path": "/unused", "rate": "2/minute"}])"));
  Decision d;
  ASSERT_TRUE(engine->CheckKey("jobs", "tenant-7", 2, &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.rule_id, "jobs");
  ASSERT_TRUE(engine->CheckKey("jobs", "tenant-7", 1, &d).ok());
  EXPECT_FALSE(d.allowed);
  ASSERT_TRUE(engine->CheckKey("jobs", "tenant-8", 1, &d).ok());
  EXPECT_TRUE(d.allowed);
}

TEST(EngineTest, CheckKeyRejectsUnknownRuleAndEmptyIdentity) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "jobs", "path": "/j", "rate": "2/minute"}])"));
  Decision d;
  absl::Status unknown = engine->CheckKey("nope", "x", 1, &d);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("\"nope\""));
  EXPECT_EQ(engine->CheckKey("jobs", "", 1, &d).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EngineTest, ManualClockIsRefusedWhenNotConfigured) {
  auto engine = MakeEngine(R"({"rules": [{"id": "s", "path": "/s", "rate": "1/second"}]})");
  EXPECT_EQ(engine->AdvanceClock(1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EngineTest, ConcurrentChecksNeverExceedTheLimit) {
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "hot", "path": "/hot", "algorithm": "fixed_window", "rate": "1000/minute"}])"));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        Decision d;
        if (engine->Check(Get("/hot"), &d).ok() && d.allowed) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

// --- failure policy --------------------------------------------------------

std::string UnavailableStorageConfig(const char* mode) {
  return absl::StrCat(R"({"storage": {"type": "unavailable"}, "plugin_paths": [")",
                      LIMIFY_TEST_PLUGIN_DIR, R"(/unavailable_storage"], "failure_mode": ")", mode,
                      R"(", "rules": [{"id": "s", "path": "/s", "rate": "5/second"}]})");
}

TEST(EngineTest, StorageFailureFailsOpenWhenConfigured) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  Decision d = MustCheck(*engine, Get("/s"));
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.degraded);
  EXPECT_EQ(d.rule_id, "s");
  EXPECT_EQ(d.remaining, kUnlimited);
}

TEST(EngineTest, StorageFailureFailsClosedWhenConfigured) {
  auto engine = MakeEngine(UnavailableStorageConfig("closed"));
  Decision d = MustCheck(*engine, Get("/s"));
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.degraded);
  EXPECT_GT(d.retry_after_us, 0);
}

TEST(EngineTest, ResetReportsStorageFailure) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  absl::Status status = engine->Reset(Get("/s"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("connection refused"));
}

TEST(EngineTest, ManualClockNeedsAStorageThatUsesTheHostClock) {
  std::string config = UnavailableStorageConfig("open");
  config.insert(1, R"("clock": "manual", )");
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("clock: \"manual\""));
}

// --- errors the failure policy must not hide ------------------------------

std::string FaultyConfig(const std::string& rate) {
  return absl::StrCat(R"({"clock": "manual", "failure_mode": "open", "plugin_paths": [")",
                      LIMIFY_TEST_PLUGIN_DIR, R"(/faulty_counter"], "rules": [{"id": "f", "path": "/f",
                      "algorithm": "faulty_counter", "rate": )", rate, "}]}");
}

TEST(EngineTest, AlgorithmErrorIsReportedNotFailedOpen) {
  // The algorithm even claims "unavailable": only a storage may say that.
  auto engine = MakeEngine(FaultyConfig(R"("7/second")"));
  Decision d;
  absl::Status status = engine->Check(Get("/f"), &d);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(d.allowed) << "a host reading only `allowed` would let it through";
  EXPECT_FALSE(d.degraded);
  EXPECT_THAT(status.message(), HasSubstr("failed on purpose"));
  EXPECT_THAT(status.message(), HasSubstr("rule \"f\""));
}

TEST(EngineTest, LimitFailingWhileConsumingLeavesEveryLimitUntouched) {
  // The 5/second limit allows and would be consumed first; the 13/minute one
  // fails only when consuming: neither may change.
  auto engine = MakeEngine(FaultyConfig(R"(["5/second", "13/minute"])"));
  Decision d;
  EXPECT_EQ(engine->Check(Get("/f"), &d).code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(engine->Peek(Get("/f"), &d).ok());
  EXPECT_EQ(d.remaining, 5) << "the first limit was consumed by a failed check";
}

TEST(EngineTest, ManualClockRefusesTimesOutsideTheExactRange) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "s", "path": "/s", "rate": "1/minute"}])"));
  EXPECT_EQ(engine->SetClock(int64_t{1} << 62).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine->SetClock((int64_t{1} << 62) - 10).ok());
  EXPECT_EQ(engine->AdvanceClock(10).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine->AdvanceClock(9).ok());
  EXPECT_TRUE(MustCheck(*engine, Get("/s")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/s")).allowed);
}

// --- plan provider ---------------------------------------------------------

TEST(EngineTest, PlanProviderThatThrowsMeansNoPlan) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  ASSERT_TRUE(engine
                  ->SetPlanProvider([](const Request&, std::string_view) -> std::string {
                    throw std::runtime_error("provider down");
                  })
                  .ok());
  Decision d = MustCheck(*engine, Get("/items/1"));
  EXPECT_EQ(d.plan_id, "default");
  EXPECT_TRUE(d.allowed);
}

TEST(EngineTest, PlanProviderCannotReloadEvenAfterANestedCheck) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  absl::Status reload;
  std::atomic<int> depth{0};
  ASSERT_TRUE(engine
                  ->SetPlanProvider([&](const Request& request, std::string_view) {
                    if (depth.fetch_add(1) == 0) {
                      Decision inner;  // the provider checks through the engine itself
                      (void)engine->Check(request, &inner);
                      reload = engine->Reload(ManualConfig(kPlanRules));
                    }
                    depth.fetch_sub(1);
                    return std::string("pro");
                  })
                  .ok());
  Decision d = MustCheck(*engine, Get("/items/1"));
  EXPECT_EQ(d.plan_id, "pro");
  EXPECT_EQ(reload.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EngineTest, PlanProviderCannotReloadOrReplaceItself) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  absl::Status reload, replace;
  ASSERT_TRUE(engine
                  ->SetPlanProvider([&](const Request&, std::string_view) {
                    reload = engine->Reload(ManualConfig(kPlanRules));
                    replace = engine->SetPlanProvider(nullptr);
                    return std::string("pro");
                  })
                  .ok());
  Decision d = MustCheck(*engine, Get("/items/1"));
  EXPECT_EQ(d.plan_id, "pro");
  EXPECT_EQ(reload.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(replace.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(engine->Reload(ManualConfig(kPlanRules)).ok());  // fine from outside
}

// --- burst with several rates ------------------------------------------------

TEST(EngineTest, BurstAppliesToTheShortestWindowOnly) {
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "b", "path": "/b", "rate": ["1000/day", "10/second"], "burst": 20}])"));
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(MustCheck(*engine, Get("/b")).allowed) << i;
  Decision blocked = MustCheck(*engine, Get("/b"));
  EXPECT_FALSE(blocked.allowed);
  EXPECT_EQ(blocked.retry_after_us, 100'000);  // the per-second bucket refills every 100 ms
  // The daily limit keeps its capacity of 1000: ten more per second pass.
  ASSERT_TRUE(engine->AdvanceClock(1'000'000).ok());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(MustCheck(*engine, Get("/b")).allowed) << i;
  Decision next = MustCheck(*engine, Get("/b"));
  EXPECT_FALSE(next.allowed);
  EXPECT_EQ(next.period_us, 1'000'000);
}

// --- more of the API -------------------------------------------------------

TEST(EngineTest, CheckKeyReachesTheDefaultRuleByItsId) {
  auto engine = MakeEngine(ManualConfig(R"([])", R"("default_rule": {"id": "fallback", "rate": "1/minute"}, )"));
  Decision d;
  ASSERT_TRUE(engine->CheckKey("fallback", "job-1", 1, &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule_id, "fallback");
  ASSERT_TRUE(engine->CheckKey("fallback", "job-1", 1, &d).ok());
  EXPECT_FALSE(d.allowed);
}

TEST(EngineTest, ResetKeyForgetsACheckKeyIdentity) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "jobs", "path": "/j", "rate": "1/minute"}])"));
  Decision d;
  ASSERT_TRUE(engine->CheckKey("jobs", "t", 1, &d).ok());
  ASSERT_TRUE(engine->CheckKey("jobs", "t", 1, &d).ok());
  EXPECT_FALSE(d.allowed);
  ASSERT_TRUE(engine->ResetKey("jobs", "t").ok());
  ASSERT_TRUE(engine->CheckKey("jobs", "t", 1, &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(engine->ResetKey("nope", "t").code(), absl::StatusCode::kNotFound);
}

TEST(EngineTest, PeekOnAMultiLimitRuleConsumesNothing) {
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "x", "path": "/x", "algorithm": "fixed_window", "rate": ["2/second", "3/minute"]}])"));
  Decision d;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(engine->Peek(Get("/x"), &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(MustCheck(*engine, Get("/x")).remaining, 1);
}

TEST(EngineTest, ResetOnAMultiLimitRuleForgetsEveryLimit) {
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "x", "path": "/x", "algorithm": "fixed_window", "rate": ["2/second", "2/minute"]}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/x")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/x")).allowed);
  ASSERT_TRUE(engine->AdvanceClock(1'000'000).ok());
  EXPECT_FALSE(MustCheck(*engine, Get("/x")).allowed);  // the per-minute limit is spent
  ASSERT_TRUE(engine->Reset(Get("/x")).ok());
  Decision d = MustCheck(*engine, Get("/x"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
}

// --- hot reload ------------------------------------------------------------

TEST(EngineTest, ReloadKeepsStateOfUnchangedRulesAndResetsChangedOnes) {
  auto engine = MakeEngine(ManualConfig(R"([
      {"id": "a", "path": "/a", "rate": "1/minute"},
      {"id": "b", "path": "/b", "rate": "1/minute"}])"));
  EXPECT_TRUE(MustCheck(*engine, Get("/a")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("/b")).allowed);
  ASSERT_TRUE(engine->Reload(ManualConfig(R"([
      {"id": "a", "path": "/a", "rate": "1/minute"},
      {"id": "b", "path": "/b", "rate": "2/minute"},
      {"id": "c", "path": "/c", "rate": "1/minute"}])")).ok());
  EXPECT_FALSE(MustCheck(*engine, Get("/a")).allowed);  // kept: still empty
  Decision b = MustCheck(*engine, Get("/b"));            // changed: fresh
  EXPECT_TRUE(b.allowed);
  EXPECT_EQ(b.limit, 2);
  EXPECT_TRUE(MustCheck(*engine, Get("/c")).allowed);
}

TEST(EngineTest, FailedReloadKeepsTheOldConfiguration) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "a", "path": "/a", "rate": "1/minute"}])"));
  absl::Status status =
      engine->Reload(ManualConfig(R"([{"id": "a", "path": "/a", "algorithm": "nope", "rate": "1/minute"}])"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rules[0].algorithm: unknown algorithm \"nope\""));
  EXPECT_TRUE(MustCheck(*engine, Get("/a")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("/a")).allowed);
}

TEST(EngineTest, ReloadUnderConcurrentChecksLosesNoDecision) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "a", "path": "/a", "rate": "1000000/minute"}])"));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, checks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        Decision d;
        if (!engine->Check(Get("/a"), &d).ok() || !d.matched) errors.fetch_add(1);
        checks.fetch_add(1);
      }
    });
  }
  while (checks.load() < 100) std::this_thread::yield();  // reload while checks run
  for (int i = 0; i < 50; ++i) {
    std::string rate = (i % 2) ? "1000000/minute" : "999999/minute";
    ASSERT_TRUE(engine->Reload(ManualConfig(absl::StrCat(
        R"([{"id": "a", "path": "/a", "rate": ")", rate, R"("}])"))).ok());
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(checks.load(), 0);
}

TEST(EngineTest, ReloadThatReplacesTheStorageUnderConcurrentChecks) {
  // Each reload changes a storage option, so a new storage is created and the
  // old one destroyed while other threads check (ASan/TSan watch the lifetimes).
  auto config = [](int max_keys) {
    return absl::StrCat(R"({"storage": {"type": "memory", "max_keys": )", max_keys,
                        R"(}, "rules": [{"id": "a", "path": "/a", "rate": "1000000/minute"}]})");
  };
  auto engine = MakeEngine(config(1000));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, checks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        Decision d;
        if (!engine->Check(Get("/a"), &d).ok() || !d.allowed || d.degraded) errors.fetch_add(1);
        checks.fetch_add(1);
      }
    });
  }
  while (checks.load() < 100) std::this_thread::yield();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(engine->Reload(config(1000 + i % 2)).ok());
  stop.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
}

// --- configuration errors that need the plugins ----------------------------

absl::Status CreateStatus(const std::string& config) {
  return Engine::Create(config).status();
}

TEST(EngineTest, UnknownAlgorithmNamesTheRuleAndTheLoadedOnes) {
  absl::Status status = CreateStatus(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/s"},
      {"id": "b", "path": "/b", "algorithm": "leaky", "rate": "1/s"}]})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rules[1].algorithm: unknown algorithm \"leaky\""));
  EXPECT_THAT(status.message(), HasSubstr("token_bucket"));
}

TEST(EngineTest, UnknownStorageNamesTheLoadedOnes) {
  absl::Status status = CreateStatus(R"({"storage": {"type": "etcd"}, "rules": []})");
  EXPECT_THAT(status.message(), HasSubstr("storage.type: unknown storage \"etcd\""));
  EXPECT_THAT(status.message(), HasSubstr("memory"));
}

TEST(EngineTest, AlgorithmThatRefusesBurstNamesThePlan) {
  absl::Status status = CreateStatus(R"({"rules": [{"id": "a", "path": "/a",
      "algorithm": "fixed_window", "rate": "1/s", "plans": {"pro": {"rate": "5/s", "burst": 9}}}]})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rules[0].plans.pro: "));
  EXPECT_THAT(status.message(), HasSubstr("burst"));
}

TEST(EngineTest, StorageOptionErrorsNameTheOption) {
  absl::Status status = CreateStatus(R"({"storage": {"type": "memory", "max_keys": "lots"}, "rules": []})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("storage.max_keys: "));
}

TEST(EngineTest, MissingPluginDirectoryNamesTheConfigPath) {
  absl::Status status = CreateStatus(R"({"plugin_paths": ["/nonexistent/limify"], "rules": []})");
  EXPECT_THAT(status.message(), HasSubstr("plugin_paths[0]: directory \"/nonexistent/limify\""));
}

TEST(EngineTest, CreateFromFileNamesTheFile) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::CreateFromFile("/nonexistent/limify.json");
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("/nonexistent/limify.json"));
}

}  // namespace
}  // namespace limify
