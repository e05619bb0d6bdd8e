#include "plugins/storage/redis/busy_poll.h"

#include <algorithm>
#include <thread>

namespace limify::redis {

namespace {

// One CPU: a poller would keep whoever answers it from running.
std::chrono::microseconds UsableBudget(std::chrono::microseconds budget) {
  static const bool several_cpus = std::thread::hardware_concurrency() > 1;
  return several_cpus ? budget : std::chrono::microseconds(0);
}

}  // namespace

BusyPollPolicy::BusyPollPolicy(std::chrono::microseconds budget)
    : budget_(UsableBudget(budget)) {}

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
