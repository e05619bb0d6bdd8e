// The validated, immutable configuration model, and the JSON parser that
// builds it. Every error names the JSON path and what was expected, e.g.
//   rules[2].rate: unknown unit "fortnight" (expected second, minute, hour,
//   day, week, or a window like "100/30s")
// Checks that need the loaded plugins (does the algorithm exist, does it
// accept burst) happen later, in the engine, with the same paths.
//
// Choices the parser makes beyond the documented shape:
//  - duplicate keys in any JSON object are errors (no silent override), and
//    nesting deeper than 64 levels is refused;
//  - `storage`, when present, must name its `type`;
//  - a plan's burst is its own ({"rate": ..., "burst": N}), never the rule's;
//  - the same rate twice in one list is an error (it would share a key);
//  - a rule may not use the default rule's id while a default rule exists;
//  - identity_plans may only name "default" or a plan some rule defines.
#ifndef LIMIFY_ENGINE_CONFIG_H_
#define LIMIFY_ENGINE_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/circuit_breaker.h"
#include "engine/rate.h"

namespace limify {

// The limits one plan puts on one rule: all rates must allow.
struct LimitSet {
  std::vector<Rate> rates;  // at least one, at most 8, no two equal
  int64_t burst = 0;        // 0 = not configured (algorithm default)
  std::string json_path;    // e.g. "rules[2].plans.pro" — for later errors
};

struct RuleConfig {
  std::string id;                    // [A-Za-z0-9_.-]{1,64}
  std::vector<std::string> methods;  // upper case; empty = any method ("*")
  std::string path;                  // glob; empty for the default rule
  int64_t priority = 0;
  std::string algorithm = "token_bucket";
  LimitSet limits;                                   // plan "default"
  std::vector<std::pair<std::string, LimitSet>> plans;  // declaration order
  std::string json_path;             // "rules[2]" or "default_rule"
};

// Identity kinds, in the default resolution order.
enum class IdentityKind { kUserId, kOrgId, kApiKey, kClientIp };
enum class IdentityHash { kSha256, kHmacSha256 };

struct IdentityConfig {
  std::vector<IdentityKind> order = {IdentityKind::kUserId, IdentityKind::kOrgId,
                                     IdentityKind::kApiKey,
                                     IdentityKind::kClientIp};
  IdentityHash hash = IdentityHash::kSha256;
  std::string secret;  // HMAC key; non-empty iff hash == kHmacSha256
};

enum class ClockKind { kSystem, kManual };
enum class FailureMode { kOpen, kClosed };

struct StorageConfig {
  std::string type = "memory";
  std::string options_json = "{}";  // the `storage` object without "type"
};

struct Config {
  StorageConfig storage;
  ClockKind clock = ClockKind::kSystem;
  std::vector<std::string> plugin_paths;
  IdentityConfig identity;
  FailureMode failure_mode = FailureMode::kOpen;
  // "circuit_breaker": false disables it (nullopt); true or {} takes the defaults.
  std::optional<BreakerSettings> circuit_breaker = BreakerSettings{};
  std::vector<RuleConfig> rules;  // declaration order
  std::optional<RuleConfig> default_rule;
  // identity_plans: kind -> identity value (raw, as the host passes it) -> plan id.
  absl::flat_hash_map<IdentityKind, absl::flat_hash_map<std::string, std::string>>
      identity_plans;
};

// Parses and validates a configuration document.
absl::StatusOr<Config> ParseConfig(std::string_view json_text);

// "user_id", "org_id", "api_key", "client_ip".
std::string_view IdentityKindName(IdentityKind kind);

}  // namespace limify

#endif  // LIMIFY_ENGINE_CONFIG_H_
