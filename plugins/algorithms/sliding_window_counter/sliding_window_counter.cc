// sliding_window_counter: the approximate sliding window (Cloudflare's): the
// previous fixed window's count, weighted by how much of it still overlaps
// (now-P, now], plus the current window's count. O(1) state whatever L is.
// Exact integers: the estimate is kept in units of 1/P request.
// State (24 bytes, zero = fresh):
//   int64 window_start  start of the current window (a multiple of P)
//   int64 prev          count of the window before it
//   int64 curr          count of the current window
#include "common/algorithm_plugin.h"

namespace limify::algorithms {
namespace {

struct SlidingWindowCounter {
  static constexpr const char* kName = "sliding_window_counter";
  static constexpr const char* kBurstUnused =
      "it allows up to the limit in any window of one period";

  static std::optional<std::string> Validate(const Spec&) { return std::nullopt; }
  static size_t StateSize(const Spec&) { return 24; }
  static int64_t Capacity(const Spec& s) { return s.limit; }

  static Outcome Step(const Spec& s, unsigned char* state, int64_t now, int64_t cost,
                      bool peek) {
    const i128 L = s.limit, P = s.period;
    const i128 current = FloorToMultiple(now, P);
    i128 window = LoadI64(state);
    i128 prev = Max(0, LoadI64(state + 8));
    i128 curr = Max(0, LoadI64(state + 16));
    if (prev == 0 && curr == 0) {
      window = current;  // fresh
    } else if (current == window + P) {
      prev = curr, curr = 0, window = current;
    } else if (current > window) {
      prev = 0, curr = 0, window = current;
    }
    // current < window: the clock went back; stay in the stored window, at
    // its start (e = 0), where the previous window weighs the most.
    const i128 e = Max(0, now - window);
    const i128 estimate = prev * (P - e) + curr * P;

    Outcome o;
    o.allowed = cost <= s.limit && estimate + cost * P <= L * P;
    const bool consume = o.allowed && !peek;
    const i128 curr_after = consume ? curr + cost : curr;
    if (consume) {
      StoreI64(state, static_cast<int64_t>(window));  // >= now - P > -2^63
      StoreI64(state + 8, static_cast<int64_t>(prev));
      StoreI64(state + 16, static_cast<int64_t>(curr_after));
    }
    o.remaining = FloorDiv(L * P - (estimate + (curr_after - curr) * P), P);
    // prev weighs until this window ends; curr until the next one ends.
    o.reset_after = curr_after > 0 ? window + 2 * P - now : prev > 0 ? window + P - now : 0;
    if (!o.allowed) {
      o.never = cost > s.limit;
      o.retry_after = RetryAfter(L, P, cost, window, e, prev, curr) - now;
    }
    return o;
  }

  // The earliest time a request of `cost` (<= L) passes, from the window
  // starting at `window`, at offset `e`, holding `prev` and `curr`.
  static i128 RetryAfter(i128 L, i128 P, i128 cost, i128 window, i128 e, i128 prev,
                         i128 curr) {
    // Later in this window, as prev's weight fades: need prev*(P-e1) <= A*P.
    const i128 A = L - cost - curr;
    if (A >= 0 && prev > 0) {
      const i128 e1 = Max(e, P - FloorDiv(A * P, prev));
      if (e1 < P) return window + e1;
    }
    // In the next window, curr becomes prev: need curr*(P-e2) <= (L-cost)*P.
    // e2 == P means the window after it, where both counts are gone.
    const i128 e2 = curr == 0 ? 0 : Max(0, P - FloorDiv((L - cost) * P, curr));
    return window + P + e2;
  }
};

}  // namespace
}  // namespace limify::algorithms

LIMIFY_DEFINE_ALGORITHM_PLUGIN(limify::algorithms::SlidingWindowCounter,
                               "sliding_window_counter")
