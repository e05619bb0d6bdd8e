#include "engine/circuit_breaker.h"

namespace limify {

CircuitBreaker::Ticket CircuitBreaker::AdmitSlow(const EngineClock& clock) {
  uint64_t word = word_.load(std::memory_order_acquire);
  if (word < kOpenWord) return {Pass::kCall, word};  // closed meanwhile
  if (word == kOpenWord &&
      clock.NowUs() >= probe_at_us_.load(std::memory_order_relaxed) &&
      word_.compare_exchange_strong(word, kHalfOpenWord, std::memory_order_acq_rel)) {
    return {Pass::kProbe, kHalfOpenWord};  // the one caller that won the exchange
  }
  return {Pass::kReject, word};
}

void CircuitBreaker::Open(const EngineClock& clock) {
  probe_at_us_.store(clock.NowUs() + settings_.recovery_timeout_us, std::memory_order_relaxed);
}

CircuitBreaker::Transition CircuitBreaker::RecordSlow(const Ticket& ticket, bool storage_failed,
                                                      const EngineClock& clock) {
  if (ticket.pass == Pass::kProbe) {
    // Only the probe moves a half-open breaker: plain stores suffice.
    if (!storage_failed) {
      word_.store(0, std::memory_order_release);
      return Transition::kClosed;
    }
    Open(clock);
    word_.store(kOpenWord, std::memory_order_release);
    return Transition::kReopened;
  }
  uint64_t word = word_.load(std::memory_order_relaxed);
  if (!storage_failed) {
    // Any success resets the count; a call that ends after the breaker
    // opened changes nothing (the probe decides).
    while (word != 0 && word < kOpenWord &&
           !word_.compare_exchange_weak(word, 0, std::memory_order_relaxed)) {
    }
    return Transition::kNone;
  }
  while (word < kOpenWord) {
    if (static_cast<int64_t>(word) + 1 >= settings_.failure_threshold) {
      // Set before the word turns open, so whoever sees it open sees when
      // to probe. Two threads racing here store nearly the same time.
      Open(clock);
      if (word_.compare_exchange_weak(word, kOpenWord, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return Transition::kOpened;
      }
    } else if (word_.compare_exchange_weak(word, word + 1, std::memory_order_relaxed)) {
      return Transition::kNone;
    }
  }
  return Transition::kNone;  // already open: a late failure adds nothing
}

CircuitBreaker::State CircuitBreaker::state() const {
  const uint64_t word = word_.load(std::memory_order_acquire);
  if (word < kOpenWord) return State::kClosed;
  return word == kOpenWord ? State::kOpen : State::kHalfOpen;
}

int64_t CircuitBreaker::RetryInUs(const EngineClock& clock) const {
  if (state() != State::kOpen) return 0;
  const int64_t wait = probe_at_us_.load(std::memory_order_relaxed) - clock.NowUs();
  return wait > 0 ? wait : 0;
}

}  // namespace limify
