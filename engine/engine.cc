// The path of one check: rule -> plan -> identity -> keys -> one atomic
// storage step -> decision. See DESIGN.md, "One check, end to end".
#include "engine/engine.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/absl_compat.h"
#include "engine/circuit_breaker.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/identity_hasher.h"
#include "engine/input_limits.h"
#include "engine/limit_applier.h"
#include "engine/metrics.h"
#include "engine/metrics_format.h"
#include "engine/plugin_error.h"
#include "engine/plugin_validation.h"
#include "engine/read_mostly.h"
#include "engine/runtime.h"
#include "engine/storage_keys.h"

namespace limify {
namespace {

// Retry-after suggested when the storage failed and the policy blocks.
constexpr int64_t kFailClosedRetryUs = 1'000'000;

// The host callbacks this thread is running, innermost first (a plan
// provider may check through another engine, or its own; a check inside it
// may call an error listener). What waits for the callback's own call to
// finish (Reload and SetPlanProvider inside a provider, SetErrorListener
// inside either) would wait forever, so it is refused.
enum class Callback { kPlanProvider, kErrorListener };
struct CallbackFrame {
  const void* engine;
  Callback kind;
  const CallbackFrame* outer;
};
thread_local const CallbackFrame* running_callbacks = nullptr;

class ScopedCallback {
 public:
  ScopedCallback(const void* engine, Callback kind) : frame_{engine, kind, running_callbacks} {
    running_callbacks = &frame_;
  }
  ~ScopedCallback() { running_callbacks = frame_.outer; }
  ScopedCallback(const ScopedCallback&) = delete;
  ScopedCallback& operator=(const ScopedCallback&) = delete;

 private:
  const CallbackFrame frame_;
};

// The identity a request is limited as: a kind tag (part of the key) and the
// raw value (hashed before it reaches storage).
struct Identity {
  std::string_view tag;
  std::string_view value;
  const IdentityKind* kind = nullptr;  // null for anonymous and CheckKey
};

std::string_view FieldOf(const Request& request, IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kUserId: return request.user_id;
    case IdentityKind::kOrgId: return request.org_id;
    case IdentityKind::kApiKey: return request.api_key;
    case IdentityKind::kClientIp: return request.client_ip;
  }
  return {};
}

std::string_view TagOf(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kUserId: return "user";
    case IdentityKind::kOrgId: return "org";
    case IdentityKind::kApiKey: return "apikey";
    case IdentityKind::kClientIp: return "ip";
  }
  return "anon";
}

// The first identity present in the configured order; else one shared
// anonymous bucket.
Identity ResolveIdentity(const Config& config, const Request& request) {
  for (const IdentityKind& kind : config.identity.order) {
    std::string_view value = FieldOf(request, kind);
    if (!value.empty()) return Identity{TagOf(kind), value, &kind};
  }
  return Identity{"anon", {}, nullptr};
}

// The host's plan for a request, "" for none. A provider that throws has no
// plan for it: its failure never changes a decision's correctness.
std::string AskProvider(const PlanProvider& provider, const Request& request,
                        std::string_view rule_id, const void* engine) {
  ScopedCallback running(engine, Callback::kPlanProvider);
  std::string plan;
  try {
    plan = provider(request, rule_id);
  } catch (...) {
    plan.clear();
  }
  return plan;
}

// What a request resolves to: the rule, the limits of its plan, the identity.
struct Resolution {
  const CompiledRule* rule = nullptr;  // null: no rule applies
  const CompiledLimits* limits = nullptr;
  Identity identity;
};

// Explicit plan > host callback > config map > the rule's own rate.
const CompiledLimits& ResolveLimits(const Runtime& rt, const CompiledRule& rule,
                                    const Request& request, const Identity& identity,
                                    const ReadMostly<PlanProvider>& providers,
                                    const void* engine) {
  if (rule.plans.empty()) return rule.default_limits;
  if (!request.plan.empty()) return rule.LimitsFor(request.plan);
  {
    ReadMostly<PlanProvider>::Pin provider(providers);
    if (*provider) {
      // Plan ids of up to 15 characters stay in the string's inline buffer.
      std::string plan = AskProvider(*provider, request, rule.id, engine);
      if (!plan.empty()) return rule.LimitsFor(plan);
    }
  }
  if (identity.kind != nullptr) {
    auto by_kind = rt.config.identity_plans.find(*identity.kind);
    if (by_kind != rt.config.identity_plans.end()) {
      auto plan = by_kind->second.find(AbslView(identity.value));
      if (plan != by_kind->second.end()) return rule.LimitsFor(plan->second);
    }
  }
  return rule.default_limits;
}

// The matching rule, else the default rule, else null.
const CompiledRule* MatchRule(const Runtime& rt, const Request& request) {
  const int index = rt.routes->Match(request.method, request.path);
  return index >= 0 ? &rt.rules[index] : rt.default_rule ? &*rt.default_rule : nullptr;
}

Resolution Resolve(const Runtime& rt, const Request& request,
                   const ReadMostly<PlanProvider>& providers, const void* engine) {
  Resolution r;
  r.rule = MatchRule(rt, request);
  if (r.rule == nullptr) return r;
  r.identity = ResolveIdentity(rt.config, request);
  r.limits = &ResolveLimits(rt, *r.rule, request, r.identity, providers, engine);
  return r;
}

void BuildKeys(const Runtime& rt, const CompiledLimits& limits, const Identity& identity,
               StorageKeys* keys) {
  if (identity.value.empty()) {
    keys->Build(limits.keys, identity.tag, "-");
    return;
  }
  char token[IdentityHasher::kHexLength];
  rt.hasher.Hash(identity.value, token);
  keys->Build(limits.keys, identity.tag, std::string_view(token, sizeof(token)));
}

// A storage that cannot be reached or answer in time is what the failure
// policy is for. Anything else (an algorithm's error, a bug) is reported,
// never turned into "allowed".
bool IsStorageFailure(int32_t code) {
  return code == LIMIFY_PLUGIN_UNAVAILABLE || code == LIMIFY_PLUGIN_TIMEOUT;
}

// A decision taken without the storage's answer: `allowed` by the failure
// policy, or false when there is no policy to apply (an error).
void DecideWithoutStorage(const CompiledLimits& limits, bool allowed, bool degraded,
                          Decision* out) {
  out->allowed = allowed;
  out->degraded = degraded;
  out->limit = limits.specs[0].limit;
  out->remaining = allowed ? kUnlimited : 0;  // unknown without storage
  out->period_us = limits.specs[0].period_us;
  out->reset_after_us = 0;
  out->retry_after_us = allowed ? 0 : kFailClosedRetryUs;
}

const char* FailureModeName(FailureMode mode) {
  return mode == FailureMode::kOpen ? "open" : "closed";
}

// What a call reports to the error listener besides the error it returns.
struct Reports {
  absl::Status hidden;   // a storage failure the failure policy decided around
  absl::Status breaker;  // the circuit breaker opened (once per opening)
};

// The error listener hears once per opening of the breaker, not once per
// check it short-circuits: a dead server under load would otherwise flood
// the listener with one identical error per request.
absl::Status BreakerOpened(const Runtime& rt, CircuitBreaker::Transition transition) {
  const BreakerSettings& settings = rt.breaker->settings();
  const bool open = rt.config.failure_mode == FailureMode::kOpen;
  return absl::UnavailableError(absl::StrCat(
      "storage \"", rt.config.storage.type, "\": circuit breaker ",
      transition == CircuitBreaker::Transition::kOpened
          ? absl::StrCat("opened after ", settings.failure_threshold, " consecutive failures")
          : std::string("probe failed, open again"),
      "; for ", settings.recovery_timeout_us / 1000, " ms failure_mode \"",
      FailureModeName(rt.config.failure_mode), "\" ", open ? "allows" : "denies",
      " every request without calling the storage (degraded), then one request probes it"));
}

// One storage step of a rule for one identity: its keys, the host's apply
// and the op the storage runs, then the storage's answer. Not movable: the
// op points into it.
struct StorageStep {
  StorageStep() = default;
  StorageStep(const StorageStep&) = delete;
  StorageStep& operator=(const StorageStep&) = delete;

  const CompiledRule* rule = nullptr;
  const CompiledLimits* limits = nullptr;
  StorageKeys keys;
  LimitApplication app{};
  limify_storage_op op{};
  CircuitBreaker::Ticket ticket{CircuitBreaker::Pass::kCall, 0};
  limify_verdict verdict{};
  limify_plugin_error err;
  int32_t rc = LIMIFY_PLUGIN_OK;
};

// Asks the breaker whether `step` may call the storage. When it may not,
// the failure policy decides now (degraded) and `step` must not be run.
bool AdmitStep(const Runtime& rt, StorageStep& step, Decision* out, Metrics& metrics,
               MetricSlot slot) {
  out->matched = true;
  out->rule_id = step.rule->id;
  out->plan_id = step.limits->plan_id;
  if (rt.breaker == nullptr) return true;
  step.ticket = rt.breaker->Admit(rt.storage->clock());
  if (step.ticket.pass != CircuitBreaker::Pass::kReject) return true;
  metrics.CountShortCircuit(slot);
  DecideWithoutStorage(*step.limits, rt.config.failure_mode == FailureMode::kOpen,
                       /*degraded=*/true, out);
  return false;
}

// Builds the keys and the op of an admitted step.
void PrepareStep(const Runtime& rt, const Identity& identity, int64_t cost, bool peek,
                 StorageStep& step) {
  const CompiledLimits& limits = *step.limits;
  BuildKeys(rt, limits, identity, &step.keys);
  step.app = LimitApplication{step.rule->algorithm, limits.specs.data(),
                              limits.state_sizes.data(), limits.specs.size(), cost, peek};
  step.op.struct_size = sizeof(step.op);
  step.op.mode = peek ? LIMIFY_MODE_PEEK : LIMIFY_MODE_CHECK;
  step.op.n_keys = step.keys.size();
  step.op.keys = step.keys.keys();
  step.op.state_sizes = limits.state_sizes.data();
  step.op.algorithm = step.rule->algorithm->name;
  step.op.specs = limits.specs.data();
  step.op.cost = cost;
  step.op.apply = &ApplyLimits;
  step.op.apply_ctx = &step.app;
  step.verdict = limify_verdict{};
  step.verdict.struct_size = sizeof(step.verdict);
}

void RunStep(const Runtime& rt, StorageStep& step) {
  step.rc = rt.storage->vtable()->execute(rt.storage->instance(), &step.op, &step.verdict,
                                          &step.err);
}

// Runs the admitted `steps` (indexes into `all`) through the storage: in
// one call when it has execute_batch (a remote storage then sends them
// together), otherwise one after another. A batch the storage fails as a
// whole fails each of its steps with that error.
void RunSteps(const Runtime& rt, StorageStep* all, const std::vector<size_t>& steps) {
  const auto execute_batch = StorageExecuteBatch(rt.storage->vtable());
  if (execute_batch == nullptr || steps.size() < 2) {
    for (size_t i : steps) RunStep(rt, all[i]);
    return;
  }
  std::vector<const limify_storage_op*> ops(steps.size());
  std::vector<limify_verdict*> outs(steps.size());
  std::vector<limify_plugin_error*> errs(steps.size());
  std::vector<int32_t> codes(steps.size(), LIMIFY_PLUGIN_INTERNAL);
  for (size_t k = 0; k < steps.size(); ++k) {
    StorageStep& step = all[steps[k]];
    ops[k] = &step.op;
    outs[k] = &step.verdict;
    errs[k] = &step.err;
  }
  limify_plugin_error err;
  const int32_t rc = execute_batch(rt.storage->instance(), ops.data(), ops.size(), outs.data(),
                                   codes.data(), errs.data(), &err);
  for (size_t k = 0; k < steps.size(); ++k) {
    StorageStep& step = all[steps[k]];
    step.rc = rc == LIMIFY_PLUGIN_OK ? codes[k] : rc;
    if (rc != LIMIFY_PLUGIN_OK) step.err = err;
  }
}

// Turns the storage's answer to a run step into the decision. A storage
// failure the failure policy decides around is counted and left in
// `reports` for the error listener; the returned error is what the policy
// must not hide.
absl::Status FinishStep(const Runtime& rt, StorageStep& step, Decision* out, Metrics& metrics,
                        MetricSlot slot, Reports* reports) {
  const CompiledRule& rule = *step.rule;
  const CompiledLimits& limits = *step.limits;
  const int32_t rc = step.rc;
  // The algorithm failed, not the storage (which answered).
  const bool algorithm_failed = rc != LIMIFY_PLUGIN_OK && step.app.apply_failure != LIMIFY_PLUGIN_OK;
  if (rt.breaker != nullptr) {
    const auto transition = rt.breaker->Record(
        step.ticket, !algorithm_failed && IsStorageFailure(rc), rt.storage->clock());
    if (transition == CircuitBreaker::Transition::kOpened ||
        transition == CircuitBreaker::Transition::kReopened) {
      metrics.CountBreakerOpened();
      reports->breaker = BreakerOpened(rt, transition);
    }
  }
  if (rc != LIMIFY_PLUGIN_OK) {
    const bool peek = step.op.mode == LIMIFY_MODE_PEEK;
    if (algorithm_failed) {
      // A host that looks only at `allowed` must not let this request through.
      DecideWithoutStorage(limits, /*allowed=*/false, /*degraded=*/false, out);
      return PluginStatus(rc, step.err, absl::StrCat("rule \"", rule.id, "\": algorithm \"",
                                                     rule.algorithm->name, "\""));
    }
    metrics.CountStorageError(slot, rc);
    absl::Status failure = PluginStatus(
        rc, step.err,
        absl::StrCat("storage \"", rt.config.storage.type, "\": ", peek ? "peek" : "check",
                     " of rule \"", rule.id, "\" plan \"", limits.plan_id, "\" failed"));
    if (!IsStorageFailure(rc)) {
      DecideWithoutStorage(limits, /*allowed=*/false, /*degraded=*/false, out);
      return failure;
    }
    const bool open = rt.config.failure_mode == FailureMode::kOpen;
    DecideWithoutStorage(limits, open, /*degraded=*/true, out);
    reports->hidden = absl::Status(
        failure.code(),
        absl::StrCat(failure.message(), "; failure_mode \"", FailureModeName(rt.config.failure_mode),
                     "\" ", open ? "allowed" : "denied",
                     " the request without the storage (degraded)"));
    return absl::OkStatus();
  }
  const limify_verdict& verdict = step.verdict;
  const size_t binding = verdict.binding_limit < limits.specs.size() ? verdict.binding_limit : 0;
  out->allowed = verdict.allowed != 0;
  out->degraded = false;
  out->limit = verdict.limit;
  out->remaining = verdict.remaining;
  out->period_us = limits.specs[binding].period_us;
  out->reset_after_us = verdict.reset_after_us;
  out->retry_after_us = verdict.allowed ? 0 : verdict.retry_after_us;
  return absl::OkStatus();
}

// Runs the rule's limits through the storage in one atomic step, unless the
// circuit breaker is open.
absl::Status Decide(const Runtime& rt, const CompiledRule& rule, const CompiledLimits& limits,
                    const Identity& identity, int64_t cost, bool peek, Decision* out,
                    Metrics& metrics, MetricSlot slot, Reports* reports) {
  StorageStep step;
  step.rule = &rule;
  step.limits = &limits;
  if (!AdmitStep(rt, step, out, metrics, slot)) return absl::OkStatus();
  PrepareStep(rt, identity, cost, peek, step);
  RunStep(rt, step);
  return FinishStep(rt, step, out, metrics, slot, reports);
}

absl::Status Forget(const Runtime& rt, const CompiledRule& rule, const CompiledLimits& limits,
                    const Identity& identity, Metrics& metrics, MetricSlot slot,
                    Reports* reports) {
  const std::string_view what = "reset of rule \"";
  CircuitBreaker::Ticket ticket{CircuitBreaker::Pass::kCall, 0};
  if (rt.breaker != nullptr) {
    ticket = rt.breaker->Admit(rt.storage->clock());
    if (ticket.pass == CircuitBreaker::Pass::kReject) {
      // Forgetting cannot be decided by a policy: say so at once.
      metrics.CountShortCircuit(slot);
      return absl::UnavailableError(absl::StrCat(
          "storage \"", rt.config.storage.type, "\": ", AbslView(what), rule.id, "\" plan \"",
          limits.plan_id, "\" not attempted: the circuit breaker is open after repeated storage "
          "failures (next probe in ", (rt.breaker->RetryInUs(rt.storage->clock()) + 999) / 1000,
          " ms)"));
    }
  }
  StorageKeys keys;
  BuildKeys(rt, limits, identity, &keys);
  limify_plugin_error err;
  int32_t rc = rt.storage->vtable()->remove(rt.storage->instance(), keys.keys(), keys.size(), &err);
  if (rt.breaker != nullptr) {
    const auto transition =
        rt.breaker->Record(ticket, IsStorageFailure(rc), rt.storage->clock());
    if (transition == CircuitBreaker::Transition::kOpened ||
        transition == CircuitBreaker::Transition::kReopened) {
      metrics.CountBreakerOpened();
      reports->breaker = BreakerOpened(rt, transition);
    }
  }
  if (rc == LIMIFY_PLUGIN_OK) return absl::OkStatus();
  metrics.CountStorageError(slot, rc);
  return PluginStatus(rc, err,
                      absl::StrCat("storage \"", rt.config.storage.type, "\": ", AbslView(what),
                                   rule.id, "\" plan \"", limits.plan_id, "\" failed"));
}

// The number of keys the storage holds, when it can tell.
std::optional<int64_t> KeyCount(const StorageInstance& storage) {
  auto key_count = StorageKeyCount(storage.vtable());
  if (key_count == nullptr) return std::nullopt;
  int64_t count = -1;
  limify_plugin_error err;
  if (key_count(storage.instance(), &count, &err) != LIMIFY_PLUGIN_OK || count < 0) {
    return std::nullopt;
  }
  return count;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("config file \"", path, "\": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("config file \"", path, "\": read failed"));
  return text.str();
}

absl::Status CheckCost(int64_t cost) {
  if (cost >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("cost must be >= 1, got ", cost));
}

// CheckKey's own arguments, before its rule is looked up.
absl::Status CheckKeyArguments(std::string_view identity, int64_t cost) {
  if (identity.empty()) return absl::InvalidArgumentError("identity must not be empty");
  absl::Status status = CheckCost(cost);
  if (status.ok()) status = CheckFieldSize("identity", identity);
  return status;
}

absl::Status UnknownRule(std::string_view rule_id) {
  return absl::NotFoundError(absl::StrCat("no rule with id \"", AbslView(rule_id), "\""));
}

// FailedPrecondition when this thread runs a callback of `engine` that
// `what` would wait for: its plan provider, and also its error listener
// when `listener_too`.
absl::Status NotFromCallback(const void* engine, std::string_view what, bool listener_too) {
  for (const CallbackFrame* f = running_callbacks; f != nullptr; f = f->outer) {
    if (f->engine != engine) continue;
    if (f->kind == Callback::kPlanProvider) {
      return absl::FailedPreconditionError(absl::StrCat(
          AbslView(what), " must not be called from inside this engine's plan provider"));
    }
    if (listener_too) {
      return absl::FailedPreconditionError(absl::StrCat(
          AbslView(what), " must not be called from inside this engine's error listener"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct Engine::Impl {
  Impl(std::unique_ptr<Metrics> m, std::unique_ptr<const Runtime> initial)
      : metrics(std::move(m)), runtime(std::move(initial)) {}

  // First: the runtimes' compiled rules point into it.
  const std::unique_ptr<Metrics> metrics;
  ReadMostly<Runtime> runtime;
  ReadMostly<PlanProvider> plan_provider{std::make_unique<const PlanProvider>()};
  ReadMostly<ErrorListener> error_listener{std::make_unique<const ErrorListener>()};
  absl::Mutex reload_mu;  // one reload at a time

  absl::Status CheckOrPeek(const Request& request, bool peek, Decision* out) {
    const uint64_t start = metrics->StartTimer();
    const MetricSlot slot = ThisThreadMetricSlot();
    DecisionCounters* counters = nullptr;
    Reports reports;
    absl::Status status = CheckCost(request.cost);
    if (status.ok()) status = CheckRequestSizes(request);
    if (status.ok()) {
      ReadMostly<Runtime>::Pin rt(runtime);
      const Resolution r = Resolve(*rt, request, plan_provider, this);
      if (r.rule == nullptr) {
        *out = Decision{};  // nothing limits this request
        counters = &metrics->unmatched();
      } else {
        status = Decide(*rt, *r.rule, *r.limits, r.identity, request.cost, peek, out, *metrics,
                        slot, &reports);
        counters = r.limits->counters;
      }
    }
    return Finish(slot, start, peek ? nullptr : counters, out, reports, std::move(status));
  }

  // Check for each request, the storage steps run together (see RunSteps).
  void CheckBatch(const Request* requests, size_t n, Decision* out, absl::Status* statuses) {
    DecideBatch(n, out, statuses,
                [&](const Runtime& rt, size_t i, Resolution* r, int64_t* cost) {
                  const Request& request = requests[i];
                  absl::Status status = CheckCost(request.cost);
                  if (status.ok()) status = CheckRequestSizes(request);
                  if (!status.ok()) return status;
                  *r = Resolve(rt, request, plan_provider, this);
                  *cost = request.cost;
                  return absl::OkStatus();
                });
  }

  // CheckKey for each identity under one rule, the storage steps run together.
  void CheckKeyBatch(std::string_view rule_id, const std::string_view* identities,
                     const int64_t* costs, size_t n, Decision* out, absl::Status* statuses) {
    DecideBatch(n, out, statuses,
                [&](const Runtime& rt, size_t i, Resolution* r, int64_t* cost) {
                  *cost = costs == nullptr ? 1 : costs[i];
                  absl::Status status = CheckKeyArguments(identities[i], *cost);
                  if (!status.ok()) return status;
                  auto it = rt.rules_by_id.find(AbslView(rule_id));
                  if (it == rt.rules_by_id.end()) return UnknownRule(rule_id);
                  r->rule = it->second;
                  r->limits = &it->second->default_limits;
                  r->identity = Identity{"key", identities[i], nullptr};
                  return absl::OkStatus();
                });
  }

  // The body of CheckBatch and CheckKeyBatch: `resolve(rt, i, &r, &cost)`
  // says what item i is (an error, no rule, or a rule's limits for an
  // identity, at a cost); every admitted step goes to the storage together.
  template <typename ResolveItem>
  void DecideBatch(size_t n, Decision* out, absl::Status* statuses, ResolveItem resolve) {
    const uint64_t start = metrics->StartTimer();
    const MetricSlot slot = ThisThreadMetricSlot();
    std::vector<DecisionCounters*> counters(n, nullptr);
    std::vector<Reports> reports(n);
    // Not movable (each op points into its step): one array, never resized.
    std::unique_ptr<StorageStep[]> steps(new StorageStep[n]);
    std::vector<size_t> admitted;
    {
      ReadMostly<Runtime>::Pin rt(runtime);
      for (size_t i = 0; i < n; ++i) {
        Resolution r;
        int64_t cost = 1;
        statuses[i] = resolve(*rt, i, &r, &cost);
        if (!statuses[i].ok()) continue;
        if (r.rule == nullptr) {
          out[i] = Decision{};  // nothing limits this request
          counters[i] = &metrics->unmatched();
          continue;
        }
        counters[i] = r.limits->counters;
        steps[i].rule = r.rule;
        steps[i].limits = r.limits;
        if (!AdmitStep(*rt, steps[i], &out[i], *metrics, slot)) continue;
        PrepareStep(*rt, r.identity, cost, /*peek=*/false, steps[i]);
        admitted.push_back(i);
      }
      RunSteps(*rt, steps.get(), admitted);
      for (size_t i : admitted) {
        statuses[i] = FinishStep(*rt, steps[i], &out[i], *metrics, slot, &reports[i]);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      statuses[i] = Finish(slot, start, counters[i], &out[i], reports[i], std::move(statuses[i]));
    }
  }

  // Counts a finished call (a decision when `counters` is set) and reports
  // its errors. Runs outside every pin, so the listener may reload.
  absl::Status Finish(MetricSlot slot, uint64_t start, DecisionCounters* counters,
                      const Decision* out, const Reports& reports, absl::Status status) {
    if (status.ok()) {
      if (counters != nullptr) {
        counters->Count(slot, out->allowed, out->degraded);
        metrics->ObserveCheck(slot, start);
      }
    } else {
      metrics->CountError(slot);
    }
    if (!reports.hidden.ok()) Report(reports.hidden);
    if (!reports.breaker.ok()) Report(reports.breaker);
    if (!status.ok()) Report(status);
    return status;
  }

  // Hands `error` to the listener, if any; nothing it throws escapes.
  void Report(const absl::Status& error) {
    ReadMostly<ErrorListener>::Pin listener(error_listener);
    if (!*listener) return;
    ScopedCallback running(this, Callback::kErrorListener);
    try {
      (*listener)(error);
    } catch (...) {
      // An observer never changes the outcome of a call.
    }
  }

  // The clock of the current storage, when it is manual.
  absl::Status WithManualClock(bool (*move)(EngineClock&, int64_t), int64_t value) {
    ReadMostly<Runtime>::Pin rt(runtime);
    EngineClock& clock = rt->storage->clock();
    if (!clock.manual()) {
      return absl::FailedPreconditionError(
          "the clock is not manual (config \"clock\": \"manual\")");
    }
    if (!move(clock, value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the manual clock must stay within ±2^62 microseconds (", value, " is out of range)"));
    }
    return absl::OkStatus();
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::string_view config_json) {
  absl::StatusOr<Config> config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  auto metrics = std::make_unique<Metrics>();
  absl::StatusOr<std::unique_ptr<const Runtime>> runtime =
      CompileRuntime(*std::move(config), nullptr, *metrics);
  if (!runtime.ok()) return runtime.status();
  return std::unique_ptr<Engine>(
      new Engine(std::make_unique<Impl>(std::move(metrics), *std::move(runtime))));
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::CreateFromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::unique_ptr<Engine>> engine = Create(*text);
  if (!engine.ok()) return WithMessagePrefix(engine.status(), absl::StrCat(path, ": "));
  return engine;
}

absl::Status Engine::Check(const Request& request, Decision* out) {
  return impl_->CheckOrPeek(request, /*peek=*/false, out);
}

absl::Status Engine::Peek(const Request& request, Decision* out) {
  return impl_->CheckOrPeek(request, /*peek=*/true, out);
}

void Engine::CheckBatch(const Request* requests, size_t n, Decision* decisions,
                        absl::Status* statuses) {
  if (n > 0) impl_->CheckBatch(requests, n, decisions, statuses);
}

void Engine::CheckKeyBatch(std::string_view rule_id, const std::string_view* identities,
                           const int64_t* costs, size_t n, Decision* decisions,
                           absl::Status* statuses) {
  if (n > 0) impl_->CheckKeyBatch(rule_id, identities, costs, n, decisions, statuses);
}

absl::Status Engine::Reset(const Request& request) {
  const MetricSlot slot = ThisThreadMetricSlot();
  Reports reports;
  absl::Status status;
  {
    ReadMostly<Runtime>::Pin rt(impl_->runtime);
    const CompiledRule* rule = MatchRule(*rt, request);
    if (rule == nullptr) return absl::OkStatus();  // nothing is limited, nothing to forget
    // Every plan's state: the identity's plan may have changed since it was counted.
    const Identity identity = ResolveIdentity(rt->config, request);
    status = Forget(*rt, *rule, rule->default_limits, identity, *impl_->metrics, slot, &reports);
    for (const auto& [plan_id, limits] : rule->plans) {
      if (status.ok()) {
        status = Forget(*rt, *rule, limits, identity, *impl_->metrics, slot, &reports);
      }
    }
  }
  return impl_->Finish(slot, 0, nullptr, nullptr, reports, std::move(status));
}

absl::Status Engine::CheckKey(std::string_view rule_id, std::string_view identity,
                              int64_t cost, Decision* out) {
  const uint64_t start = impl_->metrics->StartTimer();
  const MetricSlot slot = ThisThreadMetricSlot();
  DecisionCounters* counters = nullptr;
  Reports reports;
  absl::Status status = CheckKeyArguments(identity, cost);
  if (status.ok()) {
    ReadMostly<Runtime>::Pin rt(impl_->runtime);
    auto it = rt->rules_by_id.find(AbslView(rule_id));
    if (it == rt->rules_by_id.end()) {
      status = UnknownRule(rule_id);
    } else {
      const CompiledRule& rule = *it->second;
      status = Decide(*rt, rule, rule.default_limits, Identity{"key", identity, nullptr}, cost,
                      /*peek=*/false, out, *impl_->metrics, slot, &reports);
      counters = rule.default_limits.counters;
    }
  }
  return impl_->Finish(slot, start, counters, out, reports, std::move(status));
}

absl::Status Engine::ResetKey(std::string_view rule_id, std::string_view identity) {
  const MetricSlot slot = ThisThreadMetricSlot();
  Reports reports;
  absl::Status status;
  if (identity.empty()) {
    status = absl::InvalidArgumentError("identity must not be empty");
  } else {
    ReadMostly<Runtime>::Pin rt(impl_->runtime);
    auto it = rt->rules_by_id.find(AbslView(rule_id));
    if (it == rt->rules_by_id.end()) {
      status = UnknownRule(rule_id);
    } else {
      status = Forget(*rt, *it->second, it->second->default_limits,
                      Identity{"key", identity, nullptr}, *impl_->metrics, slot, &reports);
    }
  }
  return impl_->Finish(slot, 0, nullptr, nullptr, reports, std::move(status));
}

absl::Status Engine::Reload(std::string_view config_json) {
  if (absl::Status s = NotFromCallback(impl_.get(), "Reload", /*listener_too=*/false); !s.ok()) {
    return s;
  }
  absl::StatusOr<Config> config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&impl_->reload_mu);
  absl::StatusOr<std::unique_ptr<const Runtime>> next =
      CompileRuntime(*std::move(config), impl_->runtime.LatestForWriter(), *impl_->metrics);
  if (!next.ok()) return next.status();
  impl_->runtime.Replace(*std::move(next));
  return absl::OkStatus();
}

absl::Status Engine::SetPlanProvider(PlanProvider provider) {
  if (absl::Status s = NotFromCallback(impl_.get(), "SetPlanProvider", /*listener_too=*/false);
      !s.ok()) {
    return s;
  }
  impl_->plan_provider.Replace(std::make_unique<const PlanProvider>(std::move(provider)));
  return absl::OkStatus();
}

absl::Status Engine::SetErrorListener(ErrorListener listener) {
  // Replace waits for the listener's calls in flight, this one included.
  if (absl::Status s = NotFromCallback(impl_.get(), "SetErrorListener", /*listener_too=*/true);
      !s.ok()) {
    return s;
  }
  impl_->error_listener.Replace(std::make_unique<const ErrorListener>(std::move(listener)));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Engine::Stats(StatsFormat format) const {
  MetricsSnapshot snapshot = impl_->metrics->Snapshot();
  {
    ReadMostly<Runtime>::Pin rt(impl_->runtime);
    const CircuitBreaker* breaker = rt->breaker.get();
    snapshot.breaker.enabled = breaker != nullptr;
    snapshot.breaker.state = breaker != nullptr ? static_cast<int>(breaker->state()) : 0;
    // A scrape never waits on a storage the breaker keeps away from.
    if (snapshot.breaker.state == 0) snapshot.keys = KeyCount(*rt->storage);
  }
  switch (format) {
    case StatsFormat::kJson:
      return RenderStatsJson(snapshot);
    case StatsFormat::kPrometheus:
      return RenderStatsPrometheus(snapshot);
  }
  return absl::InvalidArgumentError("unknown stats format");
}

absl::Status Engine::AdvanceClock(int64_t delta_us) {
  return impl_->WithManualClock([](EngineClock& c, int64_t d) { return c.Advance(d); }, delta_us);
}

absl::Status Engine::SetClock(int64_t now_us) {
  return impl_->WithManualClock([](EngineClock& c, int64_t t) { return c.Set(t); }, now_us);
}

}  // namespace limify
