// The circuit breaker of one storage instance: after `failure_threshold`
// consecutive storage failures (UNAVAILABLE or TIMEOUT) it opens, and checks
// are decided by the failure policy without calling the storage, so a dead
// or stalled server costs nothing per check instead of a timeout each. After
// `recovery_timeout` one caller at a time is let through as a probe: its
// success closes the breaker, its failure opens it again for another
// recovery_timeout.
//
// Lock-free. The state and the failure count share one atomic word: a closed
// breaker with no failure pending is 0, so the request path pays one relaxed
// load when all is well. Time is the engine clock of the storage (the manual
// clock in tests), read only when a failure is counted or the breaker is
// open.
#ifndef LIMIFY_ENGINE_CIRCUIT_BREAKER_H_
#define LIMIFY_ENGINE_CIRCUIT_BREAKER_H_

#include <atomic>
#include <cstdint>

#include "engine/clock.h"

namespace limify {

struct BreakerSettings {
  int64_t failure_threshold = 5;           // consecutive failures that open it
  int64_t recovery_timeout_us = 1'000'000;  // open this long before a probe

  friend bool operator==(const BreakerSettings&, const BreakerSettings&) = default;
};

class CircuitBreaker {
 public:
  // The numbers are the stats' `state` values.
  enum class State : uint8_t { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  // What the breaker lets a storage call do.
  enum class Pass : uint8_t {
    kCall,   // closed: call the storage
    kProbe,  // half-open, and this caller is the one probe: call it
    kReject  // open (or another caller probes): decide without the storage
  };
  struct Ticket {
    Pass pass;
    uint64_t seen;  // the word Admit read (0: closed, nothing to reset)
  };

  // A change of state that Record caused, for the error listener and metrics.
  enum class Transition : uint8_t { kNone, kOpened, kReopened, kClosed };

  explicit CircuitBreaker(BreakerSettings settings) : settings_(settings) {}
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Before a storage call. Every kCall and kProbe ticket must be handed back
  // to Record with the call's outcome.
  Ticket Admit(const EngineClock& clock) {
    const uint64_t word = word_.load(std::memory_order_relaxed);
    if (word < kOpenWord) return {Pass::kCall, word};
    return AdmitSlow(clock);
  }

  // After the storage call `ticket` admitted. `storage_failed`: it was
  // unreachable or too slow; anything else (success, an algorithm's error,
  // a refused argument) proves the storage answers.
  Transition Record(const Ticket& ticket, bool storage_failed, const EngineClock& clock) {
    if (!storage_failed && ticket.seen == 0 && ticket.pass == Pass::kCall) {
      return Transition::kNone;  // the request path: nothing to reset
    }
    return RecordSlow(ticket, storage_failed, clock);
  }

  State state() const;
  // Microseconds until the next probe may go (0 when closed or probing).
  int64_t RetryInUs(const EngineClock& clock) const;
  const BreakerSettings& settings() const { return settings_; }

 private:
  // Closed: the word is the count of consecutive failures (< threshold).
  static constexpr uint64_t kOpenWord = uint64_t{1} << 32;
  static constexpr uint64_t kHalfOpenWord = uint64_t{2} << 32;

  Ticket AdmitSlow(const EngineClock& clock);
  Transition RecordSlow(const Ticket& ticket, bool storage_failed, const EngineClock& clock);
  void Open(const EngineClock& clock);

  const BreakerSettings settings_;
  std::atomic<uint64_t> word_{0};
  // When an open breaker lets its next probe through (engine clock, µs).
  // Written before the word turns open (release), read after (acquire).
  std::atomic<int64_t> probe_at_us_{0};
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_CIRCUIT_BREAKER_H_
