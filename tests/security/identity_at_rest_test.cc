// Identities never reach storage in clear, and no identity can collide with
// another's key, escape the key prefix or choose its cluster slot — checked
// on what a real redis-server, PostgreSQL server and SQLite file hold after a run.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "tests/redis/redis_test_env.h"
#include "tests/security/pg_server.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify {
namespace {

using testing::LocalServer;
using testing::RedisCli;

// Distinctive raw identities, one of each kind, and the key CheckKey takes.
const std::vector<std::string>& RawIdentities() {
  static const std::vector<std::string> raw = {
      "alice.raw.user@example.com", "org-raw-acme-corp", "sk_live_RAWAPIKEY1234567890",
      "203.0.113.77", "checkkey-raw-identity"};
  return raw;
}

// `hash`: the identity.hash setting (and its secret), as JSON.
std::string Rules(const std::string& hash = R"("sha256")") {
  return absl::StrCat(R"("identity": {"order": ["user_id", "org_id", "api_key", "client_ip"],
                                     "hash": )", hash, R"(},
    "rules": [{"id": "api", "path": "/api/**", "rate": "100/minute",
               "plans": {"pro": "1000/minute"}}])");
}

Request Get(std::string_view path) {
  Request r;
  r.method = "GET";
  r.path = path;
  return r;
}

// One check under each identity kind, and a CheckKey.
void RunChecks(Engine& engine) {
  const auto& raw = RawIdentities();
  Decision d;
  Request by_user = Get("/api/x");
  by_user.user_id = raw[0];
  Request by_org = Get("/api/x");
  by_org.org_id = raw[1];
  by_org.plan = "pro";
  Request by_key = Get("/api/x");
  by_key.api_key = raw[2];
  Request by_ip = Get("/api/x");
  by_ip.client_ip = raw[3];
  for (const Request& r : {by_user, by_org, by_key, by_ip}) {
    ASSERT_TRUE(engine.Check(r, &d).ok());
    ASSERT_FALSE(d.degraded);
  }
  ASSERT_TRUE(engine.CheckKey("api", raw[4], 1, &d).ok());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void ExpectNoRawIdentity(const std::string& bytes, const std::string& where) {
  ASSERT_NE(bytes.find("limify:{api|"), std::string::npos)
      << where << " holds no limify key: the scan would prove nothing";
  for (const std::string& raw : RawIdentities()) {
    EXPECT_EQ(bytes.find(raw), std::string::npos) << where << " holds \"" << raw << "\" in clear";
  }
}

std::string RedisDump(const LocalServer& server) {
  EXPECT_EQ(RedisCli(server.port(), "SAVE"), "OK");
  const std::vector<std::string> dir = absl::StrSplit(RedisCli(server.port(), "CONFIG GET dir"), '\n');
  EXPECT_EQ(dir.size(), 2u);
  return ReadAll(dir.back() + "/dump.rdb");
}

TEST(IdentityAtRest, RedisHoldsOnlyHashes) {
  LocalServer server;
  for (const char* hash : {R"("sha256")", R"("hmac-sha256", "secret": "s3cret-pepper")"}) {
    RedisCli(server.port(), "FLUSHALL");
    auto engine = Engine::Create(absl::StrCat(R"({"storage": {"type": "redis", "url": ")",
                                              server.url(), R"("}, )", Rules(hash), "}"));
    ASSERT_TRUE(engine.ok()) << engine.status();
    RunChecks(**engine);
    ExpectNoRawIdentity(RedisDump(server), absl::StrCat("redis (", hash, ")"));
  }
}

TEST(IdentityAtRest, SqliteFileHoldsOnlyHashes) {
  sqlite_test::TempDir dir;
  const std::string db = dir.File("limits.db");
  {
    auto engine = Engine::Create(absl::StrCat(R"({"storage": {"type": "sqlite", "path": ")", db,
                                              R"("}, )", Rules(), "}"));
    ASSERT_TRUE(engine.ok()) << engine.status();
    RunChecks(**engine);
  }  // closed: the WAL is checkpointed into the file
  std::string bytes = ReadAll(db);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) bytes += ReadAll(db + suffix);
  ExpectNoRawIdentity(bytes, db);
}

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

TEST(IdentityAtRest, PostgresHoldsOnlyHashes) {
  security::PostgresServer server;
  ASSERT_TRUE(server.started()) << "pg-local did not start: " << server.url();
  {
    auto engine = Engine::Create(absl::StrCat(R"({"storage": {"type": "postgres", "url": ")",
                                              server.url(), R"("}, )", Rules(), "}"));
    ASSERT_TRUE(engine.ok()) << engine.status();
    RunChecks(**engine);
  }
  // Every row of the limify schema, as pg_dump writes it: bytea as hex.
  const std::string dump = security::Output(absl::StrCat(
      "\"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_dump\" --data-only "
      "--schema=limify '", server.url(), "'"));
  ASSERT_NE(dump.find(Hex("limify:{api|")), std::string::npos)
      << "the dump holds no limify key: the scan would prove nothing";
  for (const std::string& raw : RawIdentities()) {
    EXPECT_EQ(dump.find(raw), std::string::npos) << "postgres holds \"" << raw << "\" in clear";
    EXPECT_EQ(dump.find(Hex(raw)), std::string::npos) << "postgres holds \"" << raw << "\" as bytes";
  }
}

// Identities an attacker would pick to break out of their key.
std::vector<std::string> HostileIdentities() {
  return {"a:b",     "a",         "a:",       ":a",        "{a}",  "}a{",    "{",        "}",
          "a}:x{b",  std::string("a\0b", 3), std::string("a\0c", 3), "a\nb", "a\r\nSET x 1\r\n",
          "*3\r\n$3\r\nDEL", "limify:{api|default|user|", std::string(10 * 1024, 'z'),
          std::string(10 * 1024, 'z') + "!"};
}

TEST(HostileIdentities, OwnKeysInsideThePrefixWithAHashedTagAndNoCollision) {
  LocalServer server;
  auto engine = Engine::Create(absl::StrCat(R"({"storage": {"type": "redis", "url": ")",
                                            server.url(), R"("}, "rules": [
      {"id": "api", "path": "/api/**", "rate": ["2/minute", "50/hour"]}]})"));
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto identities = HostileIdentities();
  // Each identity has its own two requests: a collision would block one early.
  for (int round = 0; round < 3; ++round) {
    for (const std::string& id : identities) {
      Request r = Get("/api/x");
      r.user_id = id;
      Decision d;
      ASSERT_TRUE((*engine)->Check(r, &d).ok());
      EXPECT_EQ(d.allowed, round < 2) << "identity #" << (&id - identities.data())
                                      << " round " << round;
    }
  }
  const std::vector<std::string> keys =
      absl::StrSplit(RedisCli(server.port(), "--scan --pattern '*'"), '\n', absl::SkipEmpty());
  // Two limits per identity, nothing else.
  EXPECT_EQ(keys.size(), 2 * identities.size());
  // The hash tag (what Redis Cluster hashes for the slot) is rule|plan|kind|hash:
  // no identity byte can reach it, and both limits of one identity share it.
  const std::regex key_shape(R"(^limify:\{api\|default\|user\|([0-9a-f]{32})\}:token_bucket:(2/1m|50/1h)$)");
  std::map<std::string, int> limits_per_tag;
  for (const std::string& key : keys) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(key, m, key_shape)) << "unexpected key: " << key;
    ++limits_per_tag[m[1]];
  }
  EXPECT_EQ(limits_per_tag.size(), identities.size());
  for (const auto& [tag, n] : limits_per_tag) EXPECT_EQ(n, 2) << tag;
}

}  // namespace
}  // namespace limify
