// Migrations: applied once under an advisory lock, a second run (or a
// second process) finds nothing to do, two storages migrating one schema at
// the same moment both succeed, "migrate": false checks instead of writing,
// and "unlogged" switches the state table.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "plugins/storage/postgres/postgres_schema.h"
#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

std::string SchemaOptions(const std::string& schema, const std::string& extra = "") {
  return Options(ServerUrl(), "\"schema\": \"" + schema + "\"" + (extra.empty() ? "" : ", " + extra));
}

// version, name and applied_at of every recorded migration, as text.
std::string VersionRows(const std::string& schema) {
  auto conn = Connect();
  pqxx::nontransaction tx(*conn);
  std::string rows;
  for (const auto& row : tx.exec("SELECT version, name, applied_at FROM \"" + schema +
                                 "\".schema_version ORDER BY version")) {
    rows += row[0].c_str() + std::string(" ") + row[1].c_str() + " " + row[2].c_str() + "\n";
  }
  return rows;
}

char Persistence(const std::string& schema) {
  auto conn = Connect();
  pqxx::nontransaction tx(*conn);
  return tx.exec_params("SELECT relpersistence FROM pg_class WHERE oid = $1::regclass",
                        "\"" + schema + "\".state")[0][0].as<std::string>()[0];
}

TEST(PostgresSchemaTest, MigratingTwiceIsANoOp) {
  const std::string schema = UniqueName("twice");
  MakeCore(SchemaOptions(schema));
  const std::string first = VersionRows(schema);
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), postgres::CurrentSchemaVersion());
  EXPECT_NE(first.find("1 001_state.sql"), std::string::npos) << first;
  EXPECT_NE(first.find("2 002_functions.sql"), std::string::npos) << first;
  MakeCore(SchemaOptions(schema));
  EXPECT_EQ(VersionRows(schema), first) << "a second run must apply nothing";
}

TEST(PostgresSchemaTest, StoragesMigratingAtOnceAllSucceed) {
  const std::string schema = UniqueName("race");
  std::atomic<int> ok{0};
  std::vector<std::string> errors(6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      PluginStorage storage(SchemaOptions(schema));
      if (!storage.ok()) {
        errors[t] = storage.create_error();
        return;
      }
      const Rule rule = MakeRule("fixed_window", {Spec(100, kHour)}, schema);
      const StepResult r = storage.Step(rule, 1);
      if (r.code == LIMIFY_PLUGIN_OK && r.verdict.allowed) {
        ok.fetch_add(1);
      } else {
        errors[t] = r.error;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(ok.load(), 6);
  const std::string rows = VersionRows(schema);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), postgres::CurrentSchemaVersion()) << rows;
}

TEST(PostgresSchemaTest, WithoutMigrateAMissingSchemaIsAClearCreateError) {
  const std::string schema = UniqueName("absent");
  PluginStorage storage(SchemaOptions(schema, "\"migrate\": false"));
  EXPECT_FALSE(storage.ok());
  EXPECT_EQ(storage.create_code(), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(storage.create_error().find("schema \"" + schema + "\" is at version 0"),
            std::string::npos)
      << storage.create_error();
  EXPECT_NE(storage.create_error().find("migrate"), std::string::npos) << storage.create_error();
}

TEST(PostgresSchemaTest, WithoutMigrateAnInstalledSchemaIsUsed) {
  const std::string schema = UniqueName("installed");
  MakeCore(SchemaOptions(schema));
  PluginStorage storage(SchemaOptions(schema, "\"migrate\": false"));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("gcra", {Spec(3, kMinute)}, schema);
  const StepResult r = storage.Step(rule, 1);
  ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
  EXPECT_EQ(r.verdict.remaining, 2);
}

TEST(PostgresSchemaTest, ANewerSchemaIsRefused) {
  const std::string schema = UniqueName("newer");
  MakeCore(SchemaOptions(schema));
  {
    auto conn = Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec("INSERT INTO \"" + schema + "\".schema_version (version, name) VALUES (99, 'future')");
  }
  PluginStorage storage(SchemaOptions(schema));
  EXPECT_FALSE(storage.ok());
  EXPECT_NE(storage.create_error().find("newer than this plugin's"), std::string::npos)
      << storage.create_error();
}

TEST(PostgresSchemaTest, UnloggedSwitchesTheStateTableBothWays) {
  const std::string schema = UniqueName("unlogged");
  MakeCore(SchemaOptions(schema, "\"unlogged\": true"));
  EXPECT_EQ(Persistence(schema), 'u');
  MakeCore(SchemaOptions(schema));
  EXPECT_EQ(Persistence(schema), 'p');
}

TEST(PostgresSchemaTest, EverythingLivesInTheConfiguredSchema) {
  const std::string schema = UniqueName("own");
  auto storage = MakeCore(SchemaOptions(schema));
  const Rule rule = MakeRule("sliding_window_counter", {Spec(5, kMinute)}, schema);
  ASSERT_EQ(Step(*storage, rule, 2).code, LIMIFY_PLUGIN_OK);
  std::string state;
  int64_t expires = 0;
  EXPECT_TRUE(ReadRow(rule.keys[0], &state, &expires, schema));
  auto conn = Connect();
  pqxx::nontransaction tx(*conn);
  // The table, the version table and every function, all in `schema`.
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                           "p.pronamespace WHERE n.nspname = $1 AND p.proname IN ('token_bucket', "
                           "'gcra', 'fixed_window', 'sliding_window', 'sliding_window_counter')",
                           schema)[0][0].as<int>(), 5);
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema)[0][0]
                .as<int>(), 2);
}

}  // namespace
}  // namespace limify::testing

namespace limify::testing {
namespace {

TEST(PostgresSchemaTest, ASchemaDroppedWhileRunningIsCreatedAgain) {
  const std::string schema = UniqueName("dropped");
  PluginStorage storage(Options(ServerUrl(), "\"schema\": \"" + schema + "\", \"pool_size\": 1"));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("token_bucket", {Spec(5, kMinute)}, schema);
  ASSERT_EQ(storage.Step(rule, 1).code, LIMIFY_PLUGIN_OK);
  {
    auto conn = Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec("DROP SCHEMA \"" + schema + "\" CASCADE");
  }
  const StepResult lost = storage.Step(rule, 1);
  EXPECT_EQ(lost.code, LIMIFY_PLUGIN_UNAVAILABLE) << lost;
  EXPECT_NE(lost.error.find("does not exist"), std::string::npos) << lost;
  const StepResult again = storage.Step(rule, 1);
  ASSERT_EQ(again.code, LIMIFY_PLUGIN_OK) << again;
  EXPECT_EQ(again.verdict.remaining, 4) << "a new schema starts empty";
}

}  // namespace
}  // namespace limify::testing

namespace limify::testing {
namespace {

// The grants the README lists for an application role, once an owner has
// installed the schema: enough for both paths, with migrate on (nothing to
// do) or off; and nothing more is needed.
TEST(PostgresSchemaTest, AnApplicationRoleNeedsOnlyTheDocumentedGrants) {
  const std::string schema = UniqueName("grants");
  const std::string role = UniqueName("app");
  MakeCore(Options(ServerUrl(), "\"schema\": \"" + schema + "\""));
  {
    auto conn = Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec("CREATE ROLE " + role + " LOGIN");
    tx.exec("GRANT USAGE ON SCHEMA \"" + schema + "\" TO " + role);
    tx.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON \"" + schema + "\".state TO " + role);
    tx.exec("GRANT SELECT ON \"" + schema + "\".schema_version TO " + role);
  }
  std::string url = ServerUrl();
  url.replace(url.find("limify@"), 6, role);
  for (const char* migrate : {"true", "false"}) {
    for (const char* native : {"true", "false"}) {
      PluginStorage storage(Options(url, "\"schema\": \"" + schema + "\", \"migrate\": " +
                                             migrate + ", \"native\": " + native));
      ASSERT_TRUE(storage.ok()) << storage.create_error();
      const Rule rule = MakeRule("sliding_window", {Spec(3, kMinute), Spec(10, kHour)},
                                 std::string("g") + migrate + native);
      const StepResult r = storage.Step(rule, 1);
      ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r;
      EXPECT_EQ(r.verdict.remaining, 2);
      ASSERT_EQ(storage.Remove(rule).code, LIMIFY_PLUGIN_OK);
    }
  }
  // Without the grants on the table, a check is refused, and says so.
  {
    auto conn = Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec("REVOKE UPDATE ON \"" + schema + "\".state FROM " + role);
  }
  PluginStorage storage(Options(url, "\"schema\": \"" + schema + "\""));
  ASSERT_TRUE(storage.ok()) << storage.create_error();
  const Rule rule = MakeRule("gcra", {Spec(3, kMinute)}, "revoked");
  const StepResult r = storage.Step(rule, 1);
  EXPECT_EQ(r.code, LIMIFY_PLUGIN_UNAVAILABLE) << r;
  EXPECT_NE(r.error.find("permission denied"), std::string::npos) << r;
}

}  // namespace
}  // namespace limify::testing
