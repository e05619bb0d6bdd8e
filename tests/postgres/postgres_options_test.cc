// The storage options: defaults, every refusal naming its option, and the
// same refusals through the plugin's create and through `limify validate`.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

using postgres::ParsePostgresOptions;
using postgres::PostgresOptions;

absl::Status Parse(const std::string& json, PostgresOptions* out = nullptr) {
  PostgresOptions options;
  absl::Status s = ParsePostgresOptions(json.c_str(), &options);
  if (out != nullptr) *out = options;
  return s;
}

TEST(PostgresOptionsTest, DefaultsFitARequestPath) {
  PostgresOptions o;
  ASSERT_TRUE(Parse(R"({"url": "postgresql://app@db:5432/app"})", &o).ok());
  EXPECT_EQ(o.url, "postgresql://app@db:5432/app");
  EXPECT_EQ(o.connect_timeout_ms, 50);
  EXPECT_EQ(o.statement_timeout_ms, 50);
  EXPECT_EQ(o.pool_size, 4);
  EXPECT_EQ(o.schema, "limify");
  EXPECT_FALSE(o.unlogged);
  EXPECT_TRUE(o.migrate);
  EXPECT_TRUE(o.native);
}

TEST(PostgresOptionsTest, EveryOptionIsRead) {
  PostgresOptions o;
  ASSERT_TRUE(Parse(R"({"url": "host=db dbname=app", "pool_size": 16, "connect_timeout_ms": 80,
                       "statement_timeout_ms": 30, "schema": "rate_limits", "unlogged": true,
                       "migrate": false, "native": false, "sweep_interval_ms": 0,
                       "sweep_batch": 50})", &o).ok());
  EXPECT_EQ(o.pool_size, 16);
  EXPECT_EQ(o.connect_timeout_ms, 80);
  EXPECT_EQ(o.statement_timeout_ms, 30);
  EXPECT_EQ(o.schema, "rate_limits");
  EXPECT_TRUE(o.unlogged);
  EXPECT_FALSE(o.migrate);
  EXPECT_FALSE(o.native);
  EXPECT_EQ(o.sweep_interval_ms, 0);
  EXPECT_EQ(o.sweep_batch, 50);
}

TEST(PostgresOptionsTest, RefusalsNameTheOption) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "url: required"},
      {R"({"url": ""})", "url: expected a non-empty"},
      {R"({"url": "postgresql://h/db?nosuchparam=1"})", "url: invalid URI query parameter"},
      {R"({"url": "host=db bogus"})", "url: missing \"=\""},
      {R"({"url": "postgresql://h/db", "pool_size": 0})", "pool_size: expected an integer from 1 to 64"},
      {R"({"url": "postgresql://h/db", "pool_size": 2.5})", "pool_size: expected"},
      {R"({"url": "postgresql://h/db", "statement_timeout_ms": "50"})", "statement_timeout_ms: expected"},
      {R"({"url": "postgresql://h/db", "connect_timeout_ms": 0})", "connect_timeout_ms: expected"},
      {R"({"url": "postgresql://h/db", "schema": "Bad-Name"})", "schema: expected a name"},
      {R"({"url": "postgresql://h/db", "schema": "pg_catalog"})", "schema: expected a name"},
      {R"({"url": "postgresql://h/db", "unlogged": "yes"})", "unlogged: expected true or false"},
      {R"({"url": "postgresql://h/db", "migrate": 1})", "migrate: expected true or false"},
      {R"({"url": "postgresql://h/db", "sweep_batch": 0})", "sweep_batch: expected"},
      {R"({"url": "postgresql://h/db", "command_timeout_ms": 5})", "command_timeout_ms: unknown option"},
      {R"([1])", "options: expected a JSON object"},
      {R"({"url": )", "options: malformed JSON"},
  };
  for (const auto& [json, want] : cases) {
    const absl::Status s = Parse(json);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_NE(s.message().find(want), absl::string_view::npos)
        << json << " -> " << s.message() << " (want " << want << ")";
  }
}

TEST(PostgresOptionsTest, MessagesNeverShowThePassword) {
  const absl::Status s = Parse(R"({"url": "postgresql://app:s3cret@db/app?bogus=1"})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("s3cret"), absl::string_view::npos) << s.message();
  EXPECT_EQ(postgres::RedactedUrl("host=db password=s3cret dbname=x"),
            "host=db password=*** dbname=x");
}

TEST(PostgresOptionsTest, PluginCreateRefusesBadOptionsAsInvalidArgument) {
  PluginStorage storage(R"({"url": "postgresql://127.0.0.1/db", "pool_size": 100})");
  EXPECT_FALSE(storage.ok());
  EXPECT_EQ(storage.create_code(), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(storage.create_error().find("pool_size"), std::string::npos) << storage.create_error();
}

// `limify validate` loads the storage as an engine would: a bad option is a
// configuration error (exit 1) naming it.
TEST(PostgresOptionsTest, LimifyValidateReportsABadStorageOption) {
  const std::string cli = LIMIFY_CLI;
  ASSERT_FALSE(cli.empty()) << "the limify CLI is not part of this build";
  const std::string path = MakeTempDir() + "/config.json";
  std::ofstream(path) << R"({"storage": {"type": "postgres", "url": ")" << ServerUrl()
                      << R"(", "schema": "Not Valid"}, "rules": [{"id": "r", "path": "/x",
                      "algorithm": "token_bucket", "rate": "5/second"}]})";
  const std::string command = cli + " validate " + path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("schema: expected a name"), std::string::npos) << out;
  std::remove(path.c_str());
  std::remove(path.substr(0, path.rfind('/')).c_str());
}

}  // namespace
}  // namespace limify::testing
