// Redis misbehaving under load from several threads, each case on a private
// server (scripts/redis-local): killed and restarted, blocked by DEBUG
// SLEEP, paused by CLIENT PAUSE, down when the engine is created. In every
// case the failure policy decides while it is away, the breaker opens (so
// only a bounded number of calls pay for the outage) and closes when it is
// back, no call outlives command_timeout_ms, and no decision is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "tests/chaos/chaos_checks.h"
#include "tests/chaos/chaos_load.h"
#include "tests/redis/redis_test_env.h"

namespace limify::chaos {
namespace {

using std::chrono::milliseconds;
using limify::testing::LocalServer;

constexpr int kTimeoutMs = 100;
constexpr int kThreads = 4;

std::unique_ptr<Engine> RedisEngine(const std::string& url) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(absl::StrCat(
      R"({"storage": {"type": "redis", "url": ")", url, R"(", "command_timeout_ms": )",
      kTimeoutMs, R"(, "connect_timeout_ms": )", kTimeoutMs, "}, ", PolicyAndRules(), "}"));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start)
      .count();
}

// Waits for normal decisions again (after `normal_before`) and a closed breaker.
void ExpectRecovery(const Engine& engine, const Load& load, uint64_t normal_before) {
  EXPECT_TRUE(WaitUntil(
      [&] { return load.normal() > normal_before + 20 && BreakerState(engine) == 0; },
      milliseconds(5000)))
      << "normal decisions resume once the server is back";
}

TEST(RedisChaosTest, KilledAndRestartedUnderLoadTheBreakerSparesTheDeadServer) {
  LocalServer server;
  auto engine = RedisEngine(server.url());
  ASSERT_NE(engine, nullptr);
  Load load(*engine, kThreads, kTimeoutMs / 2);
  ASSERT_TRUE(WaitUntil([&] { return load.normal() >= 50; }, milliseconds(5000)));

  const uint64_t failures_before = StorageFailures(*engine);
  const auto outage = std::chrono::steady_clock::now();
  server.Kill();
  EXPECT_TRUE(WaitUntil([&] { return BreakerState(*engine) != 0; }, milliseconds(2000)))
      << "the breaker opens";
  std::this_thread::sleep_for(milliseconds(1000));  // down, under load
  const uint64_t normal_before = load.normal();
  server.Restart();
  const int64_t outage_ms = MsSince(outage);
  ExpectRecovery(*engine, load, normal_before);
  load.Stop();

  ExpectThePolicyHeld(*engine, load.totals(), kTimeoutMs);
  EXPECT_LE(StorageFailures(*engine) - failures_before, FailureBudget(kThreads, outage_ms))
      << "only the failures that open it, the calls in flight and one probe per "
         "recovery timeout reach a dead server; " << load.totals().degraded << " checks were degraded";
}

TEST(RedisChaosTest, BlockedByDebugSleepBeyondTheTimeoutOnlyAFewCallsWait) {
  LocalServer server;
  server.EnableDebugCommand();
  auto engine = RedisEngine(server.url());
  ASSERT_NE(engine, nullptr);
  Load load(*engine, kThreads, kTimeoutMs / 2);
  ASSERT_TRUE(WaitUntil([&] { return load.normal() >= 50; }, milliseconds(5000)));

  const auto outage = std::chrono::steady_clock::now();
  std::string reply;
  std::thread sleeper([&] { reply = limify::testing::RedisCli(server.port(), "DEBUG SLEEP 1.5"); });
  EXPECT_TRUE(WaitUntil([&] { return BreakerState(*engine) != 0; }, milliseconds(1000)))
      << "the breaker opens";
  const uint64_t normal_before = load.normal();
  sleeper.join();
  ASSERT_EQ(reply, "OK") << "DEBUG SLEEP must run for this test to mean anything";
  const int64_t outage_ms = MsSince(outage);
  ExpectRecovery(*engine, load, normal_before);
  load.Stop();

  const Load::Totals totals = load.totals();
  ExpectThePolicyHeld(*engine, totals, kTimeoutMs);
  EXPECT_LE(totals.slow, FailureBudget(kThreads, outage_ms))
      << "calls that waited for the sleeping server (" << totals.calls << " calls in all)";
}

TEST(RedisChaosTest, PausedByClientPauseBeyondTheTimeoutOnlyAFewCallsWait) {
  LocalServer server;
  auto engine = RedisEngine(server.url());
  ASSERT_NE(engine, nullptr);
  Load load(*engine, kThreads, kTimeoutMs / 2);
  ASSERT_TRUE(WaitUntil([&] { return load.normal() >= 50; }, milliseconds(5000)));

  const auto outage = std::chrono::steady_clock::now();
  ASSERT_EQ(limify::testing::RedisCli(server.port(), "CLIENT PAUSE 1500 ALL"), "OK");
  EXPECT_TRUE(WaitUntil([&] { return BreakerState(*engine) != 0; }, milliseconds(1000)))
      << "the breaker opens";
  const uint64_t normal_before = load.normal();
  std::this_thread::sleep_until(outage + milliseconds(1500));
  const int64_t outage_ms = MsSince(outage);
  ExpectRecovery(*engine, load, normal_before);
  load.Stop();

  const Load::Totals totals = load.totals();
  ExpectThePolicyHeld(*engine, totals, kTimeoutMs);
  EXPECT_LE(totals.slow, FailureBudget(kThreads, outage_ms))
      << "calls that waited for the paused server (" << totals.calls << " calls in all)";
}

TEST(RedisChaosTest, CreatedWhileRedisIsDownTheEngineStartsDegradedAndRecovers) {
  LocalServer server;
  server.Kill();
  const auto start = std::chrono::steady_clock::now();
  auto engine = RedisEngine(server.url());
  ASSERT_NE(engine, nullptr) << "an engine starts without its server";
  EXPECT_LT(MsSince(start), kTimeoutMs + kMarginMs);

  Load load(*engine, kThreads, kTimeoutMs / 2);
  EXPECT_TRUE(WaitUntil([&] { return BreakerState(*engine) != 0; }, milliseconds(2000)))
      << "the breaker opens";
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(load.normal(), 0u);
  const uint64_t failures = StorageFailures(*engine);
  server.Restart();
  const int64_t outage_ms = MsSince(start);
  ExpectRecovery(*engine, load, 0);
  load.Stop();

  ExpectThePolicyHeld(*engine, load.totals(), kTimeoutMs);
  EXPECT_LE(failures, FailureBudget(kThreads, outage_ms));
}

}  // namespace
}  // namespace limify::chaos
