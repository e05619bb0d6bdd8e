#include "plugins/storage/postgres/postgres_options.h"

#include <libpq-fe.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace limify::postgres {
namespace {

constexpr int kMaxTimeoutMs = 60'000;
constexpr int kMaxPoolSize = 64;

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
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(hi)) return false;
    *out = static_cast<int>(v);
    return *out >= lo;
  }
  const int64_t v = value.get<int64_t>();
  if (v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

// A schema name that needs no quoting rules beyond double quotes, and that
// no one mistakes for another: lower-case letters, digits, '_'.
bool IsSchemaName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return !s.starts_with("pg_");
}

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::Status CheckUrl(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Invalid("url: " + why + " in \"" + RedactedUrl(url) +
                   "\" (expected a libpq connection string, e.g. "
                   "postgresql://user@host:5432/db?sslmode=require)");
  }
  PQconninfoFree(parsed);
  return absl::OkStatus();
}

}  // namespace

std::string RedactedUrl(const std::string& url) {
  std::string shown = url.substr(0, 200);
  // URI form: scheme://user:password@host
  if (const size_t scheme = shown.find("://"); scheme != std::string::npos) {
    const size_t at = shown.find('@', scheme + 3);
    const size_t colon = shown.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      shown.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // key=value form (and ?password= in a URI)
  for (const char* key : {"password=", "password ="}) {
    size_t at = shown.find(key);
    while (at != std::string::npos) {
      const size_t start = at + std::string(key).size();
      size_t end = shown.find_first_of(" &", start);
      if (end == std::string::npos) end = shown.size();
      shown.replace(start, end - start, "***");
      at = shown.find(key, start + 3);
    }
  }
  return shown;
}

absl::Status ParsePostgresOptions(const char* json, PostgresOptions* out) {
  *out = PostgresOptions{};
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json != nullptr ? json : "{}");  // create is a cold path
  } catch (const nlohmann::json::parse_error& e) {
    return Invalid(std::string("options: malformed JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) return Invalid("options: expected a JSON object, got " + Shown(doc));
  bool has_url = false;
  for (const auto& [name, value] : doc.items()) {
    if (name == "url") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return Invalid("url: expected a non-empty libpq connection string, got " + Shown(value));
      }
      out->url = value.get<std::string>();
      if (absl::Status s = CheckUrl(out->url); !s.ok()) return s;
      has_url = true;
    } else if (name == "pool_size") {
      if (!AsInt(value, 1, kMaxPoolSize, &out->pool_size)) {
        return Invalid("pool_size: expected an integer from 1 to 64, got " + Shown(value));
      }
    } else if (name == "connect_timeout_ms" || name == "statement_timeout_ms") {
      int* field = name == "connect_timeout_ms" ? &out->connect_timeout_ms
                                                : &out->statement_timeout_ms;
      if (!AsInt(value, 1, kMaxTimeoutMs, field)) {
        return Invalid(name + ": expected milliseconds from 1 to 60000, got " + Shown(value));
      }
    } else if (name == "schema") {
      if (!value.is_string() || !IsSchemaName(value.get<std::string>())) {
        return Invalid("schema: expected a name of 1 to 63 lower-case letters, digits and '_', "
                       "not starting with a digit or pg_, got " + Shown(value));
      }
      out->schema = value.get<std::string>();
    } else if (name == "unlogged" || name == "migrate" || name == "native") {
      if (!value.is_boolean()) return Invalid(name + ": expected true or false, got " + Shown(value));
      bool* field = name == "unlogged" ? &out->unlogged
                    : name == "migrate" ? &out->migrate : &out->native;
      *field = value.get<bool>();
    } else if (name == "sweep_interval_ms") {
      if (!AsInt(value, 0, 3'600'000, &out->sweep_interval_ms)) {
        return Invalid("sweep_interval_ms: expected milliseconds from 0 (off) to 3600000, got " +
                       Shown(value));
      }
    } else if (name == "sweep_batch") {
      if (!AsInt(value, 1, 100'000, &out->sweep_batch)) {
        return Invalid("sweep_batch: expected an integer from 1 to 100000, got " + Shown(value));
      }
    } else {
      return Invalid(name +
                     ": unknown option (expected url, pool_size, connect_timeout_ms, "
                     "statement_timeout_ms, schema, unlogged, migrate, native, "
                     "sweep_interval_ms, sweep_batch)");
    }
  }
  if (!has_url) {
    return Invalid("url: required (a libpq connection string, e.g. "
                   "postgresql://user@host:5432/db)");
  }
  return absl::OkStatus();
}

}  // namespace limify::postgres
