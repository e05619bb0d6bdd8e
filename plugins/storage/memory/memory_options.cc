#include "plugins/storage/memory/memory_options.h"

#include <nlohmann/json.hpp>

namespace limify::memory {
namespace {

constexpr uint32_t kMaxShards = 4096;

// The offending value as JSON, shortened so a huge value cannot flood a log.
std::string Shown(const nlohmann::json& value) {
  std::string text = value.dump();
  constexpr size_t kMax = 64;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// Integer JSON values only: 1e6 and 10.0 are refused, not truncated.
bool AsPositiveInteger(const nlohmann::json& value, uint64_t* out) {
  if (value.is_number_unsigned()) {
    *out = value.get<uint64_t>();
    return *out > 0;
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    *out = static_cast<uint64_t>(v);
    return v > 0;
  }
  return false;
}

}  // namespace

bool ParseMemoryOptions(const char* json, MemoryOptions* out,
                        std::string* error) {
  *out = MemoryOptions{};
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
    if (name == "max_keys") {
      if (!AsPositiveInteger(value, &out->max_keys)) {
        *error = "max_keys: expected a positive integer, got " + Shown(value);
        return false;
      }
    } else if (name == "shards") {
      uint64_t n = 0;
      if (!AsPositiveInteger(value, &n) || n > kMaxShards || (n & (n - 1)) != 0) {
        *error = "shards: expected a power of two from 1 to 4096, got " + Shown(value);
        return false;
      }
      out->shards = static_cast<uint32_t>(n);
    } else {
      *error = name + ": unknown option (expected max_keys, shards)";
      return false;
    }
  }
  return true;
}

}  // namespace limify::memory
