// The bounds on outside input (engine/input_limits.h): just past each one is
// a clear error naming what and where; exactly at it is accepted.
#include "engine/input_limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace limify {
namespace {

using ::testing::HasSubstr;

Request Get(std::string_view path, std::string_view user_id = {}) {
  Request r;
  r.method = "GET";
  r.path = path;
  r.user_id = user_id;
  return r;
}

constexpr char kOneRule[] =
    R"({"clock": "manual", "rules": [{"id": "a", "path": "/a/**", "rate": "5/second"}]})";

TEST(InputLimits, ConfigLargerThanTheBoundIsRefused) {
  std::string config = kOneRule;
  config.append(kMaxConfigBytes + 1 - config.size(), ' ');  // whitespace: valid JSON
  const absl::Status status = ParseConfig(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("the most limify accepts is 16777216"));
  config.pop_back();
  EXPECT_TRUE(ParseConfig(config).ok());
}

TEST(InputLimits, TooManyRulesAreRefusedAtTheirPath) {
  // The count is checked before any rule is read: placeholders are enough.
  std::string rules = R"({"rules": [0)";
  for (size_t i = 1; i <= kMaxRules; ++i) rules += ",0";
  const absl::Status status = ParseConfig(rules + "]}").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rules: 100001 rules; the most limify accepts is 100000"));
  // One fewer is not refused for its count (but for what its first rule is).
  rules.resize(rules.size() - 2);
  EXPECT_THAT(ParseConfig(rules + "]}").status().message(), HasSubstr("rules[0]"));
}

TEST(InputLimits, LongPathPatternIsRefusedAtItsPath) {
  auto config = [](size_t length) {
    return absl::StrCat(R"({"rules": [{"id": "a", "rate": "1/second", "path": "/)",
                        std::string(length - 1, 'x'), R"("}]})");
  };
  const absl::Status status = ParseConfig(config(kMaxPathPatternBytes + 1)).status();
  EXPECT_THAT(status.message(), HasSubstr("rules[0].path: 4097 bytes long"));
  EXPECT_TRUE(ParseConfig(config(kMaxPathPatternBytes)).ok());
}

TEST(InputLimits, EachRequestFieldIsBoundedAndNamed) {
  auto engine = Engine::Create(kOneRule);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::string big(kMaxRequestFieldBytes + 1, 'x');
  std::string_view Request::*fields[] = {&Request::method,  &Request::path,
                                         &Request::user_id, &Request::org_id,
                                         &Request::api_key, &Request::client_ip,
                                         &Request::plan};
  const char* names[] = {"method", "path", "user_id", "org_id", "api_key", "client_ip", "plan"};
  for (size_t i = 0; i < 7; ++i) {
    Request request = Get("/a/1");
    request.*fields[i] = big;
    Decision decision;
    const absl::Status status = (*engine)->Check(request, &decision);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << names[i];
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(names[i], " is 65537 bytes long")));
  }
}

TEST(InputLimits, TenKilobyteIdentitiesAreAcceptedAndKeptApart) {
  auto engine = Engine::Create(kOneRule);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::string a(10 * 1024, 'a');
  std::string b = a;
  b.back() = 'b';  // differs only in its last byte
  Decision decision;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*engine)->Check(Get("/a/1", a), &decision).ok());
    EXPECT_TRUE(decision.allowed);
  }
  ASSERT_TRUE((*engine)->Check(Get("/a/1", a), &decision).ok());
  EXPECT_FALSE(decision.allowed);
  ASSERT_TRUE((*engine)->Check(Get("/a/1", b), &decision).ok());
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.remaining, 4);
}

TEST(InputLimits, CheckKeyIdentityIsBounded) {
  auto engine = Engine::Create(kOneRule);
  ASSERT_TRUE(engine.ok()) << engine.status();
  Decision decision;
  const absl::Status status =
      (*engine)->CheckKey("a", std::string(kMaxRequestFieldBytes + 1, 'k'), 1, &decision);
  EXPECT_THAT(status.message(), HasSubstr("identity is 65537 bytes long"));
  EXPECT_TRUE((*engine)->CheckKey("a", std::string(kMaxRequestFieldBytes, 'k'), 1, &decision).ok());
}

}  // namespace
}  // namespace limify
