// The redis storage through its ABI on a real server, on Redis's own clock:
// decisions, multi-limit all-or-nothing, expiry, NOSCRIPT recovery, remove,
// key prefix, Unix sockets, AUTH and SELECT, cluster-mode mismatches, and a
// whole engine on top.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

int64_t ServerNow(redis::RedisStorage& storage) {
  redis::ReplyPtr reply;
  std::string error;
  if (storage.Command("", {"TIME"}, &reply, &error) != LIMIFY_PLUGIN_OK) {
    throw std::runtime_error(error);
  }
  return std::stoll(reply->element[0]->str) * 1'000'000 + std::stoll(reply->element[1]->str);
}

// Long windows, so a test run never sees one end: the decisions then do not
// depend on timing, and the durations only by the time between two calls.
void ExpectSameOnRealTime(const StepResult& want, const StepResult& got, int step) {
  SCOPED_TRACE(::testing::Message() << "step " << step << ": want " << want << " got " << got);
  ASSERT_EQ(got.code, LIMIFY_PLUGIN_OK) << got.error;
  EXPECT_EQ(got.verdict.allowed, want.verdict.allowed);
  EXPECT_EQ(got.verdict.limit, want.verdict.limit);
  EXPECT_EQ(got.verdict.remaining, want.verdict.remaining);
  EXPECT_EQ(got.verdict.binding_limit, want.verdict.binding_limit);
  constexpr int64_t kSlack = 2 * kSecond;
  EXPECT_NEAR(got.verdict.reset_after_us, want.verdict.reset_after_us, kSlack);
  if (want.verdict.retry_after_us == LIMIFY_RETRY_NEVER) {
    EXPECT_EQ(got.verdict.retry_after_us, LIMIFY_RETRY_NEVER);
  } else {
    EXPECT_NEAR(got.verdict.retry_after_us, want.verdict.retry_after_us, kSlack);
  }
}

class RealTimeTest : public ::testing::TestWithParam<bool /*native*/> {};

TEST_P(RealTimeTest, EveryAlgorithmDecidesAsTheReferenceOnRedisTime) {
  const bool native = GetParam();
  PluginStorage storage(Options(ServerUrl("main"), native ? "" : "\"native\": false"));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  auto probe = MakeCore(Options(ServerUrl("main")));
  for (const std::string& algorithm : AllAlgorithms()) {
    // Two limits: 4 per hour and 6 per day (a burst of 5 for the bucket kinds).
    const int64_t burst = algorithm == "token_bucket" || algorithm == "gcra" ? 5 : 0;
    const Rule rule = MakeRule(algorithm, {Spec(4, kHour, burst), Spec(6, kDay)},
                               UniqueName("rt-" + algorithm));
    Reference reference;
    const int64_t costs[] = {1, 2, 1, 1, 1, 9, 1};
    for (int i = 0; i < 7; ++i) {
      const bool peek = i == 2;
      const StepResult want = reference.Step(rule, ServerNow(*probe), costs[i], peek);
      ExpectSameOnRealTime(want, storage.Step(rule, costs[i], peek), i);
      if (HasFatalFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, RealTimeTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Native" : "Generic"; });

TEST(RedisStorageTest, MultiLimitConsumesNothingUnlessAllAllow) {
  for (const char* extra : {"", "\"native\": false"}) {
    auto storage = MakeCore(Options(ServerUrl("main"), extra));
    const Rule rule =
        MakeRule("fixed_window", {Spec(10, kDay), Spec(2, kHour)}, UniqueName("multi"));
    EXPECT_TRUE(Step(*storage, rule, 1).verdict.allowed);
    EXPECT_TRUE(Step(*storage, rule, 1).verdict.allowed);
    const StepResult denied = Step(*storage, rule, 1);
    ASSERT_EQ(denied.code, LIMIFY_PLUGIN_OK) << denied.error;
    EXPECT_FALSE(denied.verdict.allowed);
    EXPECT_EQ(denied.verdict.binding_limit, 1u);
    // The daily count stayed at 2: the denied check consumed nothing.
    const std::string day = GetRaw(*storage, rule.keys[0]);
    ASSERT_EQ(day.size(), 16u);
    int64_t count = 0;
    std::memcpy(&count, day.data() + 8, 8);
    EXPECT_EQ(count, 2) << extra;
  }
}

TEST(RedisStorageTest, EveryWrittenKeyExpiresWhenItsStateIsFreshAgain) {
  auto storage = MakeCore(Options(ServerUrl("main")));
  for (const std::string& algorithm : AllAlgorithms()) {
    const Rule rule = MakeRule(algorithm, {Spec(3, 10 * kSecond), Spec(100, kDay)},
                               UniqueName("ttl-" + algorithm));
    const StepResult r = Step(*storage, rule, 1);
    ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r.error;
    // The short limit is back to full within 10 s (20 s for the counter, whose
    // previous window weighs until the next one ends); the daily one within a day.
    const int64_t short_ttl = Pttl(*storage, rule.keys[0]);
    EXPECT_GT(short_ttl, 0) << algorithm;
    EXPECT_LE(short_ttl, 20'000) << algorithm;
    const int64_t long_ttl = Pttl(*storage, rule.keys[1]);
    EXPECT_GT(long_ttl, 0) << algorithm;
    EXPECT_LE(long_ttl, 2 * kDay / 1000) << algorithm;
  }
}

TEST(RedisStorageTest, ScriptFlushMidRunFailsNoCheck) {
  auto storage = MakeCore(Options(ServerUrl("main")));
  const Rule rule = MakeRule("gcra", {Spec(1'000'000, kSecond)}, UniqueName("flush"));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, checks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const StepResult r = Step(*storage, rule, 1);
        if (r.code != LIMIFY_PLUGIN_OK || !r.verdict.allowed) failures.fetch_add(1);
        checks.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    redis::ReplyPtr reply;
    std::string error;
    ASSERT_EQ(storage->Command("", {"SCRIPT", "FLUSH"}, &reply, &error), LIMIFY_PLUGIN_OK);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checks.load(), 0);
  EXPECT_GE(storage->counters().script_loads.load(), 1u);
}

TEST(RedisStorageTest, RemoveForgetsTheStateOfEveryKey) {
  PluginStorage storage(Options(ServerUrl("main")));
  const Rule rule = MakeRule("token_bucket", {Spec(1, kDay), Spec(5, kDay)}, UniqueName("rm"));
  EXPECT_TRUE(storage.Step(rule, 1).verdict.allowed);
  EXPECT_FALSE(storage.Step(rule, 1).verdict.allowed);
  ASSERT_EQ(storage.Remove(rule).code, LIMIFY_PLUGIN_OK);
  EXPECT_TRUE(storage.Step(rule, 1).verdict.allowed);
}

TEST(RedisStorageTest, KeyPrefixIsPrependedToEveryKey) {
  const std::string prefix = UniqueName("pfx") + ":";
  auto storage = MakeCore(Options(ServerUrl("main"), "\"key_prefix\": \"" + prefix + "\""));
  const Rule rule = MakeRule("fixed_window", {Spec(3, kHour)}, UniqueName("prefixed"));
  ASSERT_TRUE(Step(*storage, rule, 1).verdict.allowed);
  EXPECT_EQ(RedisCli(ServerPort("main"), "EXISTS '" + prefix + rule.keys[0] + "'"), "1");
  EXPECT_EQ(RedisCli(ServerPort("main"), "EXISTS '" + rule.keys[0] + "'"), "0");
}

TEST(RedisStorageTest, UnixSocket) {
  const std::string socket = FixtureDir() + "/main.sock";
  if (::access(socket.c_str(), F_OK) != 0) GTEST_SKIP() << "no Unix socket (path too long)";
  PluginStorage storage(Options("unix://" + socket));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("gcra", {Spec(2, kHour)}, UniqueName("unix"));
  EXPECT_TRUE(storage.Step(rule, 1).verdict.allowed);
  EXPECT_TRUE(storage.Step(rule, 1).verdict.allowed);
  EXPECT_FALSE(storage.Step(rule, 1).verdict.allowed);
}

TEST(RedisStorageTest, AuthAsAnAclUserAndSelectADatabase) {
  const int port = ServerPort("main");
  const std::string user = UniqueName("user");
  ASSERT_EQ(RedisCli(port, "ACL SETUSER " + user + " on '>p@ss:word' '~*' '&*' +@all"), "OK");
  {
    PluginStorage storage(Options("redis://" + user + ":p%40ss%3Aword@127.0.0.1:" +
                                  std::to_string(port) + "/5"));
    ASSERT_TRUE(storage.ok()) << storage.create_error();
    const Rule rule = MakeRule("fixed_window", {Spec(3, kHour)}, UniqueName("acl"));
    const StepResult r = storage.Step(rule, 1);
    ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r.error;
    EXPECT_EQ(RedisCli(port, "-n 5 EXISTS '" + rule.keys[0] + "'"), "1");
    EXPECT_EQ(RedisCli(port, "-n 0 EXISTS '" + rule.keys[0] + "'"), "0");

    PluginStorage wrong(Options("redis://" + user + ":nope@127.0.0.1:" + std::to_string(port)));
    ASSERT_TRUE(wrong.ok()) << "a refused login is a storage failure, not a config error";
    const StepResult refused = wrong.Step(rule, 1);
    EXPECT_EQ(refused.code, LIMIFY_PLUGIN_UNAVAILABLE);
    EXPECT_NE(refused.error.find("AUTH refused"), std::string::npos) << refused.error;
  }
  RedisCli(port, "ACL DELUSER " + user);
}

TEST(RedisStorageTest, ClusterOptionThatContradictsTheServerIsAConfigError) {
  PluginStorage standalone(Options(ServerUrl("main"), "\"cluster\": true"));
  EXPECT_FALSE(standalone.ok());
  EXPECT_EQ(standalone.create_code(), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(standalone.create_error().find("not a cluster node"), std::string::npos)
      << standalone.create_error();

  // "cluster": false against a cluster node: a key it does not own is redirected.
  auto storage = MakeCore(Options(ServerUrl("c1"), "\"cluster\": false"));
  bool redirected = false;
  for (int i = 0; i < 20 && !redirected; ++i) {
    const Rule rule = MakeRule("gcra", {Spec(5, kHour)}, UniqueName("off"));
    const StepResult r = Step(*storage, rule, 1);
    if (r.code == LIMIFY_PLUGIN_INVALID_ARGUMENT) {
      redirected = true;
      EXPECT_NE(r.error.find("cluster"), std::string::npos) << r.error;
    }
  }
  EXPECT_TRUE(redirected);
}

TEST(RedisStorageTest, AnEngineOnTheRedisStorage) {
  for (const char* native : {"true", "false"}) {
    const std::string config = R"({"storage": {"type": "redis", "url": ")" +
                               ServerUrl("main") + R"(", "command_timeout_ms": 5000, "native": )" +
                               native + R"(}, "rules": [{"id": ")" + UniqueName("eng") +
                               R"(", "path": "/x", "algorithm": "sliding_window",
                                  "rate": ["2/minute", "5/hour"]}]})";
    auto engine = Engine::Create(config);
    ASSERT_TRUE(engine.ok()) << engine.status();
    Request request;
    request.method = "GET";
    request.path = "/x";
    request.user_id = "alice";
    Decision d;
    ASSERT_TRUE((*engine)->Check(request, &d).ok());
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.degraded);
    EXPECT_EQ(d.remaining, 1);
    ASSERT_TRUE((*engine)->Check(request, &d).ok());
    ASSERT_TRUE((*engine)->Check(request, &d).ok());
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.degraded);
    EXPECT_EQ(d.limit, 2);
    EXPECT_EQ(d.period_us, kMinute);
    EXPECT_GT(d.retry_after_us, 50 * kSecond);
    EXPECT_LE(d.retry_after_us, kMinute);
    ASSERT_TRUE((*engine)->Reset(request).ok());
    ASSERT_TRUE((*engine)->Check(request, &d).ok());
    EXPECT_TRUE(d.allowed);
  }
}

TEST(RedisStorageTest, AnEngineRefusesABadRedisUrlNamingTheOption) {
  auto engine = Engine::Create(
      R"({"storage": {"type": "redis", "url": "redis://cache:port"}, "rules": []})");
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(engine.status().message()).rfind("storage.url: bad port", 0), 0u)
      << engine.status();
}

}  // namespace
}  // namespace limify::testing
