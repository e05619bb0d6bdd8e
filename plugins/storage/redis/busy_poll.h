// Busy polling for a lone caller's reply: when one thread of the whole
// process is waiting on Redis, it reads its socket without blocking for a
// short while before it goes to sleep.
//
// Why: one caller alone pays, on every check, for falling asleep and being
// woken by the reply. On a virtual machine that wake-up (an idle vCPU halting
// and being kicked awake) costs more than the server's work: measured here,
// a lone token_bucket check took 135 us with a blocking read and 48 us with
// the reader polling, 2.7x the checks per second, for about the same CPU per
// check (the blocking path spends it in the kernel). With other callers in
// progress nobody polls: their CPU is worth more than one reply's wake-up,
// and the pipeline keeps the server busy anyway.
//
// Bounded:
//  - at most `budget` per wait, never past the wait's own end, and only
//    while the poller is the process's only call in progress (a caller that
//    arrives stops it at once);
//  - not on one CPU, where the poller would keep the server (or whatever
//    answers for it) from running (UsableBusyPoll);
//  - a wait that polls in vain (a far or slow server) makes the next lone
//    waits block at once: 1, then 2, 4... up to 128 of them, until a poll
//    is answered again. A server 1 ms away thus costs about budget/128 of
//    polling per check.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_BUSY_POLL_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_BUSY_POLL_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace limify::redis {

// The calling thread counts as a Redis call in progress (process-wide, every
// connection of every engine) for the lifetime of this object.
class CallInProgress {
 public:
  CallInProgress() { count_.fetch_add(1, std::memory_order_relaxed); }
  ~CallInProgress() { count_.fetch_sub(1, std::memory_order_relaxed); }
  CallInProgress(const CallInProgress&) = delete;
  CallInProgress& operator=(const CallInProgress&) = delete;

  // True when the caller's own call is the only one.
  static bool Alone() { return count_.load(std::memory_order_relaxed) <= 1; }

 private:
  static inline std::atomic<int> count_{0};
};

// The budget a connection gets from the busy_poll_us option: none on one
// CPU.
std::chrono::microseconds UsableBusyPoll(int budget_us, unsigned cpus);

// When the reader of one connection may poll. Used only by the holder of the
// connection's reader role, one thread at a time (the role's hand-over
// orders the accesses); the counters may be read from any thread.
class BusyPollPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BusyPollPolicy(std::chrono::microseconds budget);

  // Where polling for the reply about to be waited for ends (no later than
  // `wait_end`), or Clock::time_point{} for none: block at once.
  Clock::time_point PollUntil(Clock::time_point wait_end);
  // After a wait that PollUntil let poll: whether data came while polling.
  void Record(bool answered);

  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }
  uint64_t in_vain() const { return in_vain_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kMaxSkip = 128;

  const Clock::duration budget_;  // zero: never poll
  int skip_ = 0;                  // lone waits left that block at once
  int next_skip_ = 1;             // skip_ after the next poll in vain
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> in_vain_{0};
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_BUSY_POLL_H_
