// Exact integer arithmetic shared by the algorithm plugins.
//
// Every product of a limit, a period, a cost or a time is taken in 128 bits,
// so no decision is ever rounded or wrapped: validate() keeps limit × period
// and burst × period within 2^62 and step() keeps |now| below 2^62, which
// leaves every intermediate far inside __int128.
#ifndef LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_MATH_H_
#define LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_MATH_H_

#include <cstdint>
#include <cstring>
#include <limits>

namespace limify::algorithms {

using i128 = __int128;

// Largest allowed limit × period (and burst × period), and the largest |now_us|.
inline constexpr int64_t kMaxProduct = int64_t{1} << 62;
inline constexpr int64_t kMaxAbsTime = int64_t{1} << 62;

// floor(a / b) for b > 0, also for negative a (C++ division truncates).
constexpr i128 FloorDiv(i128 a, i128 b) {
  // Operands nearly always fit in 64 bits, where division is several times
  // cheaper than the 128-bit library call; the result is the same.
  constexpr i128 kMin = std::numeric_limits<int64_t>::min();
  constexpr i128 kMax = std::numeric_limits<int64_t>::max();
  if (a > kMin && a <= kMax && b > 0 && b <= kMax) {
    const int64_t x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
    const int64_t q = x / y;
    return (x % y != 0 && x < 0) ? q - 1 : q;
  }
  i128 q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// ceil(a / b) for b > 0.
constexpr i128 CeilDiv(i128 a, i128 b) { return -FloorDiv(-a, b); }

// a rounded down to a multiple of b (b > 0): the start of a's window.
constexpr i128 FloorToMultiple(i128 a, i128 b) { return FloorDiv(a, b) * b; }

constexpr i128 Max(i128 a, i128 b) { return a > b ? a : b; }
constexpr i128 Min(i128 a, i128 b) { return a < b ? a : b; }

// Clamps to [0, INT64_MAX]: verdict durations and counts are never negative,
// and a wait beyond 292,000 years is reported as the largest one.
constexpr int64_t ClampToOutput(i128 v) {
  if (v < 0) return 0;
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(v);
}

// State fields may sit at any alignment: always go through memcpy.
inline int64_t LoadI64(const unsigned char* p) {
  int64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreI64(unsigned char* p, int64_t v) { std::memcpy(p, &v, sizeof v); }
inline uint32_t LoadU32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreU32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

}  // namespace limify::algorithms

#endif  // LIMIFY_PLUGINS_ALGORITHMS_COMMON_ALGORITHM_MATH_H_
