// The storage through its ABI, as the engine uses it: remove, key_count,
// peeks that write nothing, denials that leave no row, and the sweeper.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

std::string SchemaOptions(const std::string& schema, const std::string& extra = "") {
  return Options(ServerUrl(), "\"schema\": \"" + schema + "\"" + (extra.empty() ? "" : ", " + extra));
}

int64_t Rows(const std::string& schema) {
  auto conn = Connect();
  pqxx::nontransaction tx(*conn);
  return tx.exec("SELECT count(*) FROM \"" + schema + "\".state")[0][0].as<int64_t>();
}

TEST(PostgresStorageTest, ChecksCountDownAndRemoveForgets) {
  const std::string schema = UniqueName("remove");
  PluginStorage storage(SchemaOptions(schema));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("token_bucket", {Spec(3, kHour), Spec(10, kDay)}, "r");
  for (int64_t want : {2, 1, 0}) {
    const StepResult r = storage.Step(rule, 1);
    ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
    EXPECT_TRUE(r.verdict.allowed);
    EXPECT_EQ(r.verdict.remaining, want);
    EXPECT_EQ(r.verdict.binding_limit, 0u);
  }
  const StepResult denied = storage.Step(rule, 1);
  ASSERT_EQ(denied.code, LIMIFY_PLUGIN_OK);
  EXPECT_FALSE(denied.verdict.allowed);
  EXPECT_GT(denied.verdict.retry_after_us, 0);
  int64_t count = -1;
  ASSERT_EQ(storage.KeyCount(&count).code, LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 2);
  ASSERT_EQ(storage.Remove(rule).code, LIMIFY_PLUGIN_OK);
  ASSERT_EQ(storage.KeyCount(&count).code, LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 0);
  const StepResult fresh = storage.Step(rule, 1);
  ASSERT_EQ(fresh.code, LIMIFY_PLUGIN_OK);
  EXPECT_EQ(fresh.verdict.remaining, 2);
}

TEST(PostgresStorageTest, PeeksAndDenialsOnNewKeysLeaveNoRow) {
  const std::string schema = UniqueName("norow");
  for (const char* native : {"true", "false"}) {
    PluginStorage storage(SchemaOptions(schema, std::string("\"native\": ") + native));
    ASSERT_TRUE(storage.ok()) << storage.create_error();
    const Rule rule = MakeRule("fixed_window", {Spec(2, kHour)}, std::string("n") + native);
    const StepResult peek = storage.Step(rule, 1, /*peek=*/true);
    ASSERT_EQ(peek.code, LIMIFY_PLUGIN_OK) << peek;
    EXPECT_TRUE(peek.verdict.allowed);
    const StepResult too_big = storage.Step(rule, 5);
    ASSERT_EQ(too_big.code, LIMIFY_PLUGIN_OK) << too_big;
    EXPECT_FALSE(too_big.verdict.allowed);
    EXPECT_EQ(too_big.verdict.retry_after_us, LIMIFY_RETRY_NEVER);
    EXPECT_EQ(Rows(schema), 0) << "native " << native;
  }
}

TEST(PostgresStorageTest, TheSweeperDeletesExpiredRowsOnly) {
  const std::string schema = UniqueName("sweep");
  auto storage = MakeCore(SchemaOptions(schema, "\"sweep_batch\": 7"));
  postgres::PostgresStorage::Hooks past;
  past.has_now = true;
  past.now_us = 1'000'000'000'000'000;  // 2001: expired long ago
  for (int i = 0; i < 30; ++i) {
    const Rule old_rule = MakeRule("gcra", {Spec(5, kSecond)}, "old" + std::to_string(i));
    ASSERT_EQ(Step(*storage, old_rule, 1, false, &past).code, LIMIFY_PLUGIN_OK);
  }
  for (int i = 0; i < 12; ++i) {
    const Rule live = MakeRule("gcra", {Spec(5, kHour)}, "live" + std::to_string(i));
    ASSERT_EQ(Step(*storage, live, 1).code, LIMIFY_PLUGIN_OK);
  }
  ASSERT_EQ(Rows(schema), 42);
  absl::StatusOr<int64_t> deleted = storage->SweepOnce();  // 6 batches of 7
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 30);
  EXPECT_EQ(Rows(schema), 12);
  EXPECT_EQ(storage->counters().swept.load(), 30u);
}

TEST(PostgresStorageTest, TheBackgroundSweeperRuns) {
  const std::string schema = UniqueName("bgsweep");
  auto storage = MakeCore(SchemaOptions(schema));  // no sweeper: Options turns it off
  postgres::PostgresStorage::Hooks past;
  past.has_now = true;
  past.now_us = 1'000'000'000'000'000;
  const Rule rule = MakeRule("fixed_window", {Spec(5, kSecond)}, "bg");
  ASSERT_EQ(Step(*storage, rule, 1, false, &past).code, LIMIFY_PLUGIN_OK);
  ASSERT_EQ(Rows(schema), 1);
  auto swept = MakeCore("{\"url\": \"" + ServerUrl() + "\", \"schema\": \"" + schema +
                        "\", \"sweep_interval_ms\": 20}");
  for (int i = 0; i < 200 && Rows(schema) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Rows(schema), 0);
}

}  // namespace
}  // namespace limify::testing

namespace limify::testing {
namespace {

// A row locked by someone else for longer than statement_timeout: the check
// gives up with TIMEOUT within the bound instead of queueing behind it.
TEST(PostgresStorageTest, ARowLockedTooLongTimesOut) {
  const std::string schema = UniqueName("locked");
  constexpr int kTimeoutMs = 40;
  auto options = [&](const char* native) {
    return "{\"url\": \"" + ServerUrl() + "\", \"schema\": \"" + schema +
           "\", \"statement_timeout_ms\": " + std::to_string(kTimeoutMs) +
           ", \"connect_timeout_ms\": 2000, \"sweep_interval_ms\": 0, \"native\": " + native + "}";
  };
  PluginStorage native(options("true")), generic(options("false"));
  ASSERT_TRUE(native.ok()) << native.create_error();
  ASSERT_TRUE(generic.ok()) << generic.create_error();
  const Rule rule = MakeRule("fixed_window", {Spec(10, kHour)}, "locked");
  ASSERT_EQ(native.Step(rule, 1).code, LIMIFY_PLUGIN_OK);
  auto holder = Connect();
  pqxx::work lock(*holder);
  lock.exec("SELECT 1 FROM \"" + schema + "\".state FOR UPDATE");
  for (PluginStorage* storage : {&native, &generic}) {
    const auto start = std::chrono::steady_clock::now();
    const StepResult r = storage->Step(rule, 1);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.code, LIMIFY_PLUGIN_TIMEOUT) << r;
    EXPECT_LT(ms, 2 * kTimeoutMs + 300);
  }
  lock.abort();
  const StepResult after = generic.Step(rule, 1);
  ASSERT_EQ(after.code, LIMIFY_PLUGIN_OK) << after;
  EXPECT_EQ(after.verdict.remaining, 8);
}

}  // namespace
}  // namespace limify::testing
