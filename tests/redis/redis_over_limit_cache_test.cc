// The over-limit cache ("over_limit_cache"), on a private server so that its
// INFO commandstats count this test's round trips only: a key Redis blocked
// is answered locally until its retry_after passes (no round trip, the same
// decision), never for a smaller cost, forgotten by Reset, bounded; and off
// by default.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

// Script calls the server has run (every check is one EVALSHA, or EVAL
// after a NOSCRIPT).
uint64_t ScriptCalls(int port) {
  const std::string stats = RedisCli(port, "INFO commandstats");
  uint64_t total = 0;
  for (const char* name : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
    const size_t at = stats.find(name);
    if (at != std::string::npos) total += std::stoull(stats.substr(at + std::strlen(name)));
  }
  return total;
}

// An engine on `server`, with the rule's script already loaded there (the
// first EVALSHA of a new server answers NOSCRIPT and is sent again as EVAL:
// two script calls for one check).
std::unique_ptr<Engine> MakeEngine(const LocalServer& server, const std::string& cache,
                                   const std::string& rate) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(absl::StrCat(
      R"({"storage": {"type": "redis", "url": ")", server.url(),
      R"(", "command_timeout_ms": 2000, "connect_timeout_ms": 2000)",
      cache.empty() ? "" : absl::StrCat(R"(, "over_limit_cache": )", cache),
      R"(}, "rules": [{"id": "r", "path": "/r", "rate": ")", rate, R"("}]})"));
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return nullptr;
  Request warm_up;
  warm_up.method = "GET";
  warm_up.path = "/r";
  warm_up.user_id = "warm-up";
  Decision d;
  EXPECT_TRUE((*engine)->Check(warm_up, &d).ok());
  return *std::move(engine);
}

Request Get(const std::string& user, int64_t cost = 1) {
  Request r;
  r.method = "GET";
  r.path = "/r";
  r.user_id = user;
  r.cost = cost;
  return r;
}

Decision MustCheck(Engine& engine, const Request& request) {
  Decision d;
  const absl::Status status = engine.Check(request, &d);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(d.degraded);
  return d;
}

TEST(OverLimitCacheTest, OffByDefaultEveryCheckIsARoundTrip) {
  LocalServer server;
  auto engine = MakeEngine(server, "", "3/minute");
  ASSERT_NE(engine, nullptr);
  const uint64_t before = ScriptCalls(server.port());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(MustCheck(*engine, Get("alice")).allowed, i < 3);
  EXPECT_EQ(ScriptCalls(server.port()) - before, 20u);
}

TEST(OverLimitCacheTest, ABlockedKeyIsAnsweredLocallyWithTheSameDecision) {
  LocalServer server;
  auto engine = MakeEngine(server, "true", "3/minute");
  ASSERT_NE(engine, nullptr);
  const uint64_t before = ScriptCalls(server.port());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed);
  const Decision first = MustCheck(*engine, Get("alice"));  // from Redis
  ASSERT_FALSE(first.allowed);
  ASSERT_GT(first.retry_after_us, 0);
  int64_t last_retry = first.retry_after_us;
  for (int i = 0; i < 50; ++i) {
    const Decision d = MustCheck(*engine, Get("alice"));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.limit, first.limit);
    EXPECT_EQ(d.remaining, first.remaining);
    EXPECT_EQ(d.period_us, first.period_us);
    EXPECT_EQ(d.rule_id.view(), "r");
    EXPECT_GT(d.retry_after_us, 0);
    EXPECT_LE(d.retry_after_us, last_retry) << "the wait shrinks as time passes";
    EXPECT_GE(d.reset_after_us, d.retry_after_us);
    last_retry = d.retry_after_us;
  }
  EXPECT_EQ(ScriptCalls(server.port()) - before, 4u) << "3 allowed + 1 blocked reached Redis";
  // Another identity is not affected.
  EXPECT_TRUE(MustCheck(*engine, Get("bob")).allowed);
  EXPECT_EQ(ScriptCalls(server.port()) - before, 5u);
}

TEST(OverLimitCacheTest, OnceTheRetryAfterPassesRedisDecidesAgain) {
  LocalServer server;
  auto engine = MakeEngine(server, "true", "2/second");  // token bucket: a token every 500 ms
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed);
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed);
  const Decision blocked = MustCheck(*engine, Get("alice"));
  ASSERT_FALSE(blocked.allowed);
  const uint64_t before = ScriptCalls(server.port());
  EXPECT_FALSE(MustCheck(*engine, Get("alice")).allowed);
  EXPECT_EQ(ScriptCalls(server.port()), before) << "answered by the cache";
  std::this_thread::sleep_for(std::chrono::microseconds(blocked.retry_after_us + 20'000));
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed) << "Redis allows again, and so do we";
  EXPECT_EQ(ScriptCalls(server.port()), before + 1);
}

TEST(OverLimitCacheTest, ABlockForACostSaysNothingAboutASmallerCost) {
  LocalServer server;
  auto engine = MakeEngine(server, "true", "5/minute");
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(MustCheck(*engine, Get("alice", 3)).allowed);  // 2 left
  EXPECT_FALSE(MustCheck(*engine, Get("alice", 3)).allowed);  // blocked for cost 3: cached
  const uint64_t before = ScriptCalls(server.port());
  EXPECT_FALSE(MustCheck(*engine, Get("alice", 4)).allowed);  // a larger cost: the cache
  EXPECT_EQ(ScriptCalls(server.port()), before);
  EXPECT_TRUE(MustCheck(*engine, Get("alice", 2)).allowed) << "a smaller cost goes to Redis";
  EXPECT_EQ(ScriptCalls(server.port()), before + 1);
}

TEST(OverLimitCacheTest, ResetThroughTheEngineForgetsTheBlock) {
  LocalServer server;
  auto engine = MakeEngine(server, "true", "1/hour");
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("alice")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("alice")).allowed);
  ASSERT_TRUE(engine->Reset(Get("alice")).ok());
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed) << "the reset is seen at once";
}

TEST(OverLimitCacheTest, AnotherProcessesResetIsNotSeenUntilTheRetryAfter) {
  // The documented limit of the cache: a reset it did not make.
  LocalServer server;
  auto engine = MakeEngine(server, "true", "1/hour");
  auto other = MakeEngine(server, "", "1/hour");
  ASSERT_NE(engine, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(MustCheck(*engine, Get("alice")).allowed);
  EXPECT_FALSE(MustCheck(*engine, Get("alice")).allowed);
  ASSERT_TRUE(other->Reset(Get("alice")).ok());
  EXPECT_FALSE(MustCheck(*engine, Get("alice")).allowed) << "still cached";
  EXPECT_TRUE(MustCheck(*other, Get("alice")).allowed) << "Redis itself was reset";
}

TEST(OverLimitCacheTest, TheCacheIsBounded) {
  LocalServer server;
  // 16 shards of one entry each: of 64 blocked identities at most 16 are
  // remembered, the others keep asking Redis.
  auto engine = MakeEngine(server, R"({"max_keys": 16})", "1/hour");
  ASSERT_NE(engine, nullptr);
  for (int u = 0; u < 64; ++u) {
    const std::string user = absl::StrCat("user-", u);
    EXPECT_TRUE(MustCheck(*engine, Get(user)).allowed);
    EXPECT_FALSE(MustCheck(*engine, Get(user)).allowed);
  }
  const uint64_t before = ScriptCalls(server.port());
  for (int u = 0; u < 64; ++u) {
    EXPECT_FALSE(MustCheck(*engine, Get(absl::StrCat("user-", u))).allowed);
  }
  const uint64_t asked = ScriptCalls(server.port()) - before;
  EXPECT_GE(asked, 64u - 16u);
  EXPECT_LT(asked, 64u) << "some blocks are cached";
}

TEST(OverLimitCacheTest, ABatchIsAnsweredFromTheCacheToo) {
  LocalServer server;
  auto engine = MakeEngine(server, "true", "1/hour");
  ASSERT_NE(engine, nullptr);
  const std::string alice = "alice", bob = "bob";  // a Request only views its strings
  std::vector<Request> batch;
  for (int i = 0; i < 8; ++i) batch.push_back(Get(i % 2 == 0 ? alice : bob));
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(decisions[i].allowed, i < 2) << i;
  const uint64_t before = ScriptCalls(server.port());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok());
    EXPECT_FALSE(decisions[i].allowed);
    EXPECT_FALSE(decisions[i].degraded);
  }
  EXPECT_EQ(ScriptCalls(server.port()), before);
}

}  // namespace
}  // namespace limify::testing
