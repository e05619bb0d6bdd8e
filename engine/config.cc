// The configuration schema: walks the parsed JSON, validates every field
// and builds the Config model. Each error names the JSON path it is about.
#include "engine/config.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/input_limits.h"
#include "engine/json_reader.h"
#include "engine/plugin_validation.h"
#include "engine/route_table.h"

namespace limify {
namespace {

using json::Error;
using json::Json;
using json::Key;

#define LIMIFY_RETURN_IF_ERROR(expr)         \
  do {                                       \
    if (absl::Status s_ = (expr); !s_.ok()) { \
      return s_;                             \
    }                                        \
  } while (0)

constexpr size_t kMaxRatesPerLimit = 8;
// Beyond these a breaker never opens or never probes in any useful sense.
constexpr int64_t kMaxBreakerThreshold = 1'000'000;
constexpr int64_t kMaxBreakerRecoveryMs = 3'600'000;
constexpr std::string_view kIdentityNames =
    "user_id, org_id, api_key, client_ip";

// "Error" in a StatusOr, as a Status (for LIMIFY_RETURN_IF_ERROR).
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& v) {
  return v.status();
}

// Rule and plan ids go into storage keys: a small, unambiguous alphabet.
bool IsId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

// Algorithm and storage names are plugin names (the loader's rule), short
// enough to sit in a storage key.
bool IsPluginName(std::string_view s) { return s.size() <= 64 && IsValidPluginName(s); }

// An HTTP method is a token (RFC 9110 section 5.6.2).
bool IsMethodToken(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string Quoted(std::string_view s) { return Json(std::string(s)).dump(); }

std::optional<IdentityKind> KindFromName(std::string_view name) {
  for (IdentityKind k : {IdentityKind::kUserId, IdentityKind::kOrgId, IdentityKind::kApiKey,
                         IdentityKind::kClientIp}) {
    if (IdentityKindName(k) == name) return k;
  }
  return std::nullopt;
}

// A string that must be one of `choices` (shown in order in the error).
absl::Status ParseChoice(const Json& v, const std::string& path,
                         std::initializer_list<std::string_view> choices, size_t* out) {
  std::string expected;
  size_t i = 0;
  for (std::string_view c : choices) {
    if (v.is_string() && v.get<std::string>() == c) {
      *out = i;
      return absl::OkStatus();
    }
    expected += i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ");
    expected += Quoted(c);
    ++i;
  }
  return json::TypeError(path, expected, v);
}

absl::Status ParseId(const Json& v, const std::string& path, std::string* out) {
  absl::StatusOr<std::string> s = json::GetString(v, path);
  LIMIFY_RETURN_IF_ERROR(StatusOf(s));
  if (!IsId(*s)) {
    return Error(path, "invalid id " + Quoted(*s) +
                           " (expected 1 to 64 characters from A-Z a-z 0-9 _ . -)");
  }
  *out = std::move(*s);
  return absl::OkStatus();
}

absl::Status ParseOneRate(const Json& v, const std::string& path, Rate* out) {
  absl::StatusOr<std::string> s = json::GetString(v, path);
  if (!s.ok()) return json::TypeError(path, "a rate string like \"10/minute\"", v);
  absl::StatusOr<Rate> rate = ParseRate(*s);
  if (!rate.ok()) return Error(path, std::string(rate.status().message()));
  *out = *rate;
  return absl::OkStatus();
}

// A rate string, or a list of them that must all allow.
absl::Status ParseRates(const Json& v, const std::string& path, std::vector<Rate>* out) {
  out->clear();
  if (v.is_string()) {
    out->emplace_back();
    return ParseOneRate(v, path, &out->back());
  }
  if (!v.is_array() || v.empty()) {
    return json::TypeError(path, "a rate string or a non-empty list of rate strings", v);
  }
  if (v.size() > kMaxRatesPerLimit) {
    return Error(path, "at most " + std::to_string(kMaxRatesPerLimit) + " rates, got " +
                           std::to_string(v.size()));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    Rate rate;
    LIMIFY_RETURN_IF_ERROR(ParseOneRate(v[i], json::Index(path, i), &rate));
    for (size_t j = 0; j < out->size(); ++j) {
      // Equal rates would share one storage key and be charged twice.
      if ((*out)[j] == rate) {
        return Error(json::Index(path, i), "duplicate rate " + Quoted(FormatRate(rate)) +
                                               " (same as " + json::Index(path, j) + ")");
      }
    }
    out->push_back(rate);
  }
  return absl::OkStatus();
}

absl::Status ParseBurst(const Json& v, const std::string& path, int64_t* out) {
  absl::StatusOr<int64_t> n = json::GetInt(v, path);
  if (!n.ok() || *n < 1 || *n > kMaxRateCount) {
    return json::TypeError(path, "a positive integer up to " + std::to_string(kMaxRateCount), v);
  }
  *out = *n;
  return absl::OkStatus();
}

// A plan: a rate string, a list of them, or {"rate": ..., "burst": N}.
// A plan's burst is its own (0 = algorithm default), never the rule's.
absl::Status ParsePlan(const Json& v, const std::string& path, LimitSet* out) {
  out->json_path = path;
  if (!v.is_object()) {
    if (!v.is_string() && !v.is_array()) {
      return json::TypeError(path,
                             "a rate string, a list of rate strings or an object "
                             "{\"rate\": ..., \"burst\": N}",
                             v);
    }
    return ParseRates(v, path, &out->rates);
  }
  LIMIFY_RETURN_IF_ERROR(json::CheckKeys(v, path, {"rate", "burst"}));
  if (!v.contains("rate")) return Error(Key(path, "rate"), "missing (a plan needs a rate)");
  LIMIFY_RETURN_IF_ERROR(ParseRates(v["rate"], Key(path, "rate"), &out->rates));
  if (v.contains("burst")) {
    LIMIFY_RETURN_IF_ERROR(ParseBurst(v["burst"], Key(path, "burst"), &out->burst));
  }
  return absl::OkStatus();
}

absl::Status ParsePlans(const Json& v, const std::string& path,
                        std::vector<std::pair<std::string, LimitSet>>* out) {
  LIMIFY_RETURN_IF_ERROR(json::ExpectObject(v, path));
  for (const auto& [id, value] : v.items()) {
    const std::string plan_path = Key(path, id);
    if (!IsId(id)) {
      return Error(plan_path,
                   "invalid plan id (expected 1 to 64 characters from A-Z a-z 0-9 _ . -)");
    }
    if (id == "default") {
      return Error(plan_path,
                   "the plan name \"default\" is reserved (it is the rule's own rate)");
    }
    LimitSet limits;
    LIMIFY_RETURN_IF_ERROR(ParsePlan(value, plan_path, &limits));
    out->emplace_back(id, std::move(limits));
  }
  return absl::OkStatus();
}

// "*", a method, or a non-empty list of methods; stored upper-case.
absl::Status ParseMethods(const Json& v, const std::string& path,
                          std::vector<std::string>* out) {
  constexpr std::string_view kExpected =
      "\"*\", a method like \"GET\" or a non-empty list of methods";
  if (v.is_string()) {
    const std::string m = v.get<std::string>();
    if (m == "*") return absl::OkStatus();
    if (!IsMethodToken(m)) return json::TypeError(path, kExpected, v);
    out->push_back(Upper(m));
    return absl::OkStatus();
  }
  if (!v.is_array() || v.empty()) return json::TypeError(path, kExpected, v);
  if (v.size() == 1 && v[0] == "*") return absl::OkStatus();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string item_path = json::Index(path, i);
    if (v[i] == "*") {
      return Error(item_path, "\"*\" must stand alone (it already means every method)");
    }
    if (!v[i].is_string() || !IsMethodToken(v[i].get<std::string>())) {
      return json::TypeError(item_path, "a method like \"GET\"", v[i]);
    }
    std::string m = Upper(v[i].get<std::string>());
    for (const std::string& seen : *out) {
      if (seen == m) return Error(item_path, "duplicate method " + Quoted(m));
    }
    out->push_back(std::move(m));
  }
  return absl::OkStatus();
}

// A rule, or the default rule (is_default: no method, path or priority).
absl::Status ParseRule(const Json& v, const std::string& path, bool is_default,
                       RuleConfig* out) {
  LIMIFY_RETURN_IF_ERROR(json::ExpectObject(v, path));
  out->json_path = path;
  out->limits.json_path = path;
  if (is_default) {
    for (std::string_view key : {"method", "path", "priority"}) {
      if (v.contains(key)) {
        return Error(Key(path, key),
                     "unknown key (the default rule applies to every request no rule "
                     "matches; expected id, algorithm, rate, burst, plans)");
      }
    }
    LIMIFY_RETURN_IF_ERROR(json::CheckKeys(v, path, {"id", "algorithm", "rate", "burst", "plans"}));
    out->id = "default";
  } else {
    LIMIFY_RETURN_IF_ERROR(json::CheckKeys(
        v, path, {"id", "method", "path", "priority", "algorithm", "rate", "burst", "plans"}));
    if (!v.contains("id")) return Error(Key(path, "id"), "missing (every rule needs an id)");
  }
  if (v.contains("id")) LIMIFY_RETURN_IF_ERROR(ParseId(v["id"], Key(path, "id"), &out->id));
  if (v.contains("method")) {
    LIMIFY_RETURN_IF_ERROR(ParseMethods(v["method"], Key(path, "method"), &out->methods));
  }
  if (!is_default) {
    const std::string path_path = Key(path, "path");
    if (!v.contains("path")) {
      return Error(path_path, "missing (every rule needs a path, e.g. \"/items/**\")");
    }
    absl::StatusOr<std::string> p = json::GetString(v["path"], path_path);
    LIMIFY_RETURN_IF_ERROR(StatusOf(p));
    if (p->size() > kMaxPathPatternBytes) {
      return Error(path_path, absl::StrCat(p->size(), " bytes long; the most limify accepts is ",
                                           kMaxPathPatternBytes));
    }
    if (absl::Status s = CheckPathPattern(*p); !s.ok()) {
      return Error(path_path, std::string(s.message()));
    }
    out->path = std::move(*p);
  }
  if (v.contains("priority")) {
    absl::StatusOr<int64_t> p = json::GetInt(v["priority"], Key(path, "priority"));
    LIMIFY_RETURN_IF_ERROR(StatusOf(p));
    out->priority = *p;
  }
  if (v.contains("algorithm")) {
    const std::string algo_path = Key(path, "algorithm");
    absl::StatusOr<std::string> a = json::GetString(v["algorithm"], algo_path);
    LIMIFY_RETURN_IF_ERROR(StatusOf(a));
    if (!IsPluginName(*a)) {
      return Error(algo_path, "invalid algorithm name " + Quoted(*a) +
                                  " (expected lower-case letters, digits and _)");
    }
    out->algorithm = std::move(*a);
  }
  if (!v.contains("rate")) {
    return Error(Key(path, "rate"), "missing (every rule needs a rate, e.g. \"10/minute\")");
  }
  LIMIFY_RETURN_IF_ERROR(ParseRates(v["rate"], Key(path, "rate"), &out->limits.rates));
  if (v.contains("burst")) {
    LIMIFY_RETURN_IF_ERROR(ParseBurst(v["burst"], Key(path, "burst"), &out->limits.burst));
  }
  if (v.contains("plans")) {
    LIMIFY_RETURN_IF_ERROR(ParsePlans(v["plans"], Key(path, "plans"), &out->plans));
  }
  return absl::OkStatus();
}

absl::Status ParseRules(const Json& v, Config* out) {
  if (!v.is_array()) return json::TypeError("rules", "a list of rules", v);
  if (v.size() > kMaxRules) {
    return Error("rules", absl::StrCat(v.size(), " rules; the most limify accepts is ", kMaxRules));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    RuleConfig rule;
    LIMIFY_RETURN_IF_ERROR(ParseRule(v[i], json::Index("rules", i), false, &rule));
    for (size_t j = 0; j < out->rules.size(); ++j) {
      // Rule ids name storage keys: two rules must never share state.
      if (out->rules[j].id == rule.id) {
        return Error(Key(rule.json_path, "id"), "duplicate rule id " + Quoted(rule.id) +
                                                    " (already used by rules[" +
                                                    std::to_string(j) + "])");
      }
    }
    out->rules.push_back(std::move(rule));
  }
  return absl::OkStatus();
}

absl::Status ParseDefaultRule(const Json& v, Config* out) {
  RuleConfig rule;
  LIMIFY_RETURN_IF_ERROR(ParseRule(v, "default_rule", true, &rule));
  for (size_t j = 0; j < out->rules.size(); ++j) {
    if (out->rules[j].id == rule.id) {
      return Error("default_rule.id", "rule id " + Quoted(rule.id) + " is already used by rules[" +
                                          std::to_string(j) + "]");
    }
  }
  out->default_rule = std::move(rule);
  return absl::OkStatus();
}

// `type` names the storage plugin; every other key is the plugin's options.
absl::Status ParseStorage(const Json& v, StorageConfig* out) {
  LIMIFY_RETURN_IF_ERROR(json::ExpectObject(v, "storage"));
  if (!v.contains("type")) {
    return Error("storage.type", "missing (the storage plugin's name, e.g. \"memory\")");
  }
  absl::StatusOr<std::string> type = json::GetString(v["type"], "storage.type");
  LIMIFY_RETURN_IF_ERROR(StatusOf(type));
  if (!IsPluginName(*type)) {
    return Error("storage.type", "invalid storage name " + Quoted(*type) +
                                     " (expected lower-case letters, digits and _)");
  }
  Json options = v;
  options.erase("type");
  out->type = std::move(*type);
  out->options_json = options.dump(-1, ' ', false, Json::error_handler_t::replace);
  return absl::OkStatus();
}

absl::Status ParseIdentity(const Json& v, IdentityConfig* out) {
  LIMIFY_RETURN_IF_ERROR(json::ExpectObject(v, "identity"));
  LIMIFY_RETURN_IF_ERROR(json::CheckKeys(v, "identity", {"order", "hash", "secret"}));
  if (v.contains("order")) {
    const Json& order = v["order"];
    if (!order.is_array() || order.empty()) {
      return json::TypeError("identity.order", "a non-empty list of identity names", order);
    }
    out->order.clear();
    for (size_t i = 0; i < order.size(); ++i) {
      const std::string item_path = json::Index("identity.order", i);
      std::optional<IdentityKind> kind;
      if (order[i].is_string()) kind = KindFromName(order[i].get<std::string>());
      if (!kind) return json::TypeError(item_path, "one of " + std::string(kIdentityNames), order[i]);
      for (IdentityKind seen : out->order) {
        if (seen == *kind) return Error(item_path, "duplicate identity " + order[i].dump());
      }
      out->order.push_back(*kind);
    }
  }
  std::optional<size_t> hash;
  if (v.contains("hash")) {
    size_t h = 0;
    LIMIFY_RETURN_IF_ERROR(ParseChoice(v["hash"], "identity.hash", {"sha256", "hmac-sha256"}, &h));
    hash = h;
  }
  if (v.contains("secret")) {
    const Json& secret = v["secret"];
    if (!secret.is_string() || secret.get<std::string>().empty()) {
      return json::TypeError("identity.secret", "a non-empty string", secret);
    }
    if (hash == 0u) {
      return Error("identity.secret",
                   "not used with identity.hash \"sha256\" (set hash to \"hmac-sha256\" or "
                   "remove the secret)");
    }
    out->secret = secret.get<std::string>();
    out->hash = IdentityHash::kHmacSha256;  // a secret alone implies HMAC
  } else if (hash == 1u) {
    return Error("identity.secret", "missing (identity.hash \"hmac-sha256\" needs a secret)");
  }
  return absl::OkStatus();
}

bool PlanDefined(const Config& config, std::string_view plan) {
  if (plan == "default") return true;
  auto defines = [plan](const RuleConfig& r) {
    for (const auto& [id, limits] : r.plans) {
      if (id == plan) return true;
    }
    return false;
  };
  for (const RuleConfig& r : config.rules) {
    if (defines(r)) return true;
  }
  return config.default_rule && defines(*config.default_rule);
}

// kind -> raw identity value -> plan id; the plan must exist somewhere, so a
// typo is caught at load rather than silently giving the default plan.
absl::Status ParseIdentityPlans(const Json& v, Config* out) {
  LIMIFY_RETURN_IF_ERROR(json::ExpectObject(v, "identity_plans"));
  LIMIFY_RETURN_IF_ERROR(
      json::CheckKeys(v, "identity_plans", {"user_id", "org_id", "api_key", "client_ip"}));
  for (const auto& [kind_name, values] : v.items()) {
    const std::string kind_path = Key("identity_plans", kind_name);
    LIMIFY_RETURN_IF_ERROR(json::ExpectObject(values, kind_path));
    auto& map = out->identity_plans[*KindFromName(kind_name)];
    for (const auto& [identity, plan] : values.items()) {
      const std::string path = Key(kind_path, identity);
      if (identity.empty()) return Error(path, "empty identity value (identities are never empty)");
      if (!plan.is_string() || !IsId(plan.get<std::string>())) {
        return json::TypeError(path, "a plan id", plan);
      }
      const std::string plan_id = plan.get<std::string>();
      if (!PlanDefined(*out, plan_id)) {
        return Error(path, "plan " + Quoted(plan_id) + " is not defined by any rule");
      }
      map.emplace(identity, plan_id);
    }
  }
  return absl::OkStatus();
}

// false, true (the defaults) or {"failure_threshold": N, "recovery_timeout_ms": M}.
absl::Status ParseCircuitBreaker(const Json& v, std::optional<BreakerSettings>* out) {
  constexpr std::string_view kPath = "circuit_breaker";
  if (v.is_boolean()) {
    if (!v.get<bool>()) out->reset();
    return absl::OkStatus();
  }
  if (!v.is_object()) {
    return json::TypeError(kPath,
                           "false, true or an object {\"failure_threshold\": N, "
                           "\"recovery_timeout_ms\": M}",
                           v);
  }
  LIMIFY_RETURN_IF_ERROR(json::CheckKeys(v, kPath, {"failure_threshold", "recovery_timeout_ms"}));
  BreakerSettings settings;
  if (v.contains("failure_threshold")) {
    const std::string path = Key(kPath, "failure_threshold");
    absl::StatusOr<int64_t> n = json::GetInt(v["failure_threshold"], path);
    if (!n.ok() || *n < 1 || *n > kMaxBreakerThreshold) {
      return json::TypeError(
          path, "an integer from 1 to " + std::to_string(kMaxBreakerThreshold), v["failure_threshold"]);
    }
    settings.failure_threshold = *n;
  }
  if (v.contains("recovery_timeout_ms")) {
    const std::string path = Key(kPath, "recovery_timeout_ms");
    absl::StatusOr<int64_t> ms = json::GetInt(v["recovery_timeout_ms"], path);
    if (!ms.ok() || *ms < 1 || *ms > kMaxBreakerRecoveryMs) {
      return json::TypeError(path,
                             "milliseconds from 1 to " + std::to_string(kMaxBreakerRecoveryMs),
                             v["recovery_timeout_ms"]);
    }
    settings.recovery_timeout_us = *ms * 1000;
  }
  *out = settings;
  return absl::OkStatus();
}

absl::Status ParseStringList(const Json& v, const std::string& path,
                             std::vector<std::string>* out) {
  if (!v.is_array()) return json::TypeError(path, "a list of strings", v);
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty()) {
      return json::TypeError(json::Index(path, i), "a non-empty string", v[i]);
    }
    out->push_back(v[i].get<std::string>());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view json_text) {
  if (json_text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: ", json_text.size(), " bytes; the most limify accepts is ", kMaxConfigBytes));
  }
  absl::StatusOr<Json> doc = json::Parse(json_text);
  if (!doc.ok()) return doc.status();
  const Json& root = *doc;
  if (!root.is_object()) return json::TypeError("config", "a JSON object", root);
  LIMIFY_RETURN_IF_ERROR(json::CheckKeys(
      root, "",
      {"storage", "clock", "plugin_paths", "identity", "failure_mode", "circuit_breaker", "rules",
       "default_rule", "identity_plans"}));

  Config config;
  if (root.contains("storage")) LIMIFY_RETURN_IF_ERROR(ParseStorage(root["storage"], &config.storage));
  if (root.contains("clock")) {
    size_t c = 0;
    LIMIFY_RETURN_IF_ERROR(ParseChoice(root["clock"], "clock", {"system", "manual"}, &c));
    config.clock = c == 0 ? ClockKind::kSystem : ClockKind::kManual;
  }
  if (root.contains("plugin_paths")) {
    LIMIFY_RETURN_IF_ERROR(ParseStringList(root["plugin_paths"], "plugin_paths", &config.plugin_paths));
  }
  if (root.contains("identity")) LIMIFY_RETURN_IF_ERROR(ParseIdentity(root["identity"], &config.identity));
  if (root.contains("failure_mode")) {
    size_t f = 0;
    LIMIFY_RETURN_IF_ERROR(ParseChoice(root["failure_mode"], "failure_mode", {"open", "closed"}, &f));
    config.failure_mode = f == 0 ? FailureMode::kOpen : FailureMode::kClosed;
  }
  if (root.contains("circuit_breaker")) {
    LIMIFY_RETURN_IF_ERROR(ParseCircuitBreaker(root["circuit_breaker"], &config.circuit_breaker));
  }
  if (root.contains("rules")) LIMIFY_RETURN_IF_ERROR(ParseRules(root["rules"], &config));
  if (root.contains("default_rule")) LIMIFY_RETURN_IF_ERROR(ParseDefaultRule(root["default_rule"], &config));
  // Last: checks plan ids against the rules.
  if (root.contains("identity_plans")) {
    LIMIFY_RETURN_IF_ERROR(ParseIdentityPlans(root["identity_plans"], &config));
  }
  return config;
}

std::string_view IdentityKindName(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kUserId: return "user_id";
    case IdentityKind::kOrgId: return "org_id";
    case IdentityKind::kApiKey: return "api_key";
    case IdentityKind::kClientIp: return "client_ip";
  }
  return "unknown";
}

}  // namespace limify
