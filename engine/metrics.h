// The engine's counters: decisions by rule, plan and outcome, storage errors
// by code, errors returned, and a check latency histogram. Written on every
// check by many threads, read rarely (a metrics scrape).
//
// Cost on the request path. Each thread leases one of kMetricSlots slots for
// its lifetime (round robin, released when the thread exits); every counter
// has one cache line per slot. While a thread holds a slot alone it adds
// with a plain load and store (no lock prefix, no shared line); threads
// beyond the exclusive slots share the last one and add atomically. A
// reader sums the slots. Latency is timed with CycleClock (the TSC where the
// kernel trusts it).
//
// Lifetime and cardinality. A DecisionCounters cell exists per (rule id,
// plan id) ever configured, and one for requests no rule matched; it lives
// as long as the Metrics (the engine), so a compiled rule holds a plain
// pointer to it and a reload that keeps a rule keeps counting into the same
// cell. Identities never become labels.
//
// What is counted:
//  - decisions: Check and CheckKey calls that returned OK, by outcome
//    (allowed / denied), degraded ones included; `degraded_*` counts the
//    subset the failure policy decided without the storage. Requests no
//    rule matched count as allowed under rule "" and plan "" (an empty id
//    is never a configured one). Peeks are not decisions: nothing is
//    consumed, and counting them would count a peek-then-check twice;
//  - latency: the same calls, from entry to return; so the histogram's
//    count equals the sum of all decisions;
//  - storage_errors: every failed storage call (a check, a peek, a reset),
//    by the plugin's code, whether the failure policy hid it or not;
//    algorithm failures are errors, not storage errors;
//  - errors: every error Check, Peek, CheckKey, Reset and ResetKey returned;
//  - circuit breaker: how often it opened (a failed probe opens it again and
//    counts again) and the storage calls it short-circuited (checks and
//    peeks decided by the failure policy, and resets refused, without
//    calling the storage; these are not storage errors). Its state is the
//    current storage's, filled in by the engine.
#ifndef LIMIFY_ENGINE_METRICS_H_
#define LIMIFY_ENGINE_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "engine/cycle_clock.h"

namespace limify {

// Slots per counter: kMetricSlots - 1 exclusive ones, then one shared.
inline constexpr uint32_t kMetricSlots = 16;

// The slot this thread writes, and whether it is the thread's alone.
struct MetricSlot {
  uint32_t index;
  bool exclusive;
};

// Leased on the thread's first call (one thread_local access afterwards).
MetricSlot ThisThreadMetricSlot();

// Adds `n` to this thread's share of a counter.
inline void Bump(std::atomic<uint64_t>& counter, MetricSlot slot, uint64_t n = 1) {
  if (slot.exclusive) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  } else {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
}

// Decisions under one (rule, plan).
class DecisionCounters {
 public:
  struct Totals {
    uint64_t allowed = 0;  // degraded ones included
    uint64_t denied = 0;
    uint64_t degraded_allowed = 0;
    uint64_t degraded_denied = 0;
  };

  DecisionCounters(std::string rule, std::string plan)
      : rule_(std::move(rule)), plan_(std::move(plan)) {}
  DecisionCounters(const DecisionCounters&) = delete;
  DecisionCounters& operator=(const DecisionCounters&) = delete;

  const std::string& rule() const { return rule_; }
  const std::string& plan() const { return plan_; }

  void Count(MetricSlot slot, bool allowed, bool degraded) {
    Stripe& s = stripes_[slot.index];
    Bump(s.n[allowed ? kAllowed : kDenied], slot);
    if (degraded) Bump(s.n[allowed ? kDegradedAllowed : kDegradedDenied], slot);
  }

  Totals Sum() const;

 private:
  enum { kAllowed, kDenied, kDegradedAllowed, kDegradedDenied, kCounts };
  struct alignas(64) Stripe {
    std::atomic<uint64_t> n[kCounts] = {};
  };

  const std::string rule_;
  const std::string plan_;
  Stripe stripes_[kMetricSlots];
};

// Storage error codes, as labels: "unavailable", "timeout", "internal",
// "invalid_argument", "other".
inline constexpr size_t kStorageErrorKinds = 5;
std::string_view StorageErrorKindName(size_t kind);
size_t StorageErrorKindOf(int32_t plugin_code);

// Upper bounds (inclusive) of the latency buckets: 1 µs to 10 s, 1-2.5-5 per
// decade; a last bucket takes what is slower.
inline constexpr size_t kLatencyBounds = 22;
inline constexpr uint64_t kLatencyBoundsNs[kLatencyBounds] = {
    1'000,         2'500,         5'000,         10'000,         25'000,        50'000,
    100'000,       250'000,       500'000,       1'000'000,      2'500'000,     5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000,    250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

// Everything counted, summed over the slots at one moment (counters are
// read one by one, so a snapshot taken during checks may be a few counts
// apart between counters).
struct MetricsSnapshot {
  struct DecisionRow {
    std::string rule;
    std::string plan;
    DecisionCounters::Totals totals;
  };
  std::vector<DecisionRow> decisions;  // sorted by rule, then plan
  uint64_t storage_errors[kStorageErrorKinds] = {};
  uint64_t errors = 0;
  uint64_t latency_buckets[kLatencyBounds + 1] = {};  // per bucket, not cumulative
  uint64_t latency_count = 0;
  double latency_sum_seconds = 0;
  std::optional<int64_t> keys;  // the storage's key count, when it reports one
  struct Breaker {
    bool enabled = false;
    int state = 0;  // 0 closed, 1 open, 2 half-open (CircuitBreaker::State)
    uint64_t opened = 0;
    uint64_t short_circuited = 0;
  } breaker;
};

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The cell of (rule, plan), created on first use; the pointer stays valid
  // for this object's lifetime. Locks: for compiling a configuration only.
  DecisionCounters* CountersFor(std::string_view rule, std::string_view plan);
  // Requests no rule matched.
  DecisionCounters& unmatched() { return *unmatched_; }

  // A check's start, for ObserveCheck.
  uint64_t StartTimer() const { return clock_.Now(); }
  // Records the latency of a check that started at `start`.
  void ObserveCheck(MetricSlot slot, uint64_t start) {
    const uint64_t now = clock_.Now();
    const uint64_t ticks = now > start ? now - start : 0;  // TSC of another core
    size_t bucket = 0;
    while (bucket < kLatencyBounds && ticks > bound_ticks_[bucket]) ++bucket;
    Stripe& s = stripes_[slot.index];
    Bump(s.latency[bucket], slot);
    Bump(s.latency_sum_ticks, slot, ticks);
  }
  void CountStorageError(MetricSlot slot, int32_t plugin_code) {
    Bump(stripes_[slot.index].storage_errors[StorageErrorKindOf(plugin_code)], slot);
  }
  void CountError(MetricSlot slot) { Bump(stripes_[slot.index].errors, slot); }
  void CountShortCircuit(MetricSlot slot) { Bump(stripes_[slot.index].short_circuited, slot); }
  // Rare (once per opening): one shared counter.
  void CountBreakerOpened() { breaker_opened_.fetch_add(1, std::memory_order_relaxed); }

  // Everything but `keys`, which only the storage knows.
  MetricsSnapshot Snapshot() const;

 private:
  struct alignas(64) Stripe {
    std::atomic<uint64_t> latency[kLatencyBounds + 1] = {};
    std::atomic<uint64_t> latency_sum_ticks{0};
    std::atomic<uint64_t> storage_errors[kStorageErrorKinds] = {};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> short_circuited{0};
  };

  const CycleClock& clock_;
  uint64_t bound_ticks_[kLatencyBounds];
  Stripe stripes_[kMetricSlots];
  std::atomic<uint64_t> breaker_opened_{0};

  mutable std::mutex cells_mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, std::unique_ptr<DecisionCounters>>
      cells_ ABSL_GUARDED_BY(cells_mu_);
  DecisionCounters* unmatched_;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_METRICS_H_
