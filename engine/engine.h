// The engine: one configuration, one storage, many threads. Resolves a
// request to a rule, plan and identity, builds the storage keys and runs the
// rule's limits through the storage in one atomic step.
//
// Thread-safe: any number of threads may call Check/Peek/Reset/CheckKey while
// another calls Reload. Checks in flight finish on the configuration they
// started with.
#ifndef LIMIFY_ENGINE_ENGINE_H_
#define LIMIFY_ENGINE_ENGINE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace limify {

// retry_after_us when waiting can never help: the cost exceeds the capacity.
inline constexpr int64_t kRetryNever = -1;
// limit/remaining when no rule matched: the request is not limited.
inline constexpr int64_t kUnlimited = -1;

// A rule or plan id held inline (ids are at most 64 characters), so filling
// a decision never allocates.
class DecisionId {
 public:
  static constexpr size_t kMaxSize = 64;

  DecisionId& operator=(std::string_view id) {
    size_ = static_cast<uint8_t>(id.size() < kMaxSize ? id.size() : kMaxSize);
    std::memcpy(data_, id.data(), size_);
    data_[size_] = '\0';
    return *this;
  }
  std::string_view view() const { return {data_, size_}; }
  const char* c_str() const { return data_; }
  bool empty() const { return size_ == 0; }

  friend bool operator==(const DecisionId& a, std::string_view b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& os, const DecisionId& id) {
    return os << id.view();
  }

 private:
  char data_[kMaxSize + 1] = {};
  uint8_t size_ = 0;
};

// One request. Empty strings are absent values. Views must outlive the call.
struct Request {
  std::string_view method;
  std::string_view path;
  std::string_view user_id;
  std::string_view org_id;
  std::string_view api_key;
  std::string_view client_ip;
  std::string_view plan;  // explicit plan; wins over every other source
  int64_t cost = 1;       // >= 1
};

struct Decision {
  bool allowed = true;
  bool matched = false;   // a rule (or the default rule) applied
  bool degraded = false;  // decided by the failure policy, without storage
  int64_t limit = kUnlimited;      // of the binding limit
  int64_t remaining = kUnlimited;  // whole requests left under it
  int64_t period_us = 0;           // its window
  int64_t reset_after_us = 0;      // until every limit is back to full
  int64_t retry_after_us = 0;      // 0 when allowed; kRetryNever if never
  DecisionId rule_id;  // empty when no rule matched
  DecisionId plan_id;
};

// Called with every error a call meets: storage errors the failure policy
// hides (the decision is degraded; the status is the storage's code, e.g.
// kUnavailable, and its message names the storage, the operation, the rule
// and plan, the storage's own message and what the policy decided), each
// opening of the storage's circuit breaker (once per opening, kUnavailable;
// the checks it then short-circuits are not reported one by one, see
// engine/circuit_breaker.h) and every error Check, Peek, CheckKey, Reset and
// ResetKey return (the same status). Runs on the calling thread after the call's work is done, from
// many threads at once; it may call Check or Reload, but not
// SetErrorListener. Exceptions it throws are swallowed (an observer never
// changes a decision). Costs nothing on calls without an error.
using ErrorListener = std::function<void(const absl::Status& error)>;

enum class StatsFormat { kJson, kPrometheus };

// Returns the plan for a request under a rule, or "" for none.
using PlanProvider =
    std::function<std::string(const Request& request, std::string_view rule_id)>;

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::string_view config_json);
  static absl::StatusOr<std::unique_ptr<Engine>> CreateFromFile(const std::string& path);
  ~Engine();

  // Decides and consumes. A storage that is unreachable or too slow is not
  // an error: the failure policy decides and the decision is marked
  // degraded. After "circuit_breaker".failure_threshold such failures in a
  // row the storage is not called at all (the policy decides at once) until
  // a probe, one recovery_timeout later, finds it answering again. Errors are for bad arguments (cost < 1) and for failures the
  // policy must not hide (an algorithm refusing its input, a plugin bug).
  absl::Status Check(const Request& request, Decision* out);
  // Check for each of `n` requests, in order: decisions[i] and statuses[i]
  // answer requests[i] exactly as Check would (metrics, failure policy,
  // breaker and error listener included). The storage steps are handed to
  // the storage together (limify_storage.execute_batch: one pipelined round
  // trip per Redis server); each request is still its own atomic step, the
  // batch as a whole is not.
  void CheckBatch(const Request* requests, size_t n, Decision* decisions,
                  absl::Status* statuses);
  // Decides without consuming anything.
  absl::Status Peek(const Request& request, Decision* out);
  // Forgets the state of the request's identity under its rule, for every
  // plan of the rule (the identity's plan may have changed since).
  // kUnavailable at once while the circuit breaker is open.
  absl::Status Reset(const Request& request);
  // The direct form for hosts without HTTP requests: `identity` is any
  // non-empty string, limited by the rule whose id is `rule_id` (the default
  // rule's id included) under its own rate. NotFound for an unknown rule.
  absl::Status CheckKey(std::string_view rule_id, std::string_view identity,
                        int64_t cost, Decision* out);
  // CheckKey for each of `n` identities under the rule `rule_id`, at
  // costs[i] (every cost 1 when `costs` is null): decisions[i] and
  // statuses[i] answer identities[i] exactly as CheckKey would, the storage
  // steps handed over together as in CheckBatch.
  void CheckKeyBatch(std::string_view rule_id, const std::string_view* identities,
                     const int64_t* costs, size_t n, Decision* decisions,
                     absl::Status* statuses);
  // Forgets the state CheckKey keeps for `identity` under `rule_id`.
  absl::Status ResetKey(std::string_view rule_id, std::string_view identity);

  // Replaces the configuration atomically. State of rules whose limits did
  // not change is kept when the storage configuration is unchanged. On error
  // the old configuration stays in force.
  absl::Status Reload(std::string_view config_json);

  // The provider is called from many threads at once, only for rules that
  // define plans and requests that name none. An exception it throws means
  // "no plan". It must not call Reload or SetPlanProvider (FailedPrecondition).
  absl::Status SetPlanProvider(PlanProvider provider);

  // Installs the error listener (an empty function removes it). When this
  // returns, no call to the previous listener is running or will start.
  // FailedPrecondition from inside this engine's plan provider or error
  // listener (it would wait for itself).
  absl::Status SetErrorListener(ErrorListener listener);

  // The engine's metrics since it was created: decisions by rule, plan and
  // outcome, degraded decisions, storage errors by code, errors returned, a
  // check latency histogram and the keys the storage holds (when its plugin
  // can count them). Counters survive Reload. Labels are bounded by the
  // rules and plans ever configured, never by identities. What is counted:
  // engine/metrics.h; the JSON schema and Prometheus families:
  // engine/metrics_format.h. Thread-safe; may call the storage once.
  absl::StatusOr<std::string> Stats(StatsFormat format) const;

  // The manual clock (config "clock": "manual"); FailedPrecondition otherwise,
  // InvalidArgument beyond ±2^62 µs. Each storage has its own: a reload that
  // changes the storage or the clock starts a new manual clock at 0.
  absl::Status AdvanceClock(int64_t delta_us);
  absl::Status SetClock(int64_t now_us);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_ENGINE_H_
