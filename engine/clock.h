// The clock a storage that does not own one (memory, SQLite) reads through
// limify_storage_env, in microseconds since the Unix epoch. Each storage
// instance has its own, fixed for its lifetime:
//  - system: the wall clock read once, when the storage is created, then
//    advanced by the monotonic clock. It never steps back when NTP or a VM
//    resume moves the wall clock (which would freeze every bucket's refill
//    for as long as the step), at the price of drifting with the wall
//    clock's later corrections;
//  - manual (config "clock": "manual"): moves only when told, so hosts can
//    test rate-limited code deterministically.
#ifndef LIMIFY_ENGINE_CLOCK_H_
#define LIMIFY_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace limify {

// Times beyond ±2^62 µs (146,000 years) are refused: algorithms do exact
// arithmetic on them.
inline constexpr int64_t kMaxClockUs = int64_t{1} << 62;

class EngineClock {
 public:
  explicit EngineClock(bool manual);

  int64_t NowUs() const;
  bool manual() const { return manual_; }

  // Manual clock only. False (and no change) when the result would leave
  // ±kMaxClockUs.
  bool Set(int64_t now_us);
  bool Advance(int64_t delta_us);

  // Adapter for limify_storage_env::now_us; `ctx` is an EngineClock*.
  static int64_t NowUsThunk(void* ctx);

 private:
  const bool manual_;
  int64_t wall_at_start_us_ = 0;       // system: the wall clock at creation...
  int64_t monotonic_at_start_us_ = 0;  // ...and the monotonic clock then
  std::atomic<int64_t> manual_now_us_{0};  // the manual clock starts at the epoch
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_CLOCK_H_
