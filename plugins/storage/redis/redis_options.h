// Options of the redis storage: the `storage` JSON object without "type",
// and the Redis URL inside it.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_OPTIONS_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace limify::redis {

// Where a server listens: TCP host and port, or a Unix socket path.
struct Endpoint {
  std::string host;       // name or address; IPv6 without brackets
  int port = 6379;
  std::string unix_path;  // set for unix:// URLs (then host is empty)

  std::string ToString() const {
    if (!unix_path.empty()) return "unix://" + unix_path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
  }
};

enum class ClusterMode { kAuto, kOn, kOff };

// See busy_poll.h: about one round trip to a server nearby, loopback on a
// virtual machine included (48 us measured for a polled token_bucket check).
inline constexpr int kDefaultBusyPollUs = 100;

struct RedisOptions {
  Endpoint endpoint{"127.0.0.1", 6379, ""};
  std::string user;      // AUTH user password (Redis 6 ACL) when set
  std::string password;  // AUTH password when set without a user
  int db = 0;
  int connect_timeout_ms = 50;
  int command_timeout_ms = 50;  // bounds a whole check, retries included
  int pool_size = 1;            // connections per server (each shared, pipelined)
  std::string key_prefix;       // prepended to every key; no '{' or '}'
  ClusterMode cluster = ClusterMode::kAuto;
  bool native = true;  // false: every algorithm takes the generic path
  bool combine = true;  // false: concurrent checks are never combined into one call
  // How long a lone caller polls for its reply before it sleeps; 0: never.
  int busy_poll_us = kDefaultBusyPollUs;
  // Entries of the over-limit cache; 0: off (the default). "over_limit_cache":
  // true sets kDefaultOverLimitCacheKeys, {"max_keys": N} sets N.
  size_t over_limit_cache_keys = 0;
};

inline constexpr size_t kDefaultOverLimitCacheKeys = 100'000;

// Parses redis://[user:password@]host[:port][/db] or unix:///path[?db=N]
// into `out` (endpoint, user, password, db). On error returns false and sets
// `error` to a message that starts with "url: ".
bool ParseRedisUrl(std::string_view url, RedisOptions* out, std::string* error);

// Parses `json` (NULL means "{}"). On error returns false and sets `error` to
// a message that starts with the option's name, e.g.
//   pool_size: expected an integer from 1 to 64, got 0
bool ParseRedisOptions(const char* json, RedisOptions* out, std::string* error);

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_OPTIONS_H_
