// Storage keys. One key per limit of a rule:
//
//   limify:{<rule>|<plan>|<kind>|<identity>}:<algorithm>:<rate>[:b<burst>]
//   e.g. limify:{items|pro|user|9f86d081884c7d659a2feaa0c55ad015}:token_bucket:100/1m
//
// - <rule> and <plan> are ids restricted to [A-Za-z0-9_.-] by the config;
//   <kind> is user, org, apikey, ip, key (CheckKey) or anon; <identity> is
//   the 32-hex-digit hash of the identity ("-" for anon). No field can hold
//   '|', '{', '}' or ':', so no two identities share a key and none escapes
//   its prefix.
// - The braces are a Redis Cluster hash tag: every limit of one rule and
//   identity lands in one slot, so a multi-limit check stays one atomic step.
// - The suffix names the algorithm and limit, so after a reload a changed
//   limit starts fresh while unchanged ones keep their state.
#ifndef LIMIFY_ENGINE_STORAGE_KEYS_H_
#define LIMIFY_ENGINE_STORAGE_KEYS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "limify/plugin.h"

namespace limify {

// The most limits one plan may put on a rule (the config enforces it).
inline constexpr size_t kMaxLimitsPerRule = 8;

// The fixed parts of the keys of one (rule, plan), computed at load time.
struct KeyTemplate {
  std::string prefix;                 // "limify:{<rule>|<plan>|"
  std::vector<std::string> suffixes;  // "}:<algorithm>:<rate>[:b<burst>]", per limit
};

// The keys of one check, built into one inline buffer (no allocation for
// keys of ordinary length).
class StorageKeys {
 public:
  // Builds one key per suffix of `tmpl` for identity `kind` + `token`.
  void Build(const KeyTemplate& tmpl, std::string_view kind, std::string_view token);

  const limify_key* keys() const { return keys_; }
  size_t size() const { return count_; }

 private:
  absl::InlinedVector<char, 1024> bytes_;
  limify_key keys_[kMaxLimitsPerRule];
  size_t count_ = 0;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_STORAGE_KEYS_H_
