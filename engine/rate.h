// The rate grammar: "<count>/<window>", e.g. "10/second", "100/30s",
// "1000/5m", "5/week". Units: second|seconds|sec|s, minute|minutes|min|m,
// hour|hours|h, day|days|d, week|weeks|w; a window may carry a positive
// integer multiplier ("30s", "5m", "2h"). Zero, negative, fractional and
// overflowing values are errors. Whitespace is not trimmed: "10 /s" and
// " 10/s" are errors, so that every accepted spelling is unambiguous.
#ifndef LIMIFY_ENGINE_RATE_H_
#define LIMIFY_ENGINE_RATE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace limify {

// Largest count a rate or burst may carry, and the longest window. Each fits
// easily in 63 bits, but their product (about 3.2e22) does not: compute
// count * period_us in 128-bit or floating-point arithmetic.
inline constexpr int64_t kMaxRateCount = 1'000'000'000;
inline constexpr int64_t kMaxPeriodUs = 366LL * 24 * 3600 * 1'000'000;  // a leap year

struct Rate {
  int64_t limit = 0;      // requests per period, > 0
  int64_t period_us = 0;  // > 0
  friend bool operator==(const Rate&, const Rate&) = default;
};

// Parses `text`. The error message says what is wrong without a JSON path;
// callers prefix it (e.g. "rules[2].rate: ").
absl::StatusOr<Rate> ParseRate(std::string_view text);

// The canonical spelling, e.g. "10/1s", "100/30s", "5/1w" — used in keys:
// the largest unit that divides the period ("10/60s" gives "10/1m"), so
// equal rates always format alike. ParseRate(FormatRate(r)) == r for every
// parsed rate (a hand-built sub-second period formats as "<n>us").
std::string FormatRate(const Rate& rate);

}  // namespace limify

#endif  // LIMIFY_ENGINE_RATE_H_
