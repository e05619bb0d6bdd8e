// sliding_window: the exact log. At most L requests in any window (now-P, now];
// an entry with timestamp ts has expired once ts + P <= now. Like a Redis
// sorted set of timestamps, in a fixed ring so a step never allocates.
// State (8 + 8*L bytes, zero = fresh):
//   uint32 head       ring index of the oldest entry
//   uint32 count      entries in the ring (expired ones included)
//   int64  ts[L]      timestamps, oldest first from head, never decreasing
#include "common/algorithm_plugin.h"

namespace limify::algorithms {
namespace {

// Beyond this the state (8 bytes per request) is too big for one key.
constexpr int64_t kMaxLimit = 100000;

// Read-only view of the ring: entry i is the i-th oldest.
class Ring {
 public:
  Ring(unsigned char* state, uint32_t limit)
      : state_(state),
        limit_(limit),
        // Garbage from elsewhere must not index out of the ring.
        head_(LoadU32(state) % limit),
        count_(LoadU32(state + 4) < limit ? LoadU32(state + 4) : limit) {}

  uint32_t count() const { return count_; }
  int64_t At(uint32_t i) const { return LoadI64(Slot(i)); }
  void Set(uint32_t i, int64_t ts) { StoreI64(Slot(i), ts); }

  // Drops the `n` oldest entries and saves head and count.
  void DropAndSave(uint32_t n, uint32_t new_count) {
    head_ = static_cast<uint32_t>((uint64_t{head_} + n) % limit_);
    count_ = new_count;
    StoreU32(state_, head_);
    StoreU32(state_ + 4, count_);
  }

 private:
  unsigned char* Slot(uint32_t i) const {
    return state_ + 8 + 8 * ((uint64_t{head_} + i) % limit_);
  }

  unsigned char* state_;
  uint32_t limit_;
  uint32_t head_;
  uint32_t count_;
};

struct SlidingWindow {
  static constexpr const char* kName = "sliding_window";
  static constexpr const char* kBurstUnused =
      "it allows up to the limit in any window of one period";

  static std::optional<std::string> Validate(const Spec& s) {
    if (s.limit > kMaxLimit) {
      return "sliding_window: limit " + std::to_string(s.limit) +
             " is too large for the exact log (at most " + std::to_string(kMaxLimit) +
             " requests: it stores 8 bytes per request per key); use sliding_window_counter, "
             "which needs 24 bytes whatever the limit";
    }
    return std::nullopt;
  }
  static size_t StateSize(const Spec& s) { return 8 + 8 * static_cast<size_t>(s.limit); }
  static int64_t Capacity(const Spec& s) { return s.limit; }

  static Outcome Step(const Spec& s, unsigned char* state, int64_t now, int64_t cost,
                      bool peek) {
    const i128 P = s.period;
    const uint32_t L = static_cast<uint32_t>(s.limit);
    Ring ring(state, L);
    // Expire on a local view: the state is only written by a consuming step.
    // The ring is ordered, so the expired entries are a prefix: bisect for its
    // end (peeks and refusals do not drop them, and must not walk 100,000).
    uint32_t expired = 0;
    for (uint32_t hi = ring.count(); expired < hi;) {
      const uint32_t mid = expired + (hi - expired) / 2;
      if (ring.At(mid) + P <= now) {
        expired = mid + 1;
      } else {
        hi = mid;
      }
    }
    const uint32_t live = ring.count() - expired;
    const int64_t newest = live > 0 ? ring.At(ring.count() - 1) : now;

    Outcome o;
    o.allowed = cost <= s.limit && live + cost <= s.limit;
    const bool consume = o.allowed && !peek;
    const i128 live_after = consume ? live + cost : live;
    // New entries never predate the newest, so the ring stays ordered when
    // the clock goes back (and they expire no earlier than it).
    const int64_t stamp = newest > now ? newest : now;
    if (consume) {
      for (uint32_t i = 0; i < cost; ++i) ring.Set(ring.count() + i, stamp);
      ring.DropAndSave(expired, static_cast<uint32_t>(live_after));
    }
    o.remaining = i128{L} - live_after;
    o.reset_after = live_after > 0 ? (consume ? stamp : newest) + P - now : 0;
    if (!o.allowed) {
      o.never = cost > s.limit;
      if (!o.never) {
        // Room for `cost` once the k-th oldest live entry expires: measured
        // from the oldest entries, not the newest.
        const uint32_t k = static_cast<uint32_t>(live + cost - L);
        o.retry_after = ring.At(expired + k - 1) + P - now;
      }
    }
    return o;
  }
};

}  // namespace
}  // namespace limify::algorithms

LIMIFY_DEFINE_ALGORITHM_PLUGIN(limify::algorithms::SlidingWindow, "sliding_window")
