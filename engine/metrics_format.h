// Renders a MetricsSnapshot for Engine::Stats.
//
// JSON (one line; every key always present):
//   {"decisions": [{"rule": "api", "plan": "default", "allowed": 9, "denied": 1,
//                   "degraded_allowed": 0, "degraded_denied": 0}, ...],
//    "storage_errors": {"unavailable": 0, "timeout": 0, "internal": 0,
//                       "invalid_argument": 0, "other": 0},
//    "errors": 0,
//    "latency_us": {"buckets": [{"le": 1.0, "count": 7}, ..., {"le": 10000000.0, "count": 10}],
//                   "sum": 3.2, "count": 10},
//    "keys": 42,
//    "circuit_breaker": {"enabled": true, "state": 0, "state_name": "closed",
//                        "opened": 0, "short_circuited": 0}}
// `decisions` is sorted by rule then plan; rule "" plan "" holds requests no
// rule matched. `allowed`/`denied` include the degraded decisions, which
// `degraded_*` count again. Latency buckets are cumulative, as in
// Prometheus: `le` is the inclusive upper bound in microseconds, `count` the
// checks at most that slow; `count` of latency_us is the +Inf bucket. `sum`
// is in microseconds. `keys` is null when the storage cannot count its keys
// (or its breaker is not closed: a scrape never waits on a failing storage).
// circuit_breaker: `state` 0 closed, 1 open, 2 half-open (a probe is out;
// always 0 when disabled), `opened` how often it opened, `short_circuited`
// the storage calls it spared (decided by the failure policy instead).
//
// Prometheus text exposition format 0.0.4:
//   limify_decisions_total{rule,plan,outcome="allowed|denied"}  counter
//   limify_degraded_decisions_total{rule,plan,outcome}          counter
//   limify_storage_errors_total{code}                           counter
//   limify_errors_total                                         counter
//   limify_check_duration_seconds                               histogram
//   limify_keys                                                 gauge (absent
//                                                         when keys is null)
//   limify_circuit_breaker_state                                gauge 0/1/2
//   limify_circuit_breaker_opened_total                         counter
//   limify_circuit_breaker_short_circuited_total                counter
#ifndef LIMIFY_ENGINE_METRICS_FORMAT_H_
#define LIMIFY_ENGINE_METRICS_FORMAT_H_

#include <string>
#include <string_view>

#include "engine/metrics.h"

namespace limify {

std::string RenderStatsJson(const MetricsSnapshot& snapshot);
std::string RenderStatsPrometheus(const MetricsSnapshot& snapshot);

// A Prometheus label value with \, " and newline escaped as the format asks.
std::string EscapePrometheusLabel(std::string_view value);

}  // namespace limify

#endif  // LIMIFY_ENGINE_METRICS_FORMAT_H_
