// Reading untrusted JSON with errors that name the JSON path, for the config
// parser: `rules[1].priority: expected an integer, got "high"`.
// Private to the engine (nlohmann-json is not part of any public interface).
#ifndef LIMIFY_ENGINE_JSON_READER_H_
#define LIMIFY_ENGINE_JSON_READER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace limify::json {

// Keeps object keys in document order, so "declaration order" means
// something and errors come out in the order the reader wrote them.
using Json = nlohmann::ordered_json;

// Deeper documents are refused: no real configuration needs it, and later
// recursive walks (dump) must not overflow the stack.
inline constexpr int kMaxDepth = 64;

// Parses a whole document. Errors, prefixed with `root_name`:
//   config: invalid JSON at byte N: line L, column C: <what>
//   rules[0]: duplicate key "rate"      (JSON allows it; we refuse silent overrides)
//   config: nesting deeper than 64 levels
absl::StatusOr<Json> Parse(std::string_view text, std::string_view root_name = "config");

// Path building. Key("", "rules") = "rules"; Key("rules[0]", "rate") =
// "rules[0].rate"; keys that are not plain words are quoted:
// Key("rules[0].plans", "pro.v2") = `rules[0].plans["pro.v2"]`.
std::string Key(std::string_view path, std::string_view key);
std::string Index(std::string_view path, size_t i);

// InvalidArgument "<path>: <message>" ("config" stands for the empty path).
absl::Status Error(std::string_view path, std::string_view message);

// A value as an error shows it: scalars as JSON (long strings cut short),
// containers by kind ("a list", "an empty list", "an object").
std::string Describe(const Json& value);

// `<path>: expected <what>, got <Describe(value)>`.
absl::Status TypeError(std::string_view path, std::string_view what, const Json& value);

absl::Status ExpectObject(const Json& value, std::string_view path);
absl::StatusOr<std::string> GetString(const Json& value, std::string_view path);
absl::StatusOr<int64_t> GetInt(const Json& value, std::string_view path);

// Every key of `object` must be in `allowed`; the first that is not gives
// `<path>.<key>: unknown key (expected a, b, c)`.
absl::Status CheckKeys(const Json& object, std::string_view path,
                       std::initializer_list<std::string_view> allowed);

}  // namespace limify::json

#endif  // LIMIFY_ENGINE_JSON_READER_H_
