// The configuration parser: the documented example parses into the expected
// model, and every mistake is reported with its JSON path.
#include "engine/config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace limify {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kS = 1'000'000;

constexpr const char kExample[] = R"json({
  "storage": {"type": "memory"},
  "clock": "system",
  "plugin_paths": ["/opt/limify/plugins"],
  "identity": {"order": ["user_id", "org_id", "api_key", "client_ip"], "hash": "sha256"},
  "failure_mode": "open",
  "rules": [
    {"id": "items", "method": "*", "path": "/items/**", "priority": 10,
     "algorithm": "token_bucket", "rate": "10/minute", "burst": 20,
     "plans": {"pro": "100/minute", "enterprise": ["50/second", "100000/day"]}}
  ],
  "default_rule": {"id": "default", "rate": "5/minute"},
  "identity_plans": {"user_id": {"42": "pro"}, "api_key": {"k1": "enterprise"}}
})json";

Config Parsed(std::string_view text) {
  absl::StatusOr<Config> c = ParseConfig(text);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : Config{};
}

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<Config> c = ParseConfig(text);
  EXPECT_FALSE(c.ok()) << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

// A config with one rule whose body is `rule_fields` (plus id and path unless given).
std::string OneRule(std::string_view rule_fields) {
  return R"({"rules": [{"id": "r", "path": "/x", )" + std::string(rule_fields) + "}]}";
}

std::string RateError(std::string_view path, std::string_view unit) {
  return std::string(path) + ": unknown unit \"" + std::string(unit) +
         "\" (expected second, minute, hour, day, week, or a window like \"100/30s\")";
}

TEST(ParseConfig, TheDocumentedExampleParsesIntoTheExpectedModel) {
  const Config c = Parsed(kExample);
  EXPECT_EQ(c.storage.type, "memory");
  EXPECT_EQ(c.storage.options_json, "{}");
  EXPECT_EQ(c.clock, ClockKind::kSystem);
  EXPECT_THAT(c.plugin_paths, ElementsAre("/opt/limify/plugins"));
  EXPECT_THAT(c.identity.order, ElementsAre(IdentityKind::kUserId, IdentityKind::kOrgId,
                                            IdentityKind::kApiKey, IdentityKind::kClientIp));
  EXPECT_EQ(c.identity.hash, IdentityHash::kSha256);
  EXPECT_EQ(c.identity.secret, "");
  EXPECT_EQ(c.failure_mode, FailureMode::kOpen);

  ASSERT_EQ(c.rules.size(), 1u);
  const RuleConfig& r = c.rules[0];
  EXPECT_EQ(r.id, "items");
  EXPECT_THAT(r.methods, IsEmpty());
  EXPECT_EQ(r.path, "/items/**");
  EXPECT_EQ(r.priority, 10);
  EXPECT_EQ(r.algorithm, "token_bucket");
  EXPECT_THAT(r.limits.rates, ElementsAre(Rate{10, 60 * kS}));
  EXPECT_EQ(r.limits.burst, 20);
  EXPECT_EQ(r.limits.json_path, "rules[0]");
  EXPECT_EQ(r.json_path, "rules[0]");
  ASSERT_EQ(r.plans.size(), 2u);
  EXPECT_EQ(r.plans[0].first, "pro");
  EXPECT_THAT(r.plans[0].second.rates, ElementsAre(Rate{100, 60 * kS}));
  EXPECT_EQ(r.plans[0].second.burst, 0);
  EXPECT_EQ(r.plans[0].second.json_path, "rules[0].plans.pro");
  EXPECT_EQ(r.plans[1].first, "enterprise");
  EXPECT_THAT(r.plans[1].second.rates,
              ElementsAre(Rate{50, kS}, Rate{100000, 86400 * kS}));
  EXPECT_EQ(r.plans[1].second.json_path, "rules[0].plans.enterprise");

  ASSERT_TRUE(c.default_rule.has_value());
  EXPECT_EQ(c.default_rule->id, "default");
  EXPECT_EQ(c.default_rule->path, "");
  EXPECT_THAT(c.default_rule->methods, IsEmpty());
  EXPECT_EQ(c.default_rule->algorithm, "token_bucket");
  EXPECT_THAT(c.default_rule->limits.rates, ElementsAre(Rate{5, 60 * kS}));
  EXPECT_EQ(c.default_rule->json_path, "default_rule");
  EXPECT_EQ(c.default_rule->limits.json_path, "default_rule");

  EXPECT_THAT(c.identity_plans,
              UnorderedElementsAre(
                  Pair(IdentityKind::kUserId, UnorderedElementsAre(Pair("42", "pro"))),
                  Pair(IdentityKind::kApiKey, UnorderedElementsAre(Pair("k1", "enterprise")))));
}

TEST(ParseConfig, AnEmptyObjectGivesTheDefaults) {
  const Config c = Parsed("{}");
  EXPECT_EQ(c.storage.type, "memory");
  EXPECT_EQ(c.storage.options_json, "{}");
  EXPECT_EQ(c.clock, ClockKind::kSystem);
  EXPECT_THAT(c.plugin_paths, IsEmpty());
  EXPECT_THAT(c.identity.order, ElementsAre(IdentityKind::kUserId, IdentityKind::kOrgId,
                                            IdentityKind::kApiKey, IdentityKind::kClientIp));
  EXPECT_EQ(c.identity.hash, IdentityHash::kSha256);
  EXPECT_EQ(c.failure_mode, FailureMode::kOpen);
  EXPECT_THAT(c.rules, IsEmpty());
  EXPECT_FALSE(c.default_rule.has_value());
  EXPECT_THAT(c.identity_plans, IsEmpty());
}

TEST(ParseConfig, RuleFieldsTakeTheirDefaults) {
  const Config c = Parsed(OneRule(R"("rate": "1/s")"));
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_THAT(c.rules[0].methods, IsEmpty());
  EXPECT_EQ(c.rules[0].priority, 0);
  EXPECT_EQ(c.rules[0].algorithm, "token_bucket");
  EXPECT_EQ(c.rules[0].limits.burst, 0);
  EXPECT_THAT(c.rules[0].plans, IsEmpty());
}

TEST(ParseConfig, ManualClockClosedFailureModeAndOtherAlgorithm) {
  const Config c = Parsed(
      R"({"clock": "manual", "failure_mode": "closed",
          "rules": [{"id": "a", "path": "/", "rate": "1/s", "algorithm": "sliding_window_2"}]})");
  EXPECT_EQ(c.clock, ClockKind::kManual);
  EXPECT_EQ(c.failure_mode, FailureMode::kClosed);
  EXPECT_EQ(c.rules[0].algorithm, "sliding_window_2");
}

TEST(ParseConfig, StorageOptionsAreKeptWithoutTheType) {
  const Config c = Parsed(
      R"({"storage": {"url": "redis://127.0.0.1:6379", "type": "redis", "timeout_ms": 50,
                      "tls": {"verify": true}}})");
  EXPECT_EQ(c.storage.type, "redis");
  EXPECT_EQ(c.storage.options_json,
            R"({"url":"redis://127.0.0.1:6379","timeout_ms":50,"tls":{"verify":true}})");
}

TEST(ParseConfig, StorageErrors) {
  EXPECT_EQ(ErrorOf(R"({"storage": {"type": 5}})"), "storage.type: expected a string, got 5");
  EXPECT_EQ(ErrorOf(R"({"storage": {"url": "x"}})"),
            "storage.type: missing (the storage plugin's name, e.g. \"memory\")");
  EXPECT_EQ(ErrorOf(R"({"storage": {"type": "Red is"}})"),
            "storage.type: invalid storage name \"Red is\" (expected lower-case letters, "
            "digits and _)");
  EXPECT_EQ(ErrorOf(R"({"storage": "memory"})"),
            "storage: expected an object, got \"memory\"");
}

TEST(ParseConfig, MalformedJsonReportsTheByte) {
  EXPECT_EQ(ErrorOf(R"({"rules": [})"),
            "config: invalid JSON at byte 12: line 1, column 12: syntax error while parsing "
            "value - unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(ErrorOf(""),
            "config: invalid JSON at byte 1: line 1, column 1: syntax error while parsing "
            "value - unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(ErrorOf("{} x"),
            "config: invalid JSON at byte 4: line 1, column 4: syntax error while parsing "
            "value - invalid literal; last read: '{} x'; expected end of input");
}

TEST(ParseConfig, ANumberTooLargeForADoubleIsInvalidJson) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"priority": 1e400}]})"),
            "config: invalid JSON at byte 25: number overflow parsing '1e400'");
}

TEST(ParseConfig, MalformedJsonErrorsArePrintable) {
  const std::string error = ErrorOf("{\"a\": \"\xff\"}");
  EXPECT_THAT(error, ::testing::StartsWith("config: invalid JSON at byte "));
  EXPECT_THAT(error, ::testing::HasSubstr("\\xff"));
  for (unsigned char ch : error) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << error;
}

TEST(ParseConfig, TheRootMustBeAnObject) {
  EXPECT_EQ(ErrorOf("[]"), "config: expected a JSON object, got an empty list");
  EXPECT_EQ(ErrorOf("\"x\""), "config: expected a JSON object, got \"x\"");
  EXPECT_EQ(ErrorOf("null"), "config: expected a JSON object, got null");
}

TEST(ParseConfig, DuplicateJsonKeysAreErrorsNamingTheObject) {
  EXPECT_EQ(ErrorOf(R"({"clock": "system", "clock": "manual"})"),
            "config: duplicate key \"clock\"");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a"}, {"id": "b", "rate": "1/s", "rate": "2/s"}]})"),
            "rules[1]: duplicate key \"rate\"");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"plans": {"p": {"rate": "1/s", "rate": "1/s"}}}]})"),
            "rules[0].plans.p: duplicate key \"rate\"");
}

TEST(ParseConfig, DeepNestingIsRefused) {
  const std::string deep = R"({"storage": {"type": "memory", "x": )" + std::string(100, '[') +
                           std::string(100, ']') + "}}";
  EXPECT_EQ(ErrorOf(deep), "config: nesting deeper than 64 levels");
}

TEST(ParseConfig, UnknownKeysAreErrorsAtEveryLevel) {
  EXPECT_EQ(ErrorOf(R"({"rule": []})"),
            "rule: unknown key (expected storage, clock, plugin_paths, identity, "
            "failure_mode, circuit_breaker, rules, default_rule, identity_plans)");
  EXPECT_EQ(ErrorOf(OneRule(R"("ratee": "1/s")")),
            "rules[0].ratee: unknown key (expected id, method, path, priority, algorithm, "
            "rate, burst, plans)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": {"rate": "2/s", "brust": 3}})")),
            "rules[0].plans.pro.brust: unknown key (expected rate, burst)");
  EXPECT_EQ(ErrorOf(R"({"default_rule": {"rate": "1/s", "limit": 5}})"),
            "default_rule.limit: unknown key (expected id, algorithm, rate, burst, plans)");
  EXPECT_EQ(ErrorOf(R"({"identity": {"hmac": "x"}})"),
            "identity.hmac: unknown key (expected order, hash, secret)");
  EXPECT_EQ(ErrorOf(R"({"identity_plans": {"email": {}}})"),
            "identity_plans.email: unknown key (expected user_id, org_id, api_key, client_ip)");
  EXPECT_EQ(ErrorOf(R"({"odd key": 1})"),
            "[\"odd key\"]: unknown key (expected storage, clock, plugin_paths, identity, "
            "failure_mode, circuit_breaker, rules, default_rule, identity_plans)");
}

TEST(ParseConfig, RateErrorsArePrefixedWithTheirPath) {
  EXPECT_EQ(ErrorOf(R"({"rules": [
      {"id": "a", "path": "/a", "rate": "1/s"},
      {"id": "b", "path": "/b", "rate": "1/s"},
      {"id": "c", "path": "/c", "rate": "10/fortnight"}]})"),
            RateError("rules[2].rate", "fortnight"));
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": ["1/s", "5/eon"])")), RateError("rules[0].rate[1]", "eon"));
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": "2/eon"})")),
            RateError("rules[0].plans.pro", "eon"));
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": ["2/s", "3/eon"]})")),
            RateError("rules[0].plans.pro[1]", "eon"));
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": {"rate": "2/eon"}})")),
            RateError("rules[0].plans.pro.rate", "eon"));
  EXPECT_EQ(ErrorOf(R"({"default_rule": {"rate": "0/s"}})"),
            "default_rule.rate: count must be a positive integer, got \"0\"");
}

TEST(ParseConfig, RateShapes) {
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": 10)")),
            "rules[0].rate: expected a rate string or a non-empty list of rate strings, got 10");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": [])")),
            "rules[0].rate: expected a rate string or a non-empty list of rate strings, got an "
            "empty list");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": ["1/s", 2])")),
            "rules[0].rate[1]: expected a rate string like \"10/minute\", got 2");
  EXPECT_EQ(ErrorOf(OneRule(
                R"("rate": ["1/s","2/s","3/s","4/s","5/s","6/s","7/s","8/s","9/s"])")),
            "rules[0].rate: at most 8 rates, got 9");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": ["10/minute", "1/s", "10/60s"])")),
            "rules[0].rate[2]: duplicate rate \"10/1m\" (same as rules[0].rate[0])");
  EXPECT_EQ(ErrorOf(OneRule(R"("priority": 1)")),
            "rules[0].rate: missing (every rule needs a rate, e.g. \"10/minute\")");
  const Config c = Parsed(OneRule(R"("rate": ["1/s","2/s","3/s","4/s","5/s","6/s","7/s","8/s"])"));
  EXPECT_EQ(c.rules[0].limits.rates.size(), 8u);
}

TEST(ParseConfig, TypeErrorsSayWhatWasExpectedAndWhatWasFound) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "path": "/", "rate": "1/s"},
                                   {"id": "b", "path": "/", "rate": "1/s", "priority": "high"}]})"),
            "rules[1].priority: expected an integer, got \"high\"");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "priority": 1.5)")),
            "rules[0].priority: expected an integer, got 1.5");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "priority": 18446744073709551615)")),
            "rules[0].priority: expected an integer that fits in 64 bits, got "
            "18446744073709551615");
  EXPECT_EQ(ErrorOf(R"({"rules": {}})"), "rules: expected a list of rules, got an object");
  EXPECT_EQ(ErrorOf(R"({"rules": [5]})"), "rules[0]: expected an object, got 5");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": 5, "path": "/", "rate": "1/s"}]})"),
            "rules[0].id: expected a string, got 5");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "algorithm": null)")),
            "rules[0].algorithm: expected a string, got null");
  const std::string long_value(100, 'x');
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "priority": ")" + long_value + "\"")),
            "rules[0].priority: expected an integer, got \"" + std::string(63, 'x') + "...");
}

TEST(ParseConfig, NegativePrioritiesAreAllowed) {
  EXPECT_EQ(Parsed(OneRule(R"("rate": "1/s", "priority": -5)")).rules[0].priority, -5);
}

TEST(ParseConfig, RuleIdsAreCheckedAndUnique) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"path": "/", "rate": "1/s"}]})"),
            "rules[0].id: missing (every rule needs an id)");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a b", "path": "/", "rate": "1/s"}]})"),
            "rules[0].id: invalid id \"a b\" (expected 1 to 64 characters from A-Z a-z 0-9 _ . -)");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "", "path": "/", "rate": "1/s"}]})"),
            "rules[0].id: invalid id \"\" (expected 1 to 64 characters from A-Z a-z 0-9 _ . -)");
  const std::string id65(65, 'a');
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": ")" + id65 + R"(", "path": "/", "rate": "1/s"}]})"),
            "rules[0].id: invalid id \"" + id65 +
                "\" (expected 1 to 64 characters from A-Z a-z 0-9 _ . -)");
  EXPECT_EQ(Parsed(R"({"rules": [{"id": "Az09_.-", "path": "/", "rate": "1/s"}]})").rules[0].id,
            "Az09_.-");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/s"},
                                   {"id": "b", "path": "/b", "rate": "1/s"},
                                   {"id": "a", "path": "/c", "rate": "1/s"}]})"),
            "rules[2].id: duplicate rule id \"a\" (already used by rules[0])");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "default", "path": "/a", "rate": "1/s"}],
                        "default_rule": {"rate": "1/s"}})"),
            "default_rule.id: rule id \"default\" is already used by rules[0]");
}

TEST(ParseConfig, MethodsAreStarATokenOrAList) {
  EXPECT_THAT(Parsed(OneRule(R"("rate": "1/s", "method": "*")")).rules[0].methods, IsEmpty());
  EXPECT_THAT(Parsed(OneRule(R"("rate": "1/s", "method": ["*"])")).rules[0].methods, IsEmpty());
  EXPECT_THAT(Parsed(OneRule(R"("rate": "1/s", "method": "get")")).rules[0].methods,
              ElementsAre("GET"));
  EXPECT_THAT(Parsed(OneRule(R"("rate": "1/s", "method": ["get", "Post", "PURGE"])")).rules[0].methods,
              ElementsAre("GET", "POST", "PURGE"));
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": ["GET", "*"])")),
            "rules[0].method[1]: \"*\" must stand alone (it already means every method)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": [])")),
            "rules[0].method: expected \"*\", a method like \"GET\" or a non-empty list of "
            "methods, got an empty list");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": "")")),
            "rules[0].method: expected \"*\", a method like \"GET\" or a non-empty list of "
            "methods, got \"\"");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": "GE T")")),
            "rules[0].method: expected \"*\", a method like \"GET\" or a non-empty list of "
            "methods, got \"GE T\"");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": ["GET", 1])")),
            "rules[0].method[1]: expected a method like \"GET\", got 1");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "method": ["GET", "get"])")),
            "rules[0].method[1]: duplicate method \"GET\"");
}

TEST(ParseConfig, PathsAreRequiredNonEmptyAndWholeSegmentGlobs) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "rate": "1/s"}]})"),
            "rules[0].path: missing (every rule needs a path, e.g. \"/items/**\")");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "path": "", "rate": "1/s"}]})"),
            "rules[0].path: empty pattern (use \"/\" for the root or \"/**\" for every path)");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "path": "/api/v*", "rate": "1/s"}]})"),
            "rules[0].path: partial-segment glob \"v*\" (use \"*\" or \"**\" as a whole segment)");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "a", "path": 3, "rate": "1/s"}]})"),
            "rules[0].path: expected a string, got 3");
}

TEST(ParseConfig, AlgorithmNamesArePluginNames) {
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "algorithm": "Token-Bucket")")),
            "rules[0].algorithm: invalid algorithm name \"Token-Bucket\" (expected lower-case "
            "letters, digits and _)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "algorithm": "")")),
            "rules[0].algorithm: invalid algorithm name \"\" (expected lower-case letters, "
            "digits and _)");
}

TEST(ParseConfig, BurstIsAPositiveIntegerUpToTheMaximum) {
  EXPECT_EQ(Parsed(OneRule(R"("rate": "1/s", "burst": 1000000000)")).rules[0].limits.burst,
            kMaxRateCount);
  for (const char* bad : {"0", "-1", "1000000001", "2.5", "\"5\""}) {
    EXPECT_EQ(ErrorOf(OneRule(std::string(R"("rate": "1/s", "burst": )") + bad)),
              std::string("rules[0].burst: expected a positive integer up to 1000000000, got ") +
                  bad);
  }
}

TEST(ParseConfig, PlansTakeEveryFormAndKeepDeclarationOrder) {
  const Config c = Parsed(OneRule(R"("rate": "1/s", "plans": {
      "zeta": "2/s",
      "alpha": ["3/s", "100/day"],
      "pro.v2": {"rate": "4/s", "burst": 9},
      "team": {"rate": ["5/s", "6/minute"]}})"));
  const auto& plans = c.rules[0].plans;
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].first, "zeta");
  EXPECT_THAT(plans[0].second.rates, ElementsAre(Rate{2, kS}));
  EXPECT_EQ(plans[1].first, "alpha");
  EXPECT_THAT(plans[1].second.rates, ElementsAre(Rate{3, kS}, Rate{100, 86400 * kS}));
  EXPECT_EQ(plans[2].first, "pro.v2");
  EXPECT_THAT(plans[2].second.rates, ElementsAre(Rate{4, kS}));
  EXPECT_EQ(plans[2].second.burst, 9);
  EXPECT_EQ(plans[2].second.json_path, "rules[0].plans[\"pro.v2\"]");
  EXPECT_EQ(plans[3].first, "team");
  EXPECT_THAT(plans[3].second.rates, ElementsAre(Rate{5, kS}, Rate{6, 60 * kS}));
  EXPECT_EQ(plans[3].second.burst, 0);
}

TEST(ParseConfig, PlanErrors) {
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"default": "2/s"})")),
            "rules[0].plans.default: the plan name \"default\" is reserved (it is the rule's "
            "own rate)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"a b": "2/s"})")),
            "rules[0].plans[\"a b\"]: invalid plan id (expected 1 to 64 characters from A-Z "
            "a-z 0-9 _ . -)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": 5})")),
            "rules[0].plans.pro: expected a rate string, a list of rate strings or an object "
            "{\"rate\": ..., \"burst\": N}, got 5");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": {"burst": 5}})")),
            "rules[0].plans.pro.rate: missing (a plan needs a rate)");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": {"pro": {"rate": "2/s", "burst": 0}})")),
            "rules[0].plans.pro.burst: expected a positive integer up to 1000000000, got 0");
  EXPECT_EQ(ErrorOf(OneRule(R"("rate": "1/s", "plans": ["pro"])")),
            "rules[0].plans: expected an object, got a list");
}

TEST(ParseConfig, TheDefaultRuleHasNoMethodPathOrPriority) {
  const Config c = Parsed(R"({"default_rule": {"id": "fallback", "algorithm": "gcra",
      "rate": ["5/minute", "100/day"], "burst": 7, "plans": {"pro": "50/minute"}}})");
  ASSERT_TRUE(c.default_rule.has_value());
  EXPECT_EQ(c.default_rule->id, "fallback");
  EXPECT_EQ(c.default_rule->algorithm, "gcra");
  EXPECT_THAT(c.default_rule->limits.rates, ElementsAre(Rate{5, 60 * kS}, Rate{100, 86400 * kS}));
  EXPECT_EQ(c.default_rule->limits.burst, 7);
  ASSERT_EQ(c.default_rule->plans.size(), 1u);
  EXPECT_EQ(c.default_rule->plans[0].second.json_path, "default_rule.plans.pro");
  for (const char* key : {"method", "path", "priority"}) {
    EXPECT_EQ(ErrorOf(std::string(R"({"default_rule": {"rate": "1/s", ")") + key + R"(": "x"}})"),
              std::string("default_rule.") + key +
                  ": unknown key (the default rule applies to every request no rule matches; "
                  "expected id, algorithm, rate, burst, plans)");
  }
  EXPECT_EQ(ErrorOf(R"({"default_rule": {}})"),
            "default_rule.rate: missing (every rule needs a rate, e.g. \"10/minute\")");
  EXPECT_EQ(ErrorOf(R"({"default_rule": "5/minute"})"),
            "default_rule: expected an object, got \"5/minute\"");
}

TEST(ParseConfig, IdentityOrderIsANonEmptyListOfUniqueKnownNames) {
  EXPECT_THAT(Parsed(R"({"identity": {"order": ["client_ip", "api_key"]}})").identity.order,
              ElementsAre(IdentityKind::kClientIp, IdentityKind::kApiKey));
  EXPECT_EQ(ErrorOf(R"({"identity": {"order": []}})"),
            "identity.order: expected a non-empty list of identity names, got an empty list");
  EXPECT_EQ(ErrorOf(R"({"identity": {"order": ["user_id", "email"]}})"),
            "identity.order[1]: expected one of user_id, org_id, api_key, client_ip, got "
            "\"email\"");
  EXPECT_EQ(ErrorOf(R"({"identity": {"order": ["user_id", "api_key", "user_id"]}})"),
            "identity.order[2]: duplicate identity \"user_id\"");
  EXPECT_EQ(ErrorOf(R"({"identity": []})"), "identity: expected an object, got an empty list");
}

TEST(ParseConfig, IdentityHashAndSecret) {
  const Config hmac = Parsed(R"({"identity": {"hash": "hmac-sha256", "secret": "s3cret"}})");
  EXPECT_EQ(hmac.identity.hash, IdentityHash::kHmacSha256);
  EXPECT_EQ(hmac.identity.secret, "s3cret");
  const Config implied = Parsed(R"({"identity": {"secret": "s3cret"}})");
  EXPECT_EQ(implied.identity.hash, IdentityHash::kHmacSha256);
  EXPECT_EQ(implied.identity.secret, "s3cret");
  EXPECT_EQ(Parsed(R"({"identity": {"hash": "sha256"}})").identity.hash, IdentityHash::kSha256);

  EXPECT_EQ(ErrorOf(R"({"identity": {"hash": "md5"}})"),
            "identity.hash: expected \"sha256\" or \"hmac-sha256\", got \"md5\"");
  EXPECT_EQ(ErrorOf(R"({"identity": {"hash": "hmac-sha256"}})"),
            "identity.secret: missing (identity.hash \"hmac-sha256\" needs a secret)");
  EXPECT_EQ(ErrorOf(R"({"identity": {"hash": "sha256", "secret": "s"}})"),
            "identity.secret: not used with identity.hash \"sha256\" (set hash to "
            "\"hmac-sha256\" or remove the secret)");
  EXPECT_EQ(ErrorOf(R"({"identity": {"secret": ""}})"),
            "identity.secret: expected a non-empty string, got \"\"");
}

TEST(ParseConfig, ClockFailureModeAndPluginPaths) {
  EXPECT_EQ(ErrorOf(R"({"clock": "wall"})"),
            "clock: expected \"system\" or \"manual\", got \"wall\"");
  EXPECT_EQ(ErrorOf(R"({"failure_mode": true})"),
            "failure_mode: expected \"open\" or \"closed\", got true");
  EXPECT_EQ(ErrorOf(R"({"plugin_paths": "/opt"})"),
            "plugin_paths: expected a list of strings, got \"/opt\"");
  EXPECT_EQ(ErrorOf(R"({"plugin_paths": ["/opt", ""]})"),
            "plugin_paths[1]: expected a non-empty string, got \"\"");
  EXPECT_THAT(Parsed(R"({"plugin_paths": ["/a", "/b"]})").plugin_paths, ElementsAre("/a", "/b"));
}

TEST(ParseConfig, IdentityPlansMapIdentitiesToDefinedPlans) {
  const std::string rules = R"("rules": [{"id": "r", "path": "/", "rate": "1/s",
                                          "plans": {"pro": "2/s"}}],
                               "default_rule": {"rate": "1/s", "plans": {"gold": "9/s"}})";
  const Config c = Parsed("{" + rules + R"(, "identity_plans": {
      "org_id": {"acme": "gold"}, "client_ip": {"10.0.0.1": "default", "10.0.0.2": "pro"}}})");
  EXPECT_THAT(c.identity_plans,
              UnorderedElementsAre(
                  Pair(IdentityKind::kOrgId, UnorderedElementsAre(Pair("acme", "gold"))),
                  Pair(IdentityKind::kClientIp,
                       UnorderedElementsAre(Pair("10.0.0.1", "default"), Pair("10.0.0.2", "pro")))));
  EXPECT_EQ(ErrorOf("{" + rules + R"(, "identity_plans": {"user_id": {"42": "por"}}})"),
            "identity_plans.user_id.42: plan \"por\" is not defined by any rule");
  EXPECT_EQ(ErrorOf("{" + rules + R"(, "identity_plans": {"user_id": {"42": 1}}})"),
            "identity_plans.user_id.42: expected a plan id, got 1");
  EXPECT_EQ(ErrorOf("{" + rules + R"(, "identity_plans": {"user_id": {"": "pro"}}})"),
            "identity_plans.user_id[\"\"]: empty identity value (identities are never empty)");
  EXPECT_EQ(ErrorOf(R"({"identity_plans": {"user_id": ["42"]}})"),
            "identity_plans.user_id: expected an object, got a list");
}

TEST(IdentityKindName, NamesEveryKindAsTheConfigSpellsIt) {
  EXPECT_EQ(IdentityKindName(IdentityKind::kUserId), "user_id");
  EXPECT_EQ(IdentityKindName(IdentityKind::kOrgId), "org_id");
  EXPECT_EQ(IdentityKindName(IdentityKind::kApiKey), "api_key");
  EXPECT_EQ(IdentityKindName(IdentityKind::kClientIp), "client_ip");
}

}  // namespace
}  // namespace limify
