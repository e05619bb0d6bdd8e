// The engine's clock: the system's wall clock in microseconds since the Unix
// epoch, or a manual clock that only moves when told (config "clock":
// "manual"), so hosts can test rate-limited code deterministically.
// Storages that do not own a clock (memory, SQLite) read it through
// limify_storage_env.
#ifndef LIMIFY_ENGINE_CLOCK_H_
#define LIMIFY_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace limify {

class EngineClock {
 public:
  int64_t NowUs() const;

  bool manual() const { return manual_.load(std::memory_order_acquire); }
  void set_manual(bool manual) { manual_.store(manual, std::memory_order_release); }
  void Set(int64_t now_us) { manual_now_us_.store(now_us, std::memory_order_release); }
  void Advance(int64_t delta_us) {
    manual_now_us_.fetch_add(delta_us, std::memory_order_acq_rel);
  }

  // Adapter for limify_storage_env::now_us; `ctx` is an EngineClock*.
  static int64_t NowUsThunk(void* ctx);

 private:
  std::atomic<bool> manual_{false};
  std::atomic<int64_t> manual_now_us_{0};  // the manual clock starts at the epoch
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_CLOCK_H_
