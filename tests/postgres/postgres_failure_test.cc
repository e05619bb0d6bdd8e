// A server that is down, killed mid-run or stops answering, on one private
// server shared by these tests: UNAVAILABLE or TIMEOUT within the timeouts,
// never a hang; the engine's failure mode decides meanwhile; normal
// decisions again once the server is back. An unlogged table loses its
// state in a crash (the documented trade-off); a logged one keeps it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

using Ms = std::chrono::milliseconds;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - since).count();
}

class PostgresFailureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new LocalServer(/*durable=*/true); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // Each test leaves the server running.
  void TearDown() override {
    server_->Resume();
    if (!Up()) server_->Restart();
  }

  static bool Up() {
    try {
      Connect(server_->url());
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  static std::string FastOptions(int timeout_ms, const std::string& extra = "") {
    return "{\"url\": \"" + server_->url() + "\", \"statement_timeout_ms\": " +
           std::to_string(timeout_ms) + ", \"connect_timeout_ms\": " + std::to_string(timeout_ms) +
           (extra.empty() ? "" : ", " + extra) + "}";
  }

  static std::unique_ptr<Engine> MakeEngine(const std::string& failure_mode,
                                            const std::string& storage_extra = "") {
    const std::string config = R"({"storage": {"type": "postgres", "url": ")" + server_->url() +
                               R"(", "statement_timeout_ms": 200, "connect_timeout_ms": 200)" +
                               (storage_extra.empty() ? "" : ", " + storage_extra) +
                               R"(}, "failure_mode": ")" + failure_mode +
                               R"(", "circuit_breaker": {"failure_threshold": 2, )"
                               R"("recovery_timeout_ms": 100}, "rules": [{"id": "r", )"
                               R"("path": "/x", "algorithm": "fixed_window", "rate": "100/hour"}]})";
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
    if (!engine.ok()) throw std::runtime_error(std::string(engine.status().message()));
    return std::move(*engine);
  }

  // Checks until one is decided by the storage, for at most `budget`.
  static Decision CheckUntilNotDegraded(Engine& engine, const std::string& identity, Ms budget) {
    const auto start = std::chrono::steady_clock::now();
    Decision d;
    do {
      d = Decision{};
      (void)engine.CheckKey("r", identity, 1, &d);
      if (!d.degraded) return d;
      std::this_thread::sleep_for(Ms(20));
    } while (std::chrono::steady_clock::now() - start < budget);
    return d;
  }

  static LocalServer* server_;
};
LocalServer* PostgresFailureTest::server_ = nullptr;

TEST_F(PostgresFailureTest, CreatedWhileDownThenConnectsAndMigratesWhenTheServerIsUp) {
  server_->Kill();
  const std::string schema = UniqueName("down");
  PluginStorage storage(FastOptions(200, "\"schema\": \"" + schema + "\""));
  ASSERT_TRUE(storage.ok()) << "create must not need the server: " << storage.create_error();
  const Rule rule = MakeRule("fixed_window", {Spec(2, kHour)}, schema);
  const auto start = std::chrono::steady_clock::now();
  const StepResult down = storage.Step(rule, 1);
  EXPECT_EQ(down.code, LIMIFY_PLUGIN_UNAVAILABLE) << down;
  EXPECT_LT(ElapsedMs(start), 200 + 300);
  server_->Restart();
  StepResult up;
  for (int i = 0; i < 150; ++i) {
    up = storage.Step(rule, 1);
    if (up.code == LIMIFY_PLUGIN_OK) break;
    std::this_thread::sleep_for(Ms(20));
  }
  ASSERT_EQ(up.code, LIMIFY_PLUGIN_OK) << up;
  EXPECT_TRUE(up.verdict.allowed);
  EXPECT_EQ(up.verdict.remaining, 1);
}

TEST_F(PostgresFailureTest, AnEngineCreatedWhileDownStartsAndFailsOpen) {
  server_->Kill();
  std::unique_ptr<Engine> engine = MakeEngine("open");
  Decision d;
  ASSERT_TRUE(engine->CheckKey("r", "open-user", 1, &d).ok());
  EXPECT_TRUE(d.degraded);
  EXPECT_TRUE(d.allowed);
  server_->Restart();
  d = CheckUntilNotDegraded(*engine, "open-user", Ms(5000));
  EXPECT_FALSE(d.degraded);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 99);
}

TEST_F(PostgresFailureTest, RestartedMidRunFailsClosedThenRecoversWithItsState) {
  std::unique_ptr<Engine> engine = MakeEngine("closed");
  const std::string identity = UniqueName("restart");
  for (int i = 0; i < 3; ++i) {
    Decision d;
    ASSERT_TRUE(engine->CheckKey("r", identity, 1, &d).ok());
    ASSERT_FALSE(d.degraded);
    ASSERT_TRUE(d.allowed);
  }
  server_->Kill();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Decision d;
    ASSERT_TRUE(engine->CheckKey("r", identity, 1, &d).ok());
    EXPECT_TRUE(d.degraded);
    EXPECT_FALSE(d.allowed) << "failure_mode closed";
    EXPECT_LT(ElapsedMs(start), 200 * 2 + 300) << "no check blocks past the timeouts";
  }
  server_->Restart();
  const Decision d = CheckUntilNotDegraded(*engine, identity, Ms(5000));
  EXPECT_FALSE(d.degraded);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 100 - 4) << "a logged table keeps what was counted";
}

TEST_F(PostgresFailureTest, AnUnloggedTableLosesItsStateInACrash) {
  std::unique_ptr<Engine> engine =
      MakeEngine("closed", "\"unlogged\": true, \"schema\": \"" + UniqueName("unlogged") + "\"");
  const std::string identity = UniqueName("crash");
  for (int i = 0; i < 3; ++i) {
    Decision d;
    ASSERT_TRUE(engine->CheckKey("r", identity, 1, &d).ok());
    ASSERT_FALSE(d.degraded);
  }
  server_->Kill();  // an immediate shutdown is a crash: unlogged tables are reset
  server_->Restart();
  const Decision d = CheckUntilNotDegraded(*engine, identity, Ms(5000));
  EXPECT_FALSE(d.degraded);
  EXPECT_EQ(d.remaining, 99);
}

TEST_F(PostgresFailureTest, AServerThatStopsAnsweringTimesOutEveryWaitingCaller) {
  constexpr int kTimeoutMs = 100;
  PluginStorage storage(FastOptions(kTimeoutMs, "\"pool_size\": 2"));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("token_bucket", {Spec(1000, kSecond)}, UniqueName("pause"));
  ASSERT_EQ(storage.Step(rule, 1).code, LIMIFY_PLUGIN_OK);

  server_->Pause();
  std::atomic<int> timeouts{0}, others{0}, slow{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const StepResult r = storage.Step(rule, 1);
        (r.code == LIMIFY_PLUGIN_TIMEOUT ? timeouts : others).fetch_add(1);
        // Waiting for a connection, connecting, the statement, the watchdog.
        if (ElapsedMs(start) > 2 * kTimeoutMs + kTimeoutMs + 400) slow.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  server_->Resume();
  EXPECT_EQ(timeouts.load(), 8) << others.load() << " other errors";
  EXPECT_EQ(slow.load(), 0);

  StepResult r;
  for (int i = 0; i < 150; ++i) {
    r = storage.Step(rule, 1);
    if (r.code == LIMIFY_PLUGIN_OK) break;
    std::this_thread::sleep_for(Ms(20));
  }
  ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
  EXPECT_TRUE(r.verdict.allowed);
}

}  // namespace
}  // namespace limify::testing
