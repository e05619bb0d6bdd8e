#include "engine/clock.h"

#include <ctime>

namespace limify {
namespace {

bool InRange(__int128 t) { return t > -kMaxClockUs && t < kMaxClockUs; }

}  // namespace

int64_t EngineClock::NowUs() const {
  if (manual_) return manual_now_us_.load(std::memory_order_acquire);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // wall clock: windows align with other hosts
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

bool EngineClock::Set(int64_t now_us) {
  if (!InRange(now_us)) return false;
  manual_now_us_.store(now_us, std::memory_order_release);
  return true;
}

bool EngineClock::Advance(int64_t delta_us) {
  int64_t now = manual_now_us_.load(std::memory_order_acquire);
  do {
    if (!InRange(static_cast<__int128>(now) + delta_us)) return false;
  } while (!manual_now_us_.compare_exchange_weak(now, now + delta_us, std::memory_order_acq_rel));
  return true;
}

int64_t EngineClock::NowUsThunk(void* ctx) {
  return static_cast<const EngineClock*>(ctx)->NowUs();
}

}  // namespace limify
