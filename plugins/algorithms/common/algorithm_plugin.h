// Turns a C++ algorithm type into a limify_algorithm and a plugin manifest,
// so each algorithm file holds only its own arithmetic.
//
// An algorithm type provides:
//   static constexpr const char* kName;        // "token_bucket"
//   static constexpr const char* kBurstUnused; // nullptr if it uses burst, else
//                                              // why not ("it allows up to ...")
//   static std::optional<std::string> Validate(const Spec&);  // extra checks
//   static size_t StateSize(const Spec&);
//   static int64_t Capacity(const Spec&);      // verdict.limit
//   static Outcome Step(const Spec&, unsigned char* state, int64_t now,
//                       int64_t cost, bool peek);
// Step receives a spec that passed every check, a state of exactly
// StateSize bytes, cost >= 1 and |now| < 2^62; it must not allocate.
#ifndef LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_PLUGIN_H_
#define LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_PLUGIN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "common/algorithm_math.h"
#include "limify/plugin.h"
#include "limify/plugin.hpp"

namespace limify::algorithms {

// A limit spec as the algorithms see it: burst already defaulted.
struct Spec {
  int64_t limit;   // L
  int64_t period;  // P, microseconds
  int64_t burst;   // B: spec->burst, or L when it was 0
};

// What Step decides; the adapter clamps and copies it into a limify_verdict.
struct Outcome {
  bool allowed = false;
  bool never = false;     // denied and no wait helps (cost > capacity)
  i128 remaining = 0;     // whole requests left after this step
  i128 reset_after = 0;   // until the state is equivalent to a fresh one
  i128 retry_after = 0;   // denied: until a request of this cost passes
};

// "1w", "30s", "250ms": a period in the largest unit that divides it exactly.
inline std::string FormatPeriod(int64_t period_us) {
  struct Unit { int64_t us; const char* suffix; };
  static constexpr Unit kUnits[] = {{604800000000, "w"}, {86400000000, "d"},
                                    {3600000000, "h"},   {60000000, "m"},
                                    {1000000, "s"},      {1000, "ms"}};
  for (const Unit& u : kUnits) {
    if (period_us % u.us == 0) return std::to_string(period_us / u.us) + u.suffix;
  }
  return std::to_string(period_us) + "us";
}

// Reads and checks a spec for algorithm `Algo`. Returns the refusal message,
// or nullopt (no allocation) when the spec is usable.
template <typename Algo>
std::optional<std::string> CheckSpec(const limify_limit_spec* in, Spec* out) {
  // Strings are built only to refuse: a valid spec costs no allocation.
  const std::string_view name = Algo::kName;
  auto refuse = [&](const std::string& text) { return std::string(name) + text; };
  if (in == nullptr) return refuse(": no limit spec given");
  // Read no field past the size the host declared; burst may be absent.
  if (in->struct_size < offsetof(limify_limit_spec, burst)) {
    return refuse(": limit spec struct is too small (" + std::to_string(in->struct_size) +
                  " bytes)");
  }
  const int64_t limit = in->limit;
  const int64_t period = in->period_us;
  const int64_t burst =
      in->struct_size >= offsetof(limify_limit_spec, burst) + sizeof(in->burst) ? in->burst : 0;
  if (limit <= 0) {
    return refuse(": limit must be a positive number of requests (got " +
                  std::to_string(limit) + ")");
  }
  if (period <= 0) {
    return refuse(": period must be a positive number of microseconds (got " +
                  std::to_string(period) + ")");
  }
  if (burst < 0) {
    return refuse(": burst must not be negative (got " + std::to_string(burst) +
                  "); leave it at 0 to default it to the limit");
  }
  if (Algo::kBurstUnused != nullptr && burst != 0) {
    return refuse(std::string(" does not use \"burst\" (") + Algo::kBurstUnused +
                  "); remove it or choose token_bucket or gcra");
  }
  if (i128{limit} * period > kMaxProduct) {
    return refuse(": " + std::to_string(limit) + "/" + FormatPeriod(period) +
                  " is too large: limit × period must stay below 2^62 microseconds");
  }
  if (i128{burst} * period > kMaxProduct) {
    return refuse(": burst " + std::to_string(burst) + " with a period of " +
                  FormatPeriod(period) +
                  " is too large: burst × period must stay below 2^62 microseconds");
  }
  *out = Spec{limit, period, burst == 0 ? limit : burst};
  return Algo::Validate(*out);
}

// The limify_algorithm functions for `Algo`.
template <typename Algo>
struct AlgorithmAdapter {
  static int32_t Validate(const limify_limit_spec* spec, limify_plugin_error* err) {
    return plugin::Guard(err, [&]() -> int32_t {
      Spec s;
      if (auto refusal = CheckSpec<Algo>(spec, &s)) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, *refusal);
      }
      return LIMIFY_PLUGIN_OK;
    });
  }

  // No error channel here: an invalid spec needs no state.
  static size_t StateSize(const limify_limit_spec* spec) noexcept {
    try {
      Spec s;
      if (CheckSpec<Algo>(spec, &s)) return 0;
      return Algo::StateSize(s);
    } catch (...) {
      return 0;
    }
  }

  static int32_t Step(const limify_limit_spec* spec, void* state, size_t state_size,
                      int64_t now_us, int64_t cost, int peek, limify_verdict* out,
                      limify_plugin_error* err) {
    return plugin::Guard(err, [&]() -> int32_t {
      const std::string_view name = Algo::kName;
      Spec s;
      // Re-checked on every step (a few comparisons, no allocation when
      // valid) so an unvalidated spec can never overflow the arithmetic.
      if (auto refusal = CheckSpec<Algo>(spec, &s)) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, *refusal);
      }
      if (out == nullptr || out->struct_size < offsetof(limify_verdict, limit)) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                                std::string(name) + ": no room for the verdict");
      }
      const size_t expected = Algo::StateSize(s);
      if (state == nullptr || state_size != expected) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                                std::string(name) + ": state is " + std::to_string(state_size) +
                                    " bytes, this limit needs " + std::to_string(expected));
      }
      if (cost < 1) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                                std::string(name) + ": cost must be at least 1 (got " +
                                    std::to_string(cost) + ")");
      }
      if (now_us <= -kMaxAbsTime || now_us >= kMaxAbsTime) {
        return plugin::SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                                std::string(name) + ": now_us " + std::to_string(now_us) +
                                    " is outside ±2^62 microseconds");
      }
      const Outcome o =
          Algo::Step(s, static_cast<unsigned char*>(state), now_us, cost, peek != 0);
      limify_verdict v{};
      v.allowed = o.allowed ? 1 : 0;
      v.limit = Algo::Capacity(s);
      v.remaining = ClampToOutput(o.remaining);
      v.reset_after_us = ClampToOutput(o.reset_after);
      // A denied request always waits at least 1 us (a safety net for state
      // corrupted outside the plugin; exact arithmetic never needs it).
      v.retry_after_us = o.allowed ? 0
                         : o.never ? LIMIFY_RETRY_NEVER
                                   : ClampToOutput(Max(1, o.retry_after));
      // Write no byte past the size the host declared; keep its struct_size.
      const size_t n = out->struct_size < sizeof v ? out->struct_size : sizeof v;
      const size_t skip = sizeof v.struct_size;
      std::memcpy(reinterpret_cast<unsigned char*>(out) + skip,
                  reinterpret_cast<const unsigned char*>(&v) + skip, n - skip);
      return LIMIFY_PLUGIN_OK;
    });
  }

  static constexpr limify_algorithm kVtable = {
      sizeof(limify_algorithm), 0, Algo::kName, &Validate, &StateSize, &Step};
};

}  // namespace limify::algorithms

// Defines the manifest "limify_<name>" (version 0.1.0) holding the one
// algorithm `Algo` whose name is the string literal `name`, and exports the
// plugin entry.
#define LIMIFY_DEFINE_ALGORITHM_PLUGIN(Algo, name)                                    \
  static_assert(std::string_view(Algo::kName) == name);                              \
  namespace {                                                                        \
  const limify_algorithm* const kLimifyAlgorithms[] = {                              \
      &::limify::algorithms::AlgorithmAdapter<Algo>::kVtable};                       \
  const limify_plugin_manifest kLimifyManifest = {                                   \
      LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,         \
      sizeof(limify_plugin_manifest), 0, "limify_" name, "0.1.0", 1,                 \
      kLimifyAlgorithms, 0, nullptr};                                                \
  }                                                                                  \
  LIMIFY_DEFINE_PLUGIN_ENTRY(kLimifyManifest)

#endif  // LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_PLUGIN_H_
