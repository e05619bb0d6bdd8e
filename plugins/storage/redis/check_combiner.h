// Concurrent checks, combined into few calls while the server is busy.
//
// A check that finds fewer than `calls_in_flight` calls on their way is sent
// alone at once, exactly as without the combiner: a lone caller pays a lock
// and nothing else. Otherwise it queues. When a call comes back, its sender
// hands the freed turn to the oldest queued check, whose thread (the leader)
// takes up to `max_together` queued checks, itself first, and sends them
// together through `send` (for the redis storage: one call of a script's
// batch form, lua/README.md), then wakes them one after another and hands
// its turn on. At 64 callers the server then pays a script call's own cost
// once per call instead of once per check, which is most of its time.
//
// Deadlines. A queued check whose deadline passes leaves the queue unsent
// (TIMEOUT). A leader sends within its own deadline and takes no check due
// sooner, so a taken check is answered, or failed, by about its own
// deadline; it waits for that, as the leader writes into it.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_CHECK_COMBINER_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_CHECK_COMBINER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace limify::redis {

class CheckCombiner {
 public:
  using Clock = std::chrono::steady_clock;

  // One check on its way, on its caller's stack.
  struct Entry {
    void* check = nullptr;  // the caller's, for `send`
    Clock::time_point deadline{};
    bool decided = false;   // set by `send`: false sends it alone after all

   private:
    friend class CheckCombiner;
    std::atomic<uint32_t> state{0};
    Entry* wake_next = nullptr;
  };

  // Decides what it can of `entries` within `deadline`, setting `decided`
  // on those; must not throw.
  using Send = std::function<void(Entry* const* entries, size_t n, Clock::time_point deadline)>;

  CheckCombiner(int calls_in_flight, size_t max_together, Send send);
  CheckCombiner(const CheckCombiner&) = delete;
  CheckCombiner& operator=(const CheckCombiner&) = delete;

  enum class Turn {
    kAlone,      // send it alone now, then call Leave()
    kDecided,    // decided together with others
    kUndecided,  // sent together, not decided (e.g. NOSCRIPT): send it alone, no Leave()
    kTimedOut,   // its deadline passed while it waited: never sent
  };
  Turn Enter(Entry* entry);
  // After a kAlone check's call came back.
  void Leave() { HandOn(); }

  // Calls that were sent for several checks, and checks waiting for a turn
  // (tests and diagnostics).
  uint64_t combined_calls() const { return combined_calls_.load(std::memory_order_relaxed); }
  size_t queued() const;

 private:
  Turn Lead(Entry* self);
  void HandOn();

  const int calls_in_flight_;
  const size_t max_together_;
  const Send send_;
  mutable std::mutex mu_;
  int in_flight_ = 0;          // calls on their way, and turns handed to a leader
  std::deque<Entry*> queue_;   // waiting for a turn, oldest first
  std::atomic<uint64_t> combined_calls_{0};
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_CHECK_COMBINER_H_
