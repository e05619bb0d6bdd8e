// fixed_window: at most L requests in each window [k*P, (k+1)*P), windows
// aligned to multiples of P from time 0.
// State (16 bytes, zero = fresh):
//   int64 window_start  start of the window `count` belongs to
//   int64 count         requests counted in it (> 0 once written)
#include "common/algorithm_plugin.h"

namespace limify::algorithms {
namespace {

struct FixedWindow {
  static constexpr const char* kName = "fixed_window";
  static constexpr const char* kBurstUnused = "it allows up to the limit in each window";

  static std::optional<std::string> Validate(const Spec&) { return std::nullopt; }
  static size_t StateSize(const Spec&) { return 16; }
  static int64_t Capacity(const Spec& s) { return s.limit; }

  static Outcome Step(const Spec& s, unsigned char* state, int64_t now, int64_t cost,
                      bool peek) {
    const i128 L = s.limit, P = s.period;
    const i128 current = FloorToMultiple(now, P);
    i128 window = LoadI64(state);
    i128 count = Max(0, LoadI64(state + 8));
    // A later window starts from zero (so does a fresh key, count 0). An
    // earlier one means the clock went back: keep counting in the stored one.
    if (count == 0 || current > window) {
      window = current;
      count = 0;
    }
    const i128 window_end_in = window + P - now;  // > 0

    Outcome o;
    o.allowed = cost <= s.limit && count + cost <= L;
    const bool consume = o.allowed && !peek;
    const i128 after = consume ? count + cost : count;
    if (consume) {
      StoreI64(state, static_cast<int64_t>(window));  // >= now - P > -2^63
      StoreI64(state + 8, static_cast<int64_t>(after));
    }
    o.remaining = L - after;
    o.reset_after = after == 0 ? 0 : window_end_in;
    if (!o.allowed) {
      o.never = cost > s.limit;
      o.retry_after = window_end_in;
    }
    return o;
  }
};

}  // namespace
}  // namespace limify::algorithms

LIMIFY_DEFINE_ALGORITHM_PLUGIN(limify::algorithms::FixedWindow, "fixed_window")
