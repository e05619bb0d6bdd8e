// What every chaos test shares: a load of checks from several threads that
// records how each call went, and the engine's stats read back.
//
// The load's rule allows far more than it asks for, with failure_mode
// "closed": a normal decision is allowed, one the failure policy took is
// denied and degraded, so each decision says which one it was.
#ifndef LIMIFY_TESTS_CHAOS_CHAOS_LOAD_H_
#define LIMIFY_TESTS_CHAOS_CHAOS_LOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace limify::chaos {

// The rule every chaos engine has, and its settings.
inline constexpr int kThreshold = 3;
inline constexpr int kRecoveryMs = 300;
// How much longer than its storage's timeout a call may take (scheduling on
// a shared 2-core machine, sanitizers).
inline constexpr int kMarginMs = 400;

// `"failure_mode": "closed", "circuit_breaker": {...}, "rules": [...]` for
// a config, after the storage. LIMIFY_CHAOS_DISABLE_BREAKER=1 writes
// "circuit_breaker": false instead: every chaos test must then fail, which
// proves it tests the breaker.
std::string PolicyAndRules();

class Load {
 public:
  struct Totals {
    uint64_t calls = 0;         // Check calls made
    uint64_t errors = 0;        // calls that returned an error
    uint64_t normal = 0;        // decided by the storage
    uint64_t degraded = 0;      // decided by the failure policy
    uint64_t off_policy = 0;    // degraded but not as failure_mode "closed" says, or
                                // normal but denied
    uint64_t slow = 0;          // calls that took at least `slow_ms`
    int64_t max_us = 0;         // the slowest call
  };

  // Starts `threads` threads checking `engine` until Stop.
  Load(Engine& engine, int threads, int slow_ms);
  ~Load() { Stop(); }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void Stop();
  // Holds every thread between two checks (returns when none is in a
  // check), for a setup step that must not race the load; Resume lets
  // them go on.
  void Pause();
  void Resume();
  uint64_t normal() const { return normal_.load(); }
  uint64_t degraded() const { return degraded_.load(); }
  Totals totals() const;

 private:
  void Run(int thread);

  Engine& engine_;
  const int64_t slow_us_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<uint64_t> calls_{0}, errors_{0}, normal_{0}, degraded_{0}, off_policy_{0},
      slow_{0};
  std::atomic<int64_t> max_us_{0};
  std::vector<std::thread> threads_;
};

// Polls `done` every 10 ms for at most `budget`.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds budget);

// From Engine::Stats: the breaker's state (0 closed, 1 open, 2 half-open),
// how often it opened, what it short-circuited; the decisions counted; the
// storage failures counted (unavailable + timeout).
int BreakerState(const Engine& engine);
uint64_t BreakerOpened(const Engine& engine);
uint64_t ShortCircuited(const Engine& engine);
uint64_t Decisions(const Engine& engine);
uint64_t StorageFailures(const Engine& engine);

// The most storage calls that may fail (or be slow) over an outage of
// `outage_ms` when the breaker works: the failures that open it (and the
// calls already in flight then), then one probe per recovery timeout, plus
// a few for the reconnection after. Without a breaker every call fails.
uint64_t FailureBudget(int threads, int64_t outage_ms);

}  // namespace limify::chaos

#endif  // LIMIFY_TESTS_CHAOS_CHAOS_LOAD_H_
