#include "plugins/storage/redis/check_combiner.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "plugins/storage/redis/futex.h"

namespace limify::redis {
namespace {

// An entry's state; it changes under the combiner's lock, except kDone.
constexpr uint32_t kQueued = 0;
constexpr uint32_t kLead = 1;   // handed a turn: its thread leads the next call
constexpr uint32_t kTaken = 2;  // in a leader's call
constexpr uint32_t kDone = 3;   // answered (or not) by that call

}  // namespace

CheckCombiner::CheckCombiner(int calls_in_flight, size_t max_together, Send send)
    : calls_in_flight_(calls_in_flight), max_together_(max_together), send_(std::move(send)) {}

CheckCombiner::Turn CheckCombiner::Enter(Entry* entry) {
  std::unique_lock<std::mutex> lk(mu_);
  if (queue_.empty() && in_flight_ < calls_in_flight_) {
    ++in_flight_;
    return Turn::kAlone;
  }
  entry->state.store(kQueued, std::memory_order_relaxed);
  queue_.push_back(entry);
  lk.unlock();
  uint32_t state = entry->state.load(std::memory_order_acquire);
  while (state == kQueued && Clock::now() < entry->deadline) {
    FutexWait(&entry->state, kQueued, entry->deadline);
    state = entry->state.load(std::memory_order_acquire);
  }
  if (state == kQueued) {
    lk.lock();
    state = entry->state.load(std::memory_order_acquire);
    if (state == kQueued) {  // still waiting: leaves unsent
      queue_.erase(std::find(queue_.begin(), queue_.end(), entry));
      return Turn::kTimedOut;
    }
    lk.unlock();
  }
  if (state == kLead) return Lead(entry);
  // Taken: the leader writes into the entry until kDone, which comes by the
  // leader's deadline, no later than this check's (give or take the reply's
  // processing).
  while (state != kDone) {
    FutexWait(&entry->state, state, Clock::now() + std::chrono::seconds(1));
    state = entry->state.load(std::memory_order_acquire);
  }
  if (entry->wake_next != nullptr) FutexWake(&entry->wake_next->state);
  return entry->decided ? Turn::kDecided : Turn::kUndecided;
}

CheckCombiner::Turn CheckCombiner::Lead(Entry* self) {
  if (Clock::now() >= self->deadline) {
    HandOn();  // the turn came too late for this check: the next takes it
    return Turn::kTimedOut;
  }
  std::vector<Entry*> call;
  try {
    call.reserve(max_together_);  // nothing below may throw once checks are taken
  } catch (...) {
    HandOn();
    return Turn::kUndecided;  // sent alone
  }
  call.push_back(self);
  {
    // The call runs within the leader's deadline, so it takes no check due
    // sooner: such a check waits for a turn of its own (or times out there).
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end() && call.size() < max_together_;) {
      if ((*it)->deadline < self->deadline) {
        ++it;
        continue;
      }
      (*it)->state.store(kTaken, std::memory_order_relaxed);
      call.push_back(*it);
      it = queue_.erase(it);
    }
  }
  if (call.size() > 1) combined_calls_.fetch_add(1, std::memory_order_relaxed);
  try {
    send_(call.data(), call.size(), self->deadline);
  } catch (...) {  // `send` must not throw; if it did, each check is sent alone
    for (Entry* e : call) e->decided = false;
  }
  // Woken one after another (each wakes the next on its way out): waking
  // them all at once makes a crowd of runnable threads on few cores. Done
  // from the last to the first, so that a check that finds itself done
  // early (never asleep, or woken spuriously) wakes a next one that is done
  // too: in order, the next could go back to sleep just before it is done,
  // with nobody left to wake it.
  for (size_t i = 1; i + 1 < call.size(); ++i) call[i]->wake_next = call[i + 1];
  for (size_t i = call.size(); i-- > 1;) call[i]->state.store(kDone, std::memory_order_release);
  if (call.size() > 1) FutexWake(&call[1]->state);
  HandOn();
  return self->decided ? Turn::kDecided : Turn::kUndecided;
}

size_t CheckCombiner::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void CheckCombiner::HandOn() {
  std::unique_lock<std::mutex> lk(mu_);
  if (queue_.empty()) {
    --in_flight_;
    return;
  }
  Entry* next = queue_.front();
  queue_.pop_front();
  next->state.store(kLead, std::memory_order_release);
  lk.unlock();
  FutexWake(&next->state);
}

}  // namespace limify::redis
