// gcra: the generic cell rate algorithm (virtual scheduling). Same decisions
// as token_bucket on a monotonic clock, with one timestamp of state.
//
// Scaled time keeps it exact: 1 us = L units, emission interval T = P units,
// tolerance B*P units. A request is allowed when its theoretical arrival
// time (TAT) stays within the tolerance of now.
// State (16 bytes, zero = fresh):
//   int64 tat_us   TAT_scaled = tat_us * L + tat_rem
//   int64 tat_rem  0 <= tat_rem < L
#include "common/algorithm_plugin.h"

namespace limify::algorithms {
namespace {

struct Gcra {
  static constexpr const char* kName = "gcra";
  static constexpr const char* kBurstUnused = nullptr;

  static std::optional<std::string> Validate(const Spec&) { return std::nullopt; }
  static size_t StateSize(const Spec&) { return 16; }
  static int64_t Capacity(const Spec& s) { return s.burst; }

  static Outcome Step(const Spec& s, unsigned char* state, int64_t now, int64_t cost,
                      bool peek) {
    const i128 L = s.limit, P = s.period, tolerance = i128{s.burst} * P;
    const int64_t tat_us = LoadI64(state), tat_rem = LoadI64(state + 8);
    const i128 now_s = i128{now} * L;
    // Zero is fresh at any time (a TAT of exactly 0 only arises before 1970).
    const bool fresh = tat_us == 0 && tat_rem == 0;
    const i128 tat = fresh ? now_s : Max(i128{tat_us} * L + tat_rem, now_s);
    const i128 new_tat = tat + i128{cost} * P;

    Outcome o;
    o.allowed = cost <= s.burst && new_tat - now_s <= tolerance;
    const bool consume = o.allowed && !peek;
    const i128 after = consume ? new_tat : tat;
    if (consume) {
      // new_tat <= now_s + B*P, so the quotient fits int64 for |now| < 2^62.
      const i128 q = FloorDiv(new_tat, L);
      StoreI64(state, static_cast<int64_t>(q));
      StoreI64(state + 8, static_cast<int64_t>(new_tat - q * L));
    }
    // Negative only if the clock went back past a consumption: clamped to 0.
    o.remaining = FloorDiv(tolerance - (after - now_s), P);
    o.reset_after = CeilDiv(after - now_s, L);
    if (!o.allowed) {
      o.never = cost > s.burst;
      o.retry_after = CeilDiv(new_tat - now_s - tolerance, L);
    }
    return o;
  }
};

}  // namespace
}  // namespace limify::algorithms

LIMIFY_DEFINE_ALGORITHM_PLUGIN(limify::algorithms::Gcra, "gcra")
