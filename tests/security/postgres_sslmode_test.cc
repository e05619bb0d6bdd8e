// The postgres storage honours libpq's sslmode: against a server that
// requires TLS, sslmode=require connects encrypted; against one without TLS,
// sslmode=require refuses to connect in clear and the failure policy decides.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "tests/security/pg_server.h"

namespace limify {
namespace {

std::unique_ptr<Engine> PostgresEngine(const std::string& url) {
  auto engine = Engine::Create(absl::StrCat(
      R"({"storage": {"type": "postgres", "url": ")", url,
      R"(", "connect_timeout_ms": 2000, "statement_timeout_ms": 2000},
          "failure_mode": "closed", "circuit_breaker": false,
          "rules": [{"id": "api", "path": "/api/**", "rate": "5/minute"}]})"));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

Decision CheckOnce(Engine& engine) {
  Request r;
  r.method = "GET";
  r.path = "/api/x";
  r.user_id = "tls-user";
  Decision d;
  EXPECT_TRUE(engine.Check(r, &d).ok());
  return d;
}

TEST(PostgresSslmode, RequireConnectsOverTlsToAServerThatRequiresIt) {
  security::PostgresServer server("--ssl");
  ASSERT_TRUE(server.started()) << server.url();
  auto engine = PostgresEngine(server.url() + "?sslmode=require&application_name=limify_tls");
  ASSERT_NE(engine, nullptr);
  const Decision d = CheckOnce(*engine);
  EXPECT_FALSE(d.degraded);
  EXPECT_TRUE(d.allowed);
  // Every connection the storage holds is encrypted.
  EXPECT_EQ(server.Query("SELECT count(*) > 0 AND bool_and(s.ssl) FROM pg_stat_ssl s "
                         "JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'limify_tls'"),
            "t");
}

TEST(PostgresSslmode, ClearConnectionsAreRefusedByAServerThatRequiresTls) {
  security::PostgresServer server("--ssl");
  ASSERT_TRUE(server.started()) << server.url();
  auto engine = PostgresEngine(server.url() + "?sslmode=disable");
  ASSERT_NE(engine, nullptr);
  const Decision d = CheckOnce(*engine);
  EXPECT_TRUE(d.degraded) << "a clear connection got through";
  EXPECT_FALSE(d.allowed);  // failure_mode closed
}

TEST(PostgresSslmode, RequireNeverFallsBackToClear) {
  security::PostgresServer server;  // no TLS
  ASSERT_TRUE(server.started()) << server.url();
  auto engine = PostgresEngine(server.url() + "?sslmode=require");
  ASSERT_NE(engine, nullptr);
  const Decision d = CheckOnce(*engine);
  EXPECT_TRUE(d.degraded) << "sslmode=require connected without TLS";
  EXPECT_FALSE(d.allowed);
}

}  // namespace
}  // namespace limify
