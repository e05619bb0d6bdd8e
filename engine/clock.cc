#include "engine/clock.h"

#include <ctime>

namespace limify {
namespace {

bool InRange(__int128 t) { return t > -kMaxClockUs && t < kMaxClockUs; }

int64_t ReadUs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace

EngineClock::EngineClock(bool manual) : manual_(manual) {
  if (!manual_) {
    wall_at_start_us_ = ReadUs(CLOCK_REALTIME);
    monotonic_at_start_us_ = ReadUs(CLOCK_MONOTONIC);
  }
}

int64_t EngineClock::NowUs() const {
  if (manual_) return manual_now_us_.load(std::memory_order_acquire);
  return wall_at_start_us_ + (ReadUs(CLOCK_MONOTONIC) - monotonic_at_start_us_);
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
