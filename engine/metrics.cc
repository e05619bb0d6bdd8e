#include "engine/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "limify/plugin.h"

namespace limify {
namespace {

// Bit i set: exclusive slot i is free. The last slot is never leased.
constexpr uint32_t kAllExclusiveFree = (uint32_t{1} << (kMetricSlots - 1)) - 1;
std::atomic<uint32_t> free_slots{kAllExclusiveFree};

// A thread's slot, returned when the thread exits. Acquire on lease and
// release on return: the next owner's plain load sees the last owner's
// plain store.
class SlotLease {
 public:
  SlotLease() {
    uint32_t free = free_slots.load(std::memory_order_acquire);
    while (free != 0) {
      const uint32_t bit = free & (~free + 1);  // lowest free slot
      if (free_slots.compare_exchange_weak(free, free & ~bit, std::memory_order_acquire,
                                           std::memory_order_acquire)) {
        slot_ = {static_cast<uint32_t>(std::countr_zero(bit)), true};
        return;
      }
    }
  }
  ~SlotLease() {
    if (!slot_.exclusive) return;
    const uint32_t bit = uint32_t{1} << slot_.index;
    slot_ = {kMetricSlots - 1, false};  // for anything that counts after this
    free_slots.fetch_or(bit, std::memory_order_release);
  }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;

  MetricSlot slot() const { return slot_; }

 private:
  MetricSlot slot_{kMetricSlots - 1, false};
};

uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace

MetricSlot ThisThreadMetricSlot() {
  thread_local SlotLease lease;
  return lease.slot();
}

DecisionCounters::Totals DecisionCounters::Sum() const {
  Totals t;
  for (const Stripe& s : stripes_) {
    t.allowed += Load(s.n[kAllowed]);
    t.denied += Load(s.n[kDenied]);
    t.degraded_allowed += Load(s.n[kDegradedAllowed]);
    t.degraded_denied += Load(s.n[kDegradedDenied]);
  }
  return t;
}

std::string_view StorageErrorKindName(size_t kind) {
  static constexpr std::string_view kNames[kStorageErrorKinds] = {
      "unavailable", "timeout", "internal", "invalid_argument", "other"};
  return kind < kStorageErrorKinds ? kNames[kind] : "other";
}

size_t StorageErrorKindOf(int32_t plugin_code) {
  switch (plugin_code) {
    case LIMIFY_PLUGIN_UNAVAILABLE: return 0;
    case LIMIFY_PLUGIN_TIMEOUT: return 1;
    case LIMIFY_PLUGIN_INTERNAL: return 2;
    case LIMIFY_PLUGIN_INVALID_ARGUMENT: return 3;
    default: return 4;
  }
}

Metrics::Metrics() : clock_(CycleClock::Get()) {
  const double ticks_per_ns = clock_.ticks_per_second() / 1e9;
  for (size_t i = 0; i < kLatencyBounds; ++i) {
    bound_ticks_[i] = static_cast<uint64_t>(std::llround(kLatencyBoundsNs[i] * ticks_per_ns));
  }
  unmatched_ = CountersFor("", "");
}

DecisionCounters* Metrics::CountersFor(std::string_view rule, std::string_view plan) {
  std::lock_guard<std::mutex> lock(cells_mu_);
  auto [it, inserted] = cells_.try_emplace(std::make_pair(std::string(rule), std::string(plan)));
  if (inserted) it->second = std::make_unique<DecisionCounters>(it->first.first, it->first.second);
  return it->second.get();
}

MetricsSnapshot Metrics::Snapshot() const {
  MetricsSnapshot snap;
  {
    std::lock_guard<std::mutex> lock(cells_mu_);
    snap.decisions.reserve(cells_.size());
    for (const auto& [key, cell] : cells_) {
      snap.decisions.push_back({cell->rule(), cell->plan(), cell->Sum()});
    }
  }
  std::sort(snap.decisions.begin(), snap.decisions.end(),
            [](const MetricsSnapshot::DecisionRow& a, const MetricsSnapshot::DecisionRow& b) {
              return std::tie(a.rule, a.plan) < std::tie(b.rule, b.plan);
            });
  uint64_t sum_ticks = 0;
  for (const Stripe& s : stripes_) {
    for (size_t b = 0; b <= kLatencyBounds; ++b) snap.latency_buckets[b] += Load(s.latency[b]);
    sum_ticks += Load(s.latency_sum_ticks);
    for (size_t k = 0; k < kStorageErrorKinds; ++k) snap.storage_errors[k] += Load(s.storage_errors[k]);
    snap.errors += Load(s.errors);
    snap.breaker.short_circuited += Load(s.short_circuited);
  }
  snap.breaker.opened = Load(breaker_opened_);
  for (uint64_t n : snap.latency_buckets) snap.latency_count += n;
  snap.latency_sum_seconds = static_cast<double>(sum_ticks) / clock_.ticks_per_second();
  return snap;
}

}  // namespace limify
