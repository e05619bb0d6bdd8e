// A cheap clock for timing checks (the check latency histogram), not for
// telling time.
//
// A check on the memory storage takes ~150 ns; clock_gettime costs ~30 ns
// in a VM, so two reads per check would add 40%. The CPU's time-stamp
// counter costs a third of that. It is used only when the kernel itself
// trusts it (current clocksource "tsc": invariant, synchronized across
// cores); otherwise, and on other CPUs, ticks are CLOCK_MONOTONIC
// nanoseconds. Ticks are converted to seconds with a rate measured once per
// process against CLOCK_MONOTONIC (about a millisecond, at the first call
// to Get()).
#ifndef LIMIFY_ENGINE_CYCLE_CLOCK_H_
#define LIMIFY_ENGINE_CYCLE_CLOCK_H_

#include <cstdint>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define LIMIFY_HAVE_TSC 1
#endif

namespace limify {

class CycleClock {
 public:
  // The process's clock, calibrated on first use. Thread-safe.
  static const CycleClock& Get();

  // Ticks since an arbitrary origin; differences are durations.
  uint64_t Now() const {
#ifdef LIMIFY_HAVE_TSC
    if (use_tsc_) return __rdtsc();
#endif
    return MonotonicNs();
  }

  double ticks_per_second() const { return ticks_per_second_; }
  bool uses_tsc() const { return use_tsc_; }

  // CLOCK_MONOTONIC in nanoseconds.
  static uint64_t MonotonicNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }

 private:
  CycleClock();

  bool use_tsc_ = false;
  double ticks_per_second_ = 1e9;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_CYCLE_CLOCK_H_
