// The path of one check: rule -> plan -> identity -> keys -> one atomic
// storage step -> decision. See DESIGN.md, "One check, end to end".
#include "engine/engine.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/absl_compat.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/identity_hasher.h"
#include "engine/limit_applier.h"
#include "engine/plugin_error.h"
#include "engine/read_mostly.h"
#include "engine/runtime.h"
#include "engine/storage_keys.h"

namespace limify {
namespace {

// Retry-after suggested when the storage failed and the policy blocks.
constexpr int64_t kFailClosedRetryUs = 1'000'000;

// The engines whose plan providers this thread is running, innermost first
// (a provider may check through another engine, or its own): none of them
// may be reloaded or have its provider replaced from here, since that waits
// for this very check to finish.
struct ProviderFrame {
  const void* engine;
  const ProviderFrame* outer;
};
thread_local const ProviderFrame* running_providers = nullptr;

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
  const ProviderFrame frame{engine, running_providers};
  running_providers = &frame;
  std::string plan;
  try {
    plan = provider(request, rule_id);
  } catch (...) {
    plan.clear();
  }
  running_providers = frame.outer;
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

// Runs the rule's limits through the storage in one atomic step.
absl::Status Decide(const Runtime& rt, const CompiledRule& rule, const CompiledLimits& limits,
                    const Identity& identity, int64_t cost, bool peek, Decision* out) {
  StorageKeys keys;
  BuildKeys(rt, limits, identity, &keys);

  LimitApplication app{rule.algorithm, limits.specs.data(), limits.state_sizes.data(),
                       limits.specs.size(), cost, peek};
  limify_storage_op op{};
  op.struct_size = sizeof(op);
  op.mode = peek ? LIMIFY_MODE_PEEK : LIMIFY_MODE_CHECK;
  op.n_keys = keys.size();
  op.keys = keys.keys();
  op.state_sizes = limits.state_sizes.data();
  op.algorithm = rule.algorithm->name;
  op.specs = limits.specs.data();
  op.cost = cost;
  op.apply = &ApplyLimits;
  op.apply_ctx = &app;

  limify_verdict verdict{};
  verdict.struct_size = sizeof(verdict);
  limify_plugin_error err;
  const limify_storage* storage = rt.storage->vtable();
  const int32_t rc = storage->execute(rt.storage->instance(), &op, &verdict, &err);

  out->matched = true;
  out->rule_id = rule.id;
  out->plan_id = limits.plan_id;
  if (rc != LIMIFY_PLUGIN_OK) {
    if (!IsStorageFailure(rc)) {
      // A host that looks only at `allowed` must not let this request through.
      DecideWithoutStorage(limits, /*allowed=*/false, /*degraded=*/false, out);
      return PluginStatus(rc, err, absl::StrCat("rule \"", rule.id, "\""));
    }
    DecideWithoutStorage(limits, rt.config.failure_mode == FailureMode::kOpen,
                         /*degraded=*/true, out);
    return absl::OkStatus();
  }
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

absl::Status Forget(const Runtime& rt, const CompiledLimits& limits, const Identity& identity) {
  StorageKeys keys;
  BuildKeys(rt, limits, identity, &keys);
  limify_plugin_error err;
  int32_t rc = rt.storage->vtable()->remove(rt.storage->instance(), keys.keys(), keys.size(), &err);
  return PluginStatus(rc, err, absl::StrCat("storage \"", rt.config.storage.type, "\""));
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

absl::Status NotFromProvider(const void* engine, std::string_view what) {
  for (const ProviderFrame* f = running_providers; f != nullptr; f = f->outer) {
    if (f->engine == engine) {
      return absl::FailedPreconditionError(absl::StrCat(
          AbslView(what), " must not be called from inside this engine's plan provider"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

struct Engine::Impl {
  explicit Impl(std::unique_ptr<const Runtime> initial) : runtime(std::move(initial)) {}

  ReadMostly<Runtime> runtime;
  ReadMostly<PlanProvider> plan_provider{std::make_unique<const PlanProvider>()};
  absl::Mutex reload_mu;  // one reload at a time

  absl::Status CheckOrPeek(const Request& request, bool peek, Decision* out) {
    if (absl::Status s = CheckCost(request.cost); !s.ok()) return s;
    ReadMostly<Runtime>::Pin rt(runtime);
    const Resolution r = Resolve(*rt, request, plan_provider, this);
    if (r.rule == nullptr) {
      *out = Decision{};  // nothing limits this request
      return absl::OkStatus();
    }
    return Decide(*rt, *r.rule, *r.limits, r.identity, request.cost, peek, out);
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
  absl::StatusOr<std::unique_ptr<const Runtime>> runtime =
      CompileRuntime(*std::move(config), nullptr);
  if (!runtime.ok()) return runtime.status();
  return std::unique_ptr<Engine>(new Engine(std::make_unique<Impl>(*std::move(runtime))));
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::CreateFromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::unique_ptr<Engine>> engine = Create(*text);
  if (!engine.ok()) {
    return absl::Status(engine.status().code(),
                        absl::StrCat(path, ": ", engine.status().message()));
  }
  return engine;
}

absl::Status Engine::Check(const Request& request, Decision* out) {
  return impl_->CheckOrPeek(request, /*peek=*/false, out);
}

absl::Status Engine::Peek(const Request& request, Decision* out) {
  return impl_->CheckOrPeek(request, /*peek=*/true, out);
}

absl::Status Engine::Reset(const Request& request) {
  ReadMostly<Runtime>::Pin rt(impl_->runtime);
  const CompiledRule* rule = MatchRule(*rt, request);
  if (rule == nullptr) return absl::OkStatus();  // nothing is limited, nothing to forget
  // Every plan's state: the identity's plan may have changed since it was counted.
  const Identity identity = ResolveIdentity(rt->config, request);
  absl::Status status = Forget(*rt, rule->default_limits, identity);
  for (const auto& [plan_id, limits] : rule->plans) {
    if (status.ok()) status = Forget(*rt, limits, identity);
  }
  return status;
}

absl::Status Engine::CheckKey(std::string_view rule_id, std::string_view identity,
                              int64_t cost, Decision* out) {
  if (identity.empty()) return absl::InvalidArgumentError("identity must not be empty");
  if (absl::Status s = CheckCost(cost); !s.ok()) return s;
  ReadMostly<Runtime>::Pin rt(impl_->runtime);
  auto it = rt->rules_by_id.find(AbslView(rule_id));
  if (it == rt->rules_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("no rule with id \"", AbslView(rule_id), "\""));
  }
  const CompiledRule& rule = *it->second;
  return Decide(*rt, rule, rule.default_limits, Identity{"key", identity, nullptr}, cost,
                /*peek=*/false, out);
}

absl::Status Engine::ResetKey(std::string_view rule_id, std::string_view identity) {
  if (identity.empty()) return absl::InvalidArgumentError("identity must not be empty");
  ReadMostly<Runtime>::Pin rt(impl_->runtime);
  auto it = rt->rules_by_id.find(AbslView(rule_id));
  if (it == rt->rules_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("no rule with id \"", AbslView(rule_id), "\""));
  }
  return Forget(*rt, it->second->default_limits, Identity{"key", identity, nullptr});
}

absl::Status Engine::Reload(std::string_view config_json) {
  if (absl::Status s = NotFromProvider(impl_.get(), "Reload"); !s.ok()) return s;
  absl::StatusOr<Config> config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&impl_->reload_mu);
  absl::StatusOr<std::unique_ptr<const Runtime>> next =
      CompileRuntime(*std::move(config), impl_->runtime.LatestForWriter());
  if (!next.ok()) return next.status();
  impl_->runtime.Replace(*std::move(next));
  return absl::OkStatus();
}

absl::Status Engine::SetPlanProvider(PlanProvider provider) {
  if (absl::Status s = NotFromProvider(impl_.get(), "SetPlanProvider"); !s.ok()) return s;
  impl_->plan_provider.Replace(std::make_unique<const PlanProvider>(std::move(provider)));
  return absl::OkStatus();
}

absl::Status Engine::AdvanceClock(int64_t delta_us) {
  return impl_->WithManualClock([](EngineClock& c, int64_t d) { return c.Advance(d); }, delta_us);
}

absl::Status Engine::SetClock(int64_t now_us) {
  return impl_->WithManualClock([](EngineClock& c, int64_t t) { return c.Set(t); }, now_us);
}

}  // namespace limify
