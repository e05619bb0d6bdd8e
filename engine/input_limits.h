// Upper bounds on outside input. Each turns an absurd input into a clear
// error instead of unbounded memory or time; all are far above what real
// configurations and HTTP requests hold (SECURITY.md lists them).
#ifndef LIMIFY_ENGINE_INPUT_LIMITS_H_
#define LIMIFY_ENGINE_INPUT_LIMITS_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "engine/engine.h"

namespace limify {

inline constexpr size_t kMaxConfigBytes = size_t{16} << 20;
inline constexpr size_t kMaxRules = 100'000;
inline constexpr size_t kMaxPathPatternBytes = 4096;
// Each string of a request (method, path, identities, plan) and CheckKey's identity.
inline constexpr size_t kMaxRequestFieldBytes = size_t{64} << 10;

// InvalidArgument naming the first field of `request` longer than the bound.
absl::Status CheckRequestSizes(const Request& request);
// InvalidArgument when `value` (the request field `name`) is longer than the bound.
absl::Status CheckFieldSize(std::string_view name, std::string_view value);

}  // namespace limify

#endif  // LIMIFY_ENGINE_INPUT_LIMITS_H_
