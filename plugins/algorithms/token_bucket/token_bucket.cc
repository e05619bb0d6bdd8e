// token_bucket: a bucket of B tokens that refills L tokens per period P.
//
// Exact integers: one token is P units and the bucket refills L units per
// microsecond, so no fraction of a token is ever rounded away.
// State (16 bytes, zero = full bucket):
//   int64 deficit_units  units missing from a full bucket (B*P units)
//   int64 last_us        time of the last consumption, never moved backwards
#include "common/algorithm_plugin.h"

namespace limify::algorithms {
namespace {

struct TokenBucket {
  static constexpr const char* kName = "token_bucket";
  static constexpr const char* kBurstUnused = nullptr;

  static std::optional<std::string> Validate(const Spec&) { return std::nullopt; }
  static size_t StateSize(const Spec&) { return 16; }
  static int64_t Capacity(const Spec& s) { return s.burst; }

  static Outcome Step(const Spec& s, unsigned char* state, int64_t now, int64_t cost,
                      bool peek) {
    const i128 L = s.limit, P = s.period, full = i128{s.burst} * P;
    const int64_t stored_deficit = LoadI64(state);
    // A stored deficit is always > 0, so 0 means a fresh, full bucket whose
    // timestamp means nothing (this also makes zero state fresh before 1970).
    i128 deficit = Max(0, stored_deficit);
    i128 last = deficit == 0 ? i128{now} : i128{LoadI64(state + 8)};
    // Refill only for time moving forward; a clock going back refills nothing.
    deficit = Max(0, deficit - Max(0, now - last) * L);
    last = Max(last, now);
    // When the clock went back, refill resumes only once it passes `last`.
    const i128 wait_for_clock = last - now;
    const i128 need = i128{cost} * P;

    Outcome o;
    o.allowed = cost <= s.burst && deficit + need <= full;
    const bool consume = o.allowed && !peek;
    const i128 after = consume ? deficit + need : deficit;
    if (consume) {
      StoreI64(state, static_cast<int64_t>(after));  // <= B*P <= 2^62
      StoreI64(state + 8, static_cast<int64_t>(last));
    }
    o.remaining = FloorDiv(full - after, P);
    o.reset_after = after > 0 ? wait_for_clock + CeilDiv(after, L) : 0;
    if (!o.allowed) {
      o.never = cost > s.burst;
      o.retry_after = wait_for_clock + CeilDiv(deficit + need - full, L);
    }
    return o;
  }
};

}  // namespace
}  // namespace limify::algorithms

LIMIFY_DEFINE_ALGORITHM_PLUGIN(limify::algorithms::TokenBucket, "token_bucket")
