#include "plugins/storage/sqlite/sqlite_options.h"

#include <nlohmann/json.hpp>

namespace limify::sqlite {
namespace {

constexpr int64_t kMaxBusyTimeoutMs = 3'600'000;  // an hour: anything longer is a mistake
constexpr uint64_t kMaxConnections = 64;
constexpr uint64_t kMaxSweepBatch = 100'000;

// The offending value as JSON, shortened so a huge value cannot flood a log.
std::string Shown(const nlohmann::json& value) {
  std::string text = value.dump();
  constexpr size_t kMax = 64;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// Integer JSON values in [lo, hi] only: 1e3 and 10.0 are refused, not truncated.
bool AsInteger(const nlohmann::json& value, int64_t lo, int64_t hi, int64_t* out) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(hi)) return false;
    *out = static_cast<int64_t>(v);
    return *out >= lo;
  }
  if (value.is_number_integer()) {
    *out = value.get<int64_t>();
    return *out >= lo && *out <= hi;
  }
  return false;
}

}  // namespace

bool ParseSqliteOptions(const char* json, SqliteOptions* out, std::string* error) {
  *out = SqliteOptions{};
  nlohmann::json doc = nlohmann::json::object();
  if (json != nullptr) {
    try {
      doc = nlohmann::json::parse(json);  // create is a cold path
    } catch (const nlohmann::json::parse_error& e) {
      *error = std::string("options: malformed JSON (") + e.what() + ")";
      return false;
    }
  }
  if (!doc.is_object()) {
    *error = "options: expected a JSON object, got " + Shown(doc);
    return false;
  }
  bool have_path = false;
  for (const auto& [name, value] : doc.items()) {
    int64_t n = 0;
    if (name == "path") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
          value.get_ref<const std::string&>().find('\0') != std::string::npos) {
        *error = "path: expected a file name or \":memory:\", got " + Shown(value);
        return false;
      }
      out->path = value.get<std::string>();
      have_path = true;
    } else if (name == "busy_timeout_ms") {
      if (!AsInteger(value, 0, kMaxBusyTimeoutMs, &n)) {
        *error = "busy_timeout_ms: expected an integer from 0 to 3600000, got " + Shown(value);
        return false;
      }
      out->busy_timeout_ms = n;
    } else if (name == "synchronous") {
      const std::string s = value.is_string() ? value.get<std::string>() : "";
      if (s == "off") {
        out->synchronous = Synchronous::kOff;
      } else if (s == "normal") {
        out->synchronous = Synchronous::kNormal;
      } else if (s == "full") {
        out->synchronous = Synchronous::kFull;
      } else {
        *error = "synchronous: expected \"off\", \"normal\" or \"full\", got " + Shown(value);
        return false;
      }
    } else if (name == "connections") {
      if (!AsInteger(value, 1, kMaxConnections, &n)) {
        *error = "connections: expected an integer from 1 to 64, got " + Shown(value);
        return false;
      }
      out->connections = static_cast<uint32_t>(n);
    } else if (name == "sweep_batch") {
      if (!AsInteger(value, 1, kMaxSweepBatch, &n)) {
        *error = "sweep_batch: expected an integer from 1 to 100000, got " + Shown(value);
        return false;
      }
      out->sweep_batch = static_cast<uint32_t>(n);
    } else {
      *error = name +
               ": unknown option (expected path, busy_timeout_ms, synchronous, connections, "
               "sweep_batch)";
      return false;
    }
  }
  if (!have_path) {
    *error = "path: required (a database file, e.g. \"/var/lib/app/limits.db\", or \":memory:\")";
    return false;
  }
  return true;
}

}  // namespace limify::sqlite
