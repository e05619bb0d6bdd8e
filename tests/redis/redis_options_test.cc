// Parsing the redis storage's options and URL: every mistake is refused with
// a message that names the option.
#include <gtest/gtest.h>

#include <string>

#include "plugins/storage/redis/redis_options.h"
#include "tests/redis/redis_harness.h"

namespace limify::redis {
namespace {

RedisOptions MustParse(const std::string& json) {
  RedisOptions o;
  std::string error;
  EXPECT_TRUE(ParseRedisOptions(json.c_str(), &o, &error)) << error;
  return o;
}

std::string Refusal(const std::string& json) {
  RedisOptions o;
  std::string error;
  EXPECT_FALSE(ParseRedisOptions(json.c_str(), &o, &error)) << json;
  return error;
}

TEST(RedisOptionsTest, DefaultsFitARequestPath) {
  const RedisOptions o = MustParse("{}");
  EXPECT_EQ(o.endpoint.host, "127.0.0.1");
  EXPECT_EQ(o.endpoint.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.connect_timeout_ms, 50);
  EXPECT_EQ(o.command_timeout_ms, 50);
  EXPECT_EQ(o.pool_size, 1);
  EXPECT_EQ(o.cluster, ClusterMode::kAuto);
  EXPECT_TRUE(o.native);
  EXPECT_TRUE(o.combine) << "concurrent checks are combined by default";
  EXPECT_EQ(o.busy_poll_us, 100) << "a lone caller polls for about one nearby round trip";
  EXPECT_TRUE(o.key_prefix.empty());
  EXPECT_EQ(o.over_limit_cache_keys, 0u) << "the over-limit cache is off by default";
}

TEST(RedisOptionsTest, UrlWithUserPasswordAndDatabase) {
  const RedisOptions o = MustParse(R"({"url": "redis://app:s%40cret@cache.local:6380/3"})");
  EXPECT_EQ(o.endpoint.host, "cache.local");
  EXPECT_EQ(o.endpoint.port, 6380);
  EXPECT_EQ(o.user, "app");
  EXPECT_EQ(o.password, "s@cret");
  EXPECT_EQ(o.db, 3);
}

// Config errors end up in logs: the password in a refused URL is masked.
TEST(RedisOptionsTest, ARefusedUrlNeverShowsItsPassword) {
  for (const char* url : {"redis://app:hunter2%zz@cache.local:6380/3",
                          "redis://app:hunter2@cache.local:notaport",
                          "redis://hunter2@cache.local:6380/x",
                          "redis://app:hunter2@[::1:7000",
                          "unix:///run/redis.sock?user=app&password=hunter2&db=x",
                          "unix:///run/redis.sock?password=hunter2&db=-1"}) {
    const std::string error = Refusal(std::string(R"({"url": ")") + url + R"("})");
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
    EXPECT_NE(error.find("***"), std::string::npos) << error;
  }
}

TEST(RedisOptionsTest, PasswordOnlyIpv6AndUnixSockets) {
  RedisOptions o = MustParse(R"({"url": "redis://:pw@[::1]:7000"})");
  EXPECT_EQ(o.endpoint.host, "::1");
  EXPECT_EQ(o.endpoint.port, 7000);
  EXPECT_EQ(o.user, "");
  EXPECT_EQ(o.password, "pw");
  o = MustParse(R"({"url": "unix:///run/redis.sock?db=2"})");
  EXPECT_EQ(o.endpoint.unix_path, "/run/redis.sock");
  EXPECT_EQ(o.db, 2);
  EXPECT_EQ(o.endpoint.ToString(), "unix:///run/redis.sock");
}

TEST(RedisOptionsTest, AllOptions) {
  const RedisOptions o = MustParse(
      R"({"url": "redis://h:1", "connect_timeout_ms": 20, "command_timeout_ms": 30,
          "pool_size": 4, "key_prefix": "app1:", "cluster": true, "native": false,
          "combine": false, "busy_poll_us": 0})");
  EXPECT_EQ(o.connect_timeout_ms, 20);
  EXPECT_EQ(o.command_timeout_ms, 30);
  EXPECT_EQ(o.pool_size, 4);
  EXPECT_EQ(o.key_prefix, "app1:");
  EXPECT_EQ(o.cluster, ClusterMode::kOn);
  EXPECT_FALSE(o.native);
  EXPECT_FALSE(o.combine);
  EXPECT_EQ(o.busy_poll_us, 0);
  EXPECT_EQ(MustParse(R"({"busy_poll_us": 1000})").busy_poll_us, 1000);
  EXPECT_EQ(MustParse(R"({"cluster": "auto"})").cluster, ClusterMode::kAuto);
  EXPECT_EQ(MustParse(R"({"cluster": false})").cluster, ClusterMode::kOff);
  EXPECT_EQ(MustParse(R"({"over_limit_cache": true})").over_limit_cache_keys,
            kDefaultOverLimitCacheKeys);
  EXPECT_EQ(MustParse(R"({"over_limit_cache": false})").over_limit_cache_keys, 0u);
  EXPECT_EQ(MustParse(R"({"over_limit_cache": {"max_keys": 500}})").over_limit_cache_keys, 500u);
}

TEST(RedisOptionsTest, MistakesNameTheOption) {
  EXPECT_EQ(Refusal(R"({"url": 5})").rfind("url: expected a string", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "http://x"})").rfind("url: unknown scheme", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "rediss://x"})").rfind("url: TLS", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://h:0"})").rfind("url: bad port", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://h:99999"})").rfind("url: bad port", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://h/x"})").rfind("url: the database", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://"})").rfind("url: no host", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://u:%zz@h"})").rfind("url: bad %-escape", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "unix://relative"})").rfind("url: the socket path", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "unix:///s?user=u"})").rfind("url: a user needs", 0), 0u);
  EXPECT_EQ(Refusal(R"({"pool_size": 0})").rfind("pool_size: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"pool_size": 65})").rfind("pool_size: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"command_timeout_ms": 0})").rfind("command_timeout_ms: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"connect_timeout_ms": 1.5})").rfind("connect_timeout_ms: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"key_prefix": "a{b"})").rfind("key_prefix: must not contain", 0), 0u);
  EXPECT_EQ(Refusal(R"({"cluster": "yes"})").rfind("cluster: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"native": 1})").rfind("native: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"combine": "yes"})").rfind("combine: expected true or false", 0), 0u);
  for (const char* poll : {"-1", "1001", "2.5", "\"50\"", "true"}) {
    EXPECT_EQ(Refusal(std::string(R"({"busy_poll_us": )") + poll + "}")
                  .rfind("busy_poll_us: expected microseconds from 0 to 1000, got " +
                         std::string(poll), 0), 0u) << poll;
  }
  EXPECT_EQ(Refusal(R"({"max_keys": 1})").rfind("max_keys: unknown option", 0), 0u);
  EXPECT_EQ(Refusal(R"({"over_limit_cache": 1})").rfind("over_limit_cache: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"over_limit_cache": {"max_keys": 0}})")
                .rfind("over_limit_cache.max_keys: expected", 0), 0u);
  EXPECT_EQ(Refusal(R"({"over_limit_cache": {"size": 5}})")
                .rfind("over_limit_cache.size: unknown option", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "unix:///s", "cluster": true})").rfind("cluster: ", 0), 0u);
  EXPECT_EQ(Refusal(R"({"url": "redis://h/2", "cluster": true})").rfind("url: ", 0), 0u);
  EXPECT_EQ(Refusal("[1]").rfind("options: expected a JSON object", 0), 0u);
  EXPECT_EQ(Refusal("{").rfind("options: malformed JSON", 0), 0u);
}

TEST(RedisOptionsTest, PluginCreateRefusesBadOptionsWithInvalidArgument) {
  testing::PluginStorage storage(R"({"pool_size": "many"})");
  EXPECT_FALSE(storage.ok());
  EXPECT_EQ(storage.create_code(), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(storage.create_error().rfind("pool_size: ", 0), 0u) << storage.create_error();
}

}  // namespace
}  // namespace limify::redis
