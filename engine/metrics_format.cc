#include "engine/metrics_format.h"

#include <charconv>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace limify {
namespace {

// The `le` of each latency bucket, in seconds, spelled as Prometheus client
// libraries spell them.
constexpr const char* kLatencyLe[kLatencyBounds] = {
    "1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025",
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "2.5", "5", "10"};

// The shortest text that reads back as `value`.
std::string FormatDouble(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void Family(std::string* out, std::string_view name, std::string_view type,
            std::string_view help) {
  absl::StrAppend(out, "# HELP ", AbslView(name), " ", AbslView(help), "\n", "# TYPE ",
                  AbslView(name), " ", AbslView(type), "\n");
}

void DecisionSamples(std::string* out, std::string_view name,
                     const MetricsSnapshot::DecisionRow& row, uint64_t allowed,
                     uint64_t denied) {
  const std::string labels = absl::StrCat("{rule=\"", EscapePrometheusLabel(row.rule),
                                          "\",plan=\"", EscapePrometheusLabel(row.plan));
  absl::StrAppend(out, AbslView(name), labels, "\",outcome=\"allowed\"} ", allowed, "\n");
  absl::StrAppend(out, AbslView(name), labels, "\",outcome=\"denied\"} ", denied, "\n");
}

std::string_view BreakerStateName(int state) {
  switch (state) {
    case 0: return "closed";
    case 1: return "open";
    case 2: return "half_open";
  }
  return "unknown";
}

}  // namespace

std::string EscapePrometheusLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderStatsJson(const MetricsSnapshot& snap) {
  using Json = nlohmann::ordered_json;
  Json decisions = Json::array();
  for (const MetricsSnapshot::DecisionRow& row : snap.decisions) {
    decisions.push_back({{"rule", row.rule},
                         {"plan", row.plan},
                         {"allowed", row.totals.allowed},
                         {"denied", row.totals.denied},
                         {"degraded_allowed", row.totals.degraded_allowed},
                         {"degraded_denied", row.totals.degraded_denied}});
  }
  Json storage_errors = Json::object();
  for (size_t k = 0; k < kStorageErrorKinds; ++k) {
    storage_errors[std::string(StorageErrorKindName(k))] = snap.storage_errors[k];
  }
  Json buckets = Json::array();
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBounds; ++b) {
    cumulative += snap.latency_buckets[b];
    buckets.push_back({{"le", static_cast<double>(kLatencyBoundsNs[b]) / 1000.0},
                       {"count", cumulative}});
  }
  Json doc = {{"decisions", std::move(decisions)},
              {"storage_errors", std::move(storage_errors)},
              {"errors", snap.errors},
              {"latency_us",
               {{"buckets", std::move(buckets)},
                {"sum", snap.latency_sum_seconds * 1e6},
                {"count", snap.latency_count}}},
              {"keys", snap.keys.has_value() ? Json(*snap.keys) : Json(nullptr)},
              {"circuit_breaker",
               {{"enabled", snap.breaker.enabled},
                {"state", snap.breaker.state},
                {"state_name", std::string(BreakerStateName(snap.breaker.state))},
                {"opened", snap.breaker.opened},
                {"short_circuited", snap.breaker.short_circuited}}}};
  // Ids are ASCII; replace rather than throw should a byte ever not be UTF-8.
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string RenderStatsPrometheus(const MetricsSnapshot& snap) {
  std::string out;
  Family(&out, "limify_decisions_total", "counter",
         "Decisions of Check and CheckKey by rule, plan and outcome, degraded ones included "
         "(rule=\"\" plan=\"\": requests no rule matched).");
  for (const auto& row : snap.decisions) {
    DecisionSamples(&out, "limify_decisions_total", row, row.totals.allowed, row.totals.denied);
  }
  Family(&out, "limify_degraded_decisions_total", "counter",
         "Decisions the failure policy took without the storage, by rule, plan and outcome.");
  for (const auto& row : snap.decisions) {
    DecisionSamples(&out, "limify_degraded_decisions_total", row, row.totals.degraded_allowed,
                    row.totals.degraded_denied);
  }
  Family(&out, "limify_storage_errors_total", "counter",
         "Failed storage calls by the storage's error code, hidden by the failure policy or not.");
  for (size_t k = 0; k < kStorageErrorKinds; ++k) {
    absl::StrAppend(&out, "limify_storage_errors_total{code=\"",
                    AbslView(StorageErrorKindName(k)), "\"} ", snap.storage_errors[k], "\n");
  }
  Family(&out, "limify_errors_total", "counter",
         "Errors returned by Check, Peek, CheckKey, Reset and ResetKey.");
  absl::StrAppend(&out, "limify_errors_total ", snap.errors, "\n");
  Family(&out, "limify_check_duration_seconds", "histogram",
         "Time Check and CheckKey took to decide.");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBounds; ++b) {
    cumulative += snap.latency_buckets[b];
    absl::StrAppend(&out, "limify_check_duration_seconds_bucket{le=\"", kLatencyLe[b], "\"} ",
                    cumulative, "\n");
  }
  absl::StrAppend(&out, "limify_check_duration_seconds_bucket{le=\"+Inf\"} ", snap.latency_count,
                  "\n", "limify_check_duration_seconds_sum ",
                  FormatDouble(snap.latency_sum_seconds), "\n",
                  "limify_check_duration_seconds_count ", snap.latency_count, "\n");
  if (snap.keys.has_value()) {
    Family(&out, "limify_keys", "gauge", "Keys the storage holds.");
    absl::StrAppend(&out, "limify_keys ", *snap.keys, "\n");
  }
  Family(&out, "limify_circuit_breaker_state", "gauge",
         "The storage's circuit breaker: 0 closed, 1 open, 2 half-open (always 0 when disabled).");
  absl::StrAppend(&out, "limify_circuit_breaker_state ", snap.breaker.state, "\n");
  Family(&out, "limify_circuit_breaker_opened_total", "counter",
         "Times the circuit breaker opened (a failed probe opens it again).");
  absl::StrAppend(&out, "limify_circuit_breaker_opened_total ", snap.breaker.opened, "\n");
  Family(&out, "limify_circuit_breaker_short_circuited_total", "counter",
         "Storage calls the open circuit breaker spared: decided by the failure policy instead.");
  absl::StrAppend(&out, "limify_circuit_breaker_short_circuited_total ",
                  snap.breaker.short_circuited, "\n");
  return out;
}

}  // namespace limify
