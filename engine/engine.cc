// The path of one check: rule -> plan -> identity -> keys -> one atomic
// storage step -> decision. See DESIGN.md, "One check, end to end".
#include "engine/engine.h"

#include <atomic>
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
#include "engine/read_mostly.h"
#include "engine/plugin_error.h"
#include "engine/runtime.h"
#include "engine/storage_keys.h"

namespace limify {
namespace {

// Retry-after suggested when the storage failed and the policy blocks.
constexpr int64_t kFailClosedRetryUs = 1'000'000;

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

// Explicit plan > host callback > config map > the rule's own rate.
const CompiledLimits& ResolveLimits(const Runtime& rt, const CompiledRule& rule,
                                    const Request& request, const Identity& identity,
                                    const PlanProvider* provider, std::string* scratch) {
  if (rule.plans.empty()) return rule.default_limits;
  if (!request.plan.empty()) return rule.LimitsFor(request.plan);
  if (provider != nullptr && *provider) {
    *scratch = (*provider)(request, rule.id);
    if (!scratch->empty()) return rule.LimitsFor(*scratch);
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

void Unmatched(Decision* out) {
  *out = Decision{};
}

// Runs the rule's limits through the storage; applies the failure policy
// when the storage fails.
void Decide(const Runtime& rt, const CompiledRule& rule, const CompiledLimits& limits,
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
  int32_t rc = storage->execute(rt.storage->instance(), &op, &verdict, &err);

  out->matched = true;
  out->rule_id = rule.id;
  out->plan_id = limits.plan_id;
  if (rc != LIMIFY_PLUGIN_OK) {
    const bool open = rt.config.failure_mode == FailureMode::kOpen;
    out->allowed = open;
    out->degraded = true;
    out->limit = limits.specs[0].limit;
    out->remaining = kUnlimited;  // unknown without storage
    out->period_us = limits.specs[0].period_us;
    out->reset_after_us = 0;
    out->retry_after_us = open ? 0 : kFailClosedRetryUs;
    return;
  }
  const size_t binding = verdict.binding_limit < limits.specs.size() ? verdict.binding_limit : 0;
  out->allowed = verdict.allowed != 0;
  out->degraded = false;
  out->limit = verdict.limit;
  out->remaining = verdict.remaining;
  out->period_us = limits.specs[binding].period_us;
  out->reset_after_us = verdict.reset_after_us;
  out->retry_after_us = verdict.allowed ? 0 : verdict.retry_after_us;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("config file \"", path, "\": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("config file \"", path, "\": read failed"));
  return text.str();
}

}  // namespace

struct Engine::Impl {
  explicit Impl(std::unique_ptr<EngineClock> engine_clock, std::unique_ptr<const Runtime> initial)
      : clock(std::move(engine_clock)), runtime(std::move(initial)) {}

  std::unique_ptr<EngineClock> clock;  // first: storages read it until the last runtime is gone
  ReadMostly<Runtime> runtime;
  ReadMostly<PlanProvider> plan_provider{std::make_unique<const PlanProvider>()};
  absl::Mutex reload_mu;  // one reload at a time

  absl::Status CheckOrPeek(const Request& request, bool peek, Decision* out) {
    if (request.cost < 1) {
      return absl::InvalidArgumentError(absl::StrCat("cost must be >= 1, got ", request.cost));
    }
    ReadMostly<Runtime>::Pin rt(runtime);
    const int index = rt->routes->Match(request.method, request.path);
    const CompiledRule* rule = index >= 0 ? &rt->rules[index]
                               : rt->default_rule ? &*rt->default_rule : nullptr;
    if (rule == nullptr) {
      Unmatched(out);
      return absl::OkStatus();
    }
    const Identity identity = ResolveIdentity(rt->config, request);
    std::string plan_scratch;
    const CompiledLimits* limits = &rule->default_limits;
    if (!rule->plans.empty()) {
      ReadMostly<PlanProvider>::Pin provider(plan_provider);
      limits = &ResolveLimits(*rt, *rule, request, identity, provider.get(), &plan_scratch);
    }
    Decide(*rt, *rule, *limits, identity, request.cost, peek, out);
    return absl::OkStatus();
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::string_view config_json) {
  absl::StatusOr<Config> config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  auto clock = std::make_unique<EngineClock>();
  absl::StatusOr<std::unique_ptr<const Runtime>> runtime =
      CompileRuntime(*std::move(config), clock.get(), nullptr);
  if (!runtime.ok()) return runtime.status();
  auto impl = std::make_unique<Impl>(std::move(clock), *std::move(runtime));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
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
  const int index = rt->routes->Match(request.method, request.path);
  const CompiledRule* rule = index >= 0 ? &rt->rules[index]
                             : rt->default_rule ? &*rt->default_rule : nullptr;
  if (rule == nullptr) return absl::OkStatus();  // nothing is limited, nothing to forget
  const Identity identity = ResolveIdentity(rt->config, request);
  std::string plan_scratch;
  ReadMostly<PlanProvider>::Pin provider(impl_->plan_provider);
  const CompiledLimits& limits =
      ResolveLimits(*rt, *rule, request, identity, provider.get(), &plan_scratch);
  StorageKeys keys;
  BuildKeys(*rt, limits, identity, &keys);
  limify_plugin_error err;
  int32_t rc = rt->storage->vtable()->remove(rt->storage->instance(), keys.keys(), keys.size(),
                                             &err);
  return PluginStatus(rc, err, absl::StrCat("storage \"", rt->config.storage.type, "\""));
}

absl::Status Engine::CheckKey(std::string_view rule_id, std::string_view identity,
                              int64_t cost, Decision* out) {
  if (identity.empty()) return absl::InvalidArgumentError("identity must not be empty");
  if (cost < 1) return absl::InvalidArgumentError(absl::StrCat("cost must be >= 1, got ", cost));
  ReadMostly<Runtime>::Pin rt(impl_->runtime);
  auto it = rt->rules_by_id.find(AbslView(rule_id));
  if (it == rt->rules_by_id.end()) {
    return absl::NotFoundError(absl::StrCat("no rule with id \"", AbslView(rule_id), "\""));
  }
  const CompiledRule& rule = *it->second;
  Decide(*rt, rule, rule.default_limits, Identity{"key", identity, nullptr}, cost,
         /*peek=*/false, out);
  return absl::OkStatus();
}

absl::Status Engine::Reload(std::string_view config_json) {
  absl::StatusOr<Config> config = ParseConfig(config_json);
  if (!config.ok()) return config.status();
  absl::MutexLock lock(&impl_->reload_mu);
  absl::StatusOr<std::unique_ptr<const Runtime>> next = CompileRuntime(
      *std::move(config), impl_->clock.get(), impl_->runtime.LatestForWriter());
  if (!next.ok()) return next.status();
  impl_->runtime.Replace(*std::move(next));
  return absl::OkStatus();
}

void Engine::SetPlanProvider(PlanProvider provider) {
  impl_->plan_provider.Replace(std::make_unique<const PlanProvider>(std::move(provider)));
}

absl::Status Engine::AdvanceClock(int64_t delta_us) {
  if (!impl_->clock->manual()) {
    return absl::FailedPreconditionError("the clock is not manual (config \"clock\": \"manual\")");
  }
  impl_->clock->Advance(delta_us);
  return absl::OkStatus();
}

absl::Status Engine::SetClock(int64_t now_us) {
  if (!impl_->clock->manual()) {
    return absl::FailedPreconditionError("the clock is not manual (config \"clock\": \"manual\")");
  }
  impl_->clock->Set(now_us);
  return absl::OkStatus();
}

}  // namespace limify
