#include "plugins/storage/redis/redis_options.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace limify::redis {
namespace {

constexpr int kMaxTimeoutMs = 60'000;
constexpr int kMaxPoolSize = 64;
constexpr int kMaxBusyPollUs = 1000;  // a reply further away is not worth a CPU
constexpr size_t kMaxPrefix = 256;

// The offending value as JSON, shortened so a huge value cannot flood a log.
std::string Shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  constexpr size_t kMax = 64;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

bool AsInt(const nlohmann::json& value, int lo, int hi, int* out) {
  if (!value.is_number_integer()) return false;  // 1e3 and 10.0 are refused
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(hi)) return false;
    *out = static_cast<int>(v);
    return *out >= lo;
  }
  int64_t v = value.get<int64_t>();
  if (v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ParseInt(std::string_view text, int lo, int hi, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX-decodes a user or password (so they may hold ':' '@' '/').
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexDigit(in[i + 1]), lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// `url` for an error message: the password (after the ':' of the userinfo,
// or a lone userinfo) becomes "***", so a config error never leaks it.
std::string Shown(std::string_view url) {
  std::string text(url.substr(0, 128));
  const size_t scheme = text.find("://");
  const size_t at = text.rfind('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    const size_t user_end = text.find(':', scheme + 3);
    const size_t from = user_end != std::string::npos && user_end < at ? user_end + 1 : scheme + 3;
    text.replace(from, at - from, "***");
  }
  size_t password = text.find("password=");
  if (password != std::string::npos) {
    password += 9;
    text.replace(password, text.find('&', password) - password, "***");
  }
  return "\"" + text + "\"";
}

// "over_limit_cache": true | false | {"max_keys": N}.
bool ParseOverLimitCache(const nlohmann::json& value, RedisOptions* out, std::string* error) {
  constexpr int kMaxKeys = 10'000'000;
  if (value.is_boolean()) {
    out->over_limit_cache_keys = value.get<bool>() ? kDefaultOverLimitCacheKeys : 0;
    return true;
  }
  if (value.is_object()) {
    for (const auto& [name, v] : value.items()) {
      int keys = 0;
      if (name != "max_keys") {
        *error = "over_limit_cache." + name + ": unknown option (expected max_keys)";
        return false;
      }
      if (!AsInt(v, 1, kMaxKeys, &keys)) {
        *error = "over_limit_cache.max_keys: expected an integer from 1 to 10000000, got " +
                 Shown(v);
        return false;
      }
      out->over_limit_cache_keys = static_cast<size_t>(keys);
    }
    if (out->over_limit_cache_keys == 0) out->over_limit_cache_keys = kDefaultOverLimitCacheKeys;
    return true;
  }
  *error = "over_limit_cache: expected true, false or {\"max_keys\": N}, got " + Shown(value);
  return false;
}

}  // namespace

bool ParseRedisUrl(std::string_view url, RedisOptions* out, std::string* error) {
  const std::string shown = Shown(url);
  auto fail = [&](const std::string& why) {
    *error = "url: " + why + " in " + shown +
             " (expected redis://[user:password@]host[:port][/db] or unix:///path[?db=N])";
    return false;
  };
  out->user.clear();
  out->password.clear();
  out->db = 0;
  if (url.starts_with("rediss://")) {
    return fail("TLS (rediss://) is not supported by this build");
  }
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest[0] != '/') return fail("the socket path must be absolute");
    if (rest.size() > 100) return fail("the socket path is too long");
    out->endpoint = Endpoint{"", 0, std::string(rest)};
    while (!query.empty()) {
      std::string_view item = query.substr(0, query.find('&'));
      query = item.size() < query.size() ? query.substr(item.size() + 1) : std::string_view();
      if (item.starts_with("db=")) {
        if (!ParseInt(item.substr(3), 0, 1 << 30, &out->db)) return fail("db must be a number");
      } else if (item.starts_with("password=")) {
        if (!PercentDecode(item.substr(9), &out->password)) return fail("bad %-escape in password");
      } else if (item.starts_with("user=")) {
        if (!PercentDecode(item.substr(5), &out->user)) return fail("bad %-escape in user");
      } else {
        return fail("unknown parameter \"" + std::string(item) + "\"");
      }
    }
    if (!out->user.empty() && out->password.empty()) return fail("a user needs a password");
    return true;
  }
  if (!url.starts_with("redis://")) return fail("unknown scheme");
  std::string_view rest = url.substr(8);
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://secret@host: a lone userinfo is the password, as redis-cli reads it.
      if (!PercentDecode(userinfo, &out->password)) return fail("bad %-escape in password");
    } else {
      if (!PercentDecode(userinfo.substr(0, colon), &out->user) ||
          !PercentDecode(userinfo.substr(colon + 1), &out->password)) {
        return fail("bad %-escape in user or password");
      }
    }
    if (out->password.empty()) return fail("empty password");
  }
  std::string host;
  int port = 6379;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in host");
    host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':' || !ParseInt(rest.substr(1), 1, 65535, &port)) return fail("bad port");
    }
  } else {
    size_t colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos &&
        !ParseInt(rest.substr(colon + 1), 1, 65535, &port)) {
      return fail("bad port");
    }
  }
  if (host.empty()) return fail("no host");
  if (!path.empty() && !ParseInt(path, 0, 1 << 30, &out->db)) {
    return fail("the database must be a number");
  }
  out->endpoint = Endpoint{host, port, ""};
  return true;
}

bool ParseRedisOptions(const char* json, RedisOptions* out, std::string* error) {
  *out = RedisOptions{};
  if (json == nullptr) return true;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);  // create is a cold path
  } catch (const nlohmann::json::parse_error& e) {
    *error = std::string("options: malformed JSON (") + e.what() + ")";
    return false;
  }
  if (!doc.is_object()) {
    *error = "options: expected a JSON object, got " + Shown(doc);
    return false;
  }
  for (const auto& [name, value] : doc.items()) {
    if (name == "url") {
      if (!value.is_string()) {
        *error = "url: expected a string, got " + Shown(value);
        return false;
      }
      if (!ParseRedisUrl(value.get<std::string>(), out, error)) return false;
    } else if (name == "connect_timeout_ms" || name == "command_timeout_ms") {
      int* field = name == "connect_timeout_ms" ? &out->connect_timeout_ms
                                                : &out->command_timeout_ms;
      if (!AsInt(value, 1, kMaxTimeoutMs, field)) {
        *error = name + ": expected milliseconds from 1 to 60000, got " + Shown(value);
        return false;
      }
    } else if (name == "pool_size") {
      if (!AsInt(value, 1, kMaxPoolSize, &out->pool_size)) {
        *error = "pool_size: expected an integer from 1 to 64, got " + Shown(value);
        return false;
      }
    } else if (name == "key_prefix") {
      if (!value.is_string()) {
        *error = "key_prefix: expected a string, got " + Shown(value);
        return false;
      }
      out->key_prefix = value.get<std::string>();
      if (out->key_prefix.size() > kMaxPrefix) {
        *error = "key_prefix: longer than 256 bytes";
        return false;
      }
      // A brace would become the key's hash tag and split the keys of one
      // check across cluster slots.
      if (out->key_prefix.find_first_of("{}") != std::string::npos) {
        *error = "key_prefix: must not contain '{' or '}' (keys carry their own hash tag), got " +
                 Shown(value);
        return false;
      }
    } else if (name == "cluster") {
      if (value.is_boolean()) {
        out->cluster = value.get<bool>() ? ClusterMode::kOn : ClusterMode::kOff;
      } else if (value.is_string() && value.get<std::string>() == "auto") {
        out->cluster = ClusterMode::kAuto;
      } else {
        *error = "cluster: expected true, false or \"auto\", got " + Shown(value);
        return false;
      }
    } else if (name == "native") {
      if (!value.is_boolean()) {
        *error = "native: expected true or false, got " + Shown(value);
        return false;
      }
      out->native = value.get<bool>();
    } else if (name == "combine") {
      if (!value.is_boolean()) {
        *error = "combine: expected true or false, got " + Shown(value);
        return false;
      }
      out->combine = value.get<bool>();
    } else if (name == "busy_poll_us") {
      if (!AsInt(value, 0, kMaxBusyPollUs, &out->busy_poll_us)) {
        *error = "busy_poll_us: expected microseconds from 0 to 1000, got " + Shown(value);
        return false;
      }
    } else if (name == "over_limit_cache") {
      if (!ParseOverLimitCache(value, out, error)) return false;
    } else {
      *error = name +
               ": unknown option (expected url, connect_timeout_ms, command_timeout_ms, "
               "pool_size, key_prefix, cluster, native, combine, busy_poll_us, "
               "over_limit_cache)";
      return false;
    }
  }
  if (!out->endpoint.unix_path.empty() && out->cluster == ClusterMode::kOn) {
    *error = "cluster: a Redis Cluster is reached over TCP, not a Unix socket";
    return false;
  }
  if (out->db != 0 && out->cluster == ClusterMode::kOn) {
    *error = "url: a Redis Cluster has only database 0";
    return false;
  }
  return true;
}

}  // namespace limify::redis
