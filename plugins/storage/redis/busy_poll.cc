#include "plugins/storage/redis/busy_poll.h"

#include <algorithm>

namespace limify::redis {

std::chrono::microseconds UsableBusyPoll(int budget_us, unsigned cpus) {
  return std::chrono::microseconds(cpus > 1 ? budget_us : 0);
}

BusyPollPolicy::BusyPollPolicy(std::chrono::microseconds budget) : budget_(budget) {}

BusyPollPolicy::Clock::time_point BusyPollPolicy::PollUntil(Clock::time_point wait_end) {
  if (budget_ == Clock::duration::zero() || !CallInProgress::Alone()) return {};
  if (skip_ > 0) {
    --skip_;
    return {};
  }
  return std::min(wait_end, Clock::now() + budget_);
}

void BusyPollPolicy::Record(bool answered) {
  if (answered) {
    next_skip_ = 1;
    answered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  skip_ = next_skip_;
  next_skip_ = std::min(2 * next_skip_, kMaxSkip);
  in_vain_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace limify::redis
