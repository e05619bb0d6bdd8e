#include "engine/clock.h"

#include <ctime>

namespace limify {

int64_t EngineClock::NowUs() const {
  if (manual()) return manual_now_us_.load(std::memory_order_acquire);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // wall clock: windows align with other hosts
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

int64_t EngineClock::NowUsThunk(void* ctx) {
  return static_cast<const EngineClock*>(ctx)->NowUs();
}

}  // namespace limify
