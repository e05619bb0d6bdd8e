// A server that dies, restarts or stops answering, each on a private server:
// UNAVAILABLE or TIMEOUT within the timeout, never a hang, and normal
// decisions again once it is back. Creating the storage while the server is
// down succeeds (it connects on first use).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

using Ms = std::chrono::milliseconds;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - since).count();
}

// Steps until one succeeds, for at most `budget`; returns that step.
StepResult StepUntilOk(PluginStorage& storage, const Rule& rule, Ms budget) {
  const auto start = std::chrono::steady_clock::now();
  StepResult r;
  do {
    r = storage.Step(rule, 1);
    if (r.code == LIMIFY_PLUGIN_OK) return r;
    std::this_thread::sleep_for(Ms(10));
  } while (std::chrono::steady_clock::now() - start < budget);
  return r;
}

std::string FastOptions(const std::string& url, int timeout_ms) {
  return "{\"url\": \"" + url + "\", \"command_timeout_ms\": " + std::to_string(timeout_ms) +
         ", \"connect_timeout_ms\": " + std::to_string(timeout_ms) + "}";
}

TEST(RedisFailureTest, CreatedWhileDownThenServesOnceTheServerIsUp) {
  LocalServer server;
  server.Kill();
  PluginStorage storage(FastOptions(server.url(), 200));
  ASSERT_TRUE(storage.ok()) << "create must not need the server: " << storage.create_error();
  const Rule rule = MakeRule("fixed_window", {Spec(2, kHour)}, UniqueName("down"));
  const auto start = std::chrono::steady_clock::now();
  const StepResult down = storage.Step(rule, 1);
  EXPECT_EQ(down.code, LIMIFY_PLUGIN_UNAVAILABLE) << down;
  EXPECT_LT(ElapsedMs(start), 200 + 300);
  server.Restart();
  const StepResult up = StepUntilOk(storage, rule, Ms(3000));
  ASSERT_EQ(up.code, LIMIFY_PLUGIN_OK) << up;
  EXPECT_TRUE(up.verdict.allowed);
  EXPECT_EQ(up.verdict.remaining, 1);
}

TEST(RedisFailureTest, KilledMidRunFailsFastAndRecoversAfterRestart) {
  LocalServer server;
  PluginStorage storage(FastOptions(server.url(), 300));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("sliding_window", {Spec(100, kHour)}, UniqueName("kill"));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(storage.Step(rule, 1).code, LIMIFY_PLUGIN_OK);

  server.Kill();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const StepResult r = storage.Step(rule, 1);
    EXPECT_TRUE(r.code == LIMIFY_PLUGIN_UNAVAILABLE || r.code == LIMIFY_PLUGIN_TIMEOUT) << r;
    EXPECT_LT(ElapsedMs(start), 300 + 300) << "no call blocks past the timeout";
  }
  // The server comes back empty (no persistence) and without scripts.
  server.Restart();
  const StepResult r = StepUntilOk(storage, rule, Ms(3000));
  ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
  EXPECT_TRUE(r.verdict.allowed);
  EXPECT_EQ(r.verdict.remaining, 99);
}

TEST(RedisFailureTest, AServerThatStopsAnsweringTimesOutEveryWaitingCaller) {
  LocalServer server;
  constexpr int kTimeoutMs = 150;
  PluginStorage storage(FastOptions(server.url(), kTimeoutMs));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("token_bucket", {Spec(1000, kSecond)}, UniqueName("pause"));
  ASSERT_EQ(storage.Step(rule, 1).code, LIMIFY_PLUGIN_OK);

  server.Pause();
  std::atomic<int> timeouts{0}, others{0}, slow{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const StepResult r = storage.Step(rule, 1);
        (r.code == LIMIFY_PLUGIN_TIMEOUT ? timeouts : others).fetch_add(1);
        if (ElapsedMs(start) > kTimeoutMs + 400) slow.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  server.Resume();
  EXPECT_GE(timeouts.load(), 1);
  EXPECT_EQ(timeouts.load() + others.load(), 8);  // others: UNAVAILABLE while reconnecting
  EXPECT_EQ(slow.load(), 0);

  const StepResult r = StepUntilOk(storage, rule, Ms(3000));
  ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
  EXPECT_TRUE(r.verdict.allowed);
}

}  // namespace
}  // namespace limify::testing
