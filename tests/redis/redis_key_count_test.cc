// key_count on Redis (the engine's "keys" metric): SCAN for this storage's
// keys only, on a server and on every master of the cluster; keys of other
// applications and of another key_prefix are not counted.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "nlohmann/json.hpp"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

std::unique_ptr<Engine> MakeEngine(const std::string& url, const std::string& prefix) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(absl::StrCat(
      R"({"storage": {"type": "redis", "url": ")", url, R"(", "key_prefix": ")", prefix,
      R"(", "command_timeout_ms": 2000, "connect_timeout_ms": 2000},)",
      R"( "rules": [{"id": "k", "path": "/k", "rate": ["10/hour", "20/day"]}]})"));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

nlohmann::json Keys(const Engine& engine) {
  absl::StatusOr<std::string> stats = engine.Stats(StatsFormat::kJson);
  EXPECT_TRUE(stats.ok()) << stats.status();
  return stats.ok() ? nlohmann::json::parse(*stats)["keys"] : nlohmann::json();
}

void CheckUsers(Engine& engine, int n) {
  for (int u = 0; u < n; ++u) {
    Request r;
    r.method = "GET";
    r.path = "/k";
    const std::string user = absl::StrCat("user-", u);
    r.user_id = user;
    Decision d;
    ASSERT_TRUE(engine.Check(r, &d).ok());
    ASSERT_FALSE(d.degraded);
  }
}

TEST(RedisKeyCountTest, CountsThisStoragesKeysOnly) {
  LocalServer server;
  for (int i = 0; i < 5; ++i) RedisCli(server.port(), absl::StrCat("SET other-app:", i, " x"));
  auto engine = MakeEngine(server.url(), "app1:");
  auto other = MakeEngine(server.url(), "app2:");
  ASSERT_NE(engine, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Keys(*engine), 0);
  CheckUsers(*engine, 7);  // two limits: two keys each
  CheckUsers(*other, 3);
  EXPECT_EQ(Keys(*engine), 14);
  EXPECT_EQ(Keys(*other), 6);
}

TEST(RedisKeyCountTest, CountsOnEveryMasterOfTheCluster) {
  auto engine = MakeEngine(ServerUrl("c1"), UniqueName("count") + ":");
  ASSERT_NE(engine, nullptr);
  CheckUsers(*engine, 40);  // spread over the three masters
  EXPECT_EQ(Keys(*engine), 80);
}

TEST(RedisKeyCountTest, AServerThatIsDownGivesNoCountRatherThanAWrongOne) {
  LocalServer server;
  auto engine = MakeEngine(server.url(), "down:");
  ASSERT_NE(engine, nullptr);
  server.Kill();
  EXPECT_TRUE(Keys(*engine).is_null());
}

}  // namespace
}  // namespace limify::testing
