// Sleeping on a 32-bit word of one's own until another thread changes it and
// wakes the sleeper (Linux futex): a woken thread returns without retaking
// any lock, and a wake reaches exactly the thread it is meant for.
//
// A wake may arrive after its waiter has returned (the word then being other
// memory): FUTEX_WAKE on a word nobody waits on does nothing, and a waiter
// that another thread later puts there treats it as the spurious wake-up a
// futex waiter must expect anyway (it checks its word again).
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_FUTEX_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace limify::redis {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "a futex word is a plain 32-bit integer");

// Sleeps while *word == value, at most until `deadline` (or a signal, or a
// spurious wake-up: callers loop on their condition).
template <typename Clock>
void FutexWait(std::atomic<uint32_t>* word, uint32_t value,
               std::chrono::time_point<Clock> deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  struct timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, value, &ts,
            nullptr, 0);
}

// Wakes the one thread sleeping on `word`, if any.
inline void FutexWake(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_FUTEX_H_
