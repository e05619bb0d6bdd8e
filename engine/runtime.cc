#include "engine/runtime.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/absl_compat.h"
#include "engine/plugin_error.h"
#include "engine/rate.h"

namespace limify {
namespace {

// The most state one key may need (sliding_window at its largest limit needs
// 800 KB); a plugin asking for more is refused at load, not on a request.
constexpr size_t kMaxStateBytes = size_t{1} << 20;

// The same plugins and storage serve the new configuration when nothing that
// shapes them changed.
bool CanReuseStorage(const Config& next, const std::vector<std::string>& plugin_dirs,
                     const Runtime& previous) {
  const Config& prev = previous.config;
  return plugin_dirs == previous.plugin_dirs && next.clock == prev.clock &&
         next.storage.type == prev.storage.type &&
         next.storage.options_json == prev.storage.options_json;
}

absl::StatusOr<std::shared_ptr<const PluginRegistry>> LoadPlugins(
    const Config& config, const std::vector<std::string>& plugin_dirs) {
  if (absl::Status s = CheckConfiguredPluginDirs(config.plugin_paths); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<PluginRegistry>> registry =
      PluginRegistry::Load(plugin_dirs);
  if (!registry.ok()) return registry.status();
  return std::shared_ptr<const PluginRegistry>(std::move(*registry));
}

absl::StatusOr<std::shared_ptr<StorageInstance>> CreateStorage(
    const Config& config, std::shared_ptr<const PluginRegistry> registry) {
  const limify_storage* vtable = registry->FindStorage(config.storage.type);
  if (vtable == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "storage.type: unknown storage \"", config.storage.type, "\" (loaded: ",
        absl::StrJoin(registry->StorageNames(), ", "), "; plugin directories searched: ",
        absl::StrJoin(registry->dirs(), ", "), ")"));
  }
  if (config.clock == ClockKind::kManual &&
      (vtable->flags & LIMIFY_STORAGE_USES_HOST_CLOCK) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clock: \"manual\" needs a storage that uses the host's clock (such as memory); "
        "storage \"", config.storage.type, "\" keeps its own time"));
  }
  auto storage = std::make_shared<StorageInstance>(
      std::move(registry), vtable,
      std::make_unique<EngineClock>(config.clock == ClockKind::kManual));
  limify_storage_env env{};
  env.struct_size = sizeof(env);
  env.now_us = &EngineClock::NowUsThunk;
  env.clock_ctx = &storage->clock();
  void* instance = nullptr;
  limify_plugin_error err;
  int32_t rc = vtable->create(config.storage.options_json.c_str(), &env, &instance, &err);
  if (rc != LIMIFY_PLUGIN_OK) {
    absl::Status status = PluginStatus(rc, err, "storage");
    // Plugins name the option first ("max_keys: ..."): make it a JSON path.
    if (rc == LIMIFY_PLUGIN_INVALID_ARGUMENT) {
      return absl::InvalidArgumentError(absl::StrCat("storage.", err.message));
    }
    return status;
  }
  storage->set_instance(instance);
  return storage;
}

std::string RateSuffix(const std::string& algorithm, const Rate& rate, int64_t burst) {
  std::string suffix = absl::StrCat("}:", algorithm, ":", FormatRate(rate));
  if (burst > 0) absl::StrAppend(&suffix, ":b", burst);
  return suffix;
}

// The limit `burst` applies to: the one with the shortest window, which is the
// one that decides how many requests may pass at once. The longer windows of
// a list keep their own capacity (a daily quota is not cut to the burst).
size_t BurstLimitIndex(const std::vector<Rate>& rates) {
  size_t best = 0;
  for (size_t i = 1; i < rates.size(); ++i) {
    if (rates[i].period_us < rates[best].period_us) best = i;
  }
  return best;
}

absl::StatusOr<CompiledLimits> CompileLimits(const LimitSet& limits, std::string_view rule_id,
                                             std::string_view plan_id,
                                             const std::string& algorithm_name,
                                             const limify_algorithm* algorithm) {
  CompiledLimits out;
  out.plan_id = std::string(plan_id);
  out.keys.prefix = absl::StrCat("limify:{", AbslView(rule_id), "|", AbslView(plan_id), "|");
  const size_t burst_index = BurstLimitIndex(limits.rates);
  for (size_t i = 0; i < limits.rates.size(); ++i) {
    const Rate& rate = limits.rates[i];
    limify_limit_spec spec{};
    spec.struct_size = sizeof(spec);
    spec.limit = rate.limit;
    spec.period_us = rate.period_us;
    spec.burst = i == burst_index ? limits.burst : 0;
    limify_plugin_error err;
    int32_t rc = algorithm->validate(&spec, &err);
    if (rc != LIMIFY_PLUGIN_OK) {
      return absl::InvalidArgumentError(absl::StrCat(
          limits.json_path, ": ", err.message.empty() ? "refused by the algorithm" : err.message));
    }
    const size_t state_size = algorithm->state_size(&spec);
    if (state_size == 0 || state_size > kMaxStateBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          limits.json_path, ": algorithm \"", algorithm_name, "\" asks for ", state_size,
          " bytes of state per key for ", FormatRate(rate), " (expected 1 to ", kMaxStateBytes,
          ")"));
    }
    out.specs.push_back(spec);
    out.state_sizes.push_back(state_size);
    out.keys.suffixes.push_back(RateSuffix(algorithm_name, rate, spec.burst));
  }
  return out;
}

absl::StatusOr<CompiledRule> CompileRule(const RuleConfig& rule, const PluginRegistry& registry) {
  CompiledRule out;
  out.id = rule.id;
  out.algorithm = registry.FindAlgorithm(rule.algorithm);
  if (out.algorithm == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        rule.json_path, ".algorithm: unknown algorithm \"", rule.algorithm, "\" (loaded: ",
        absl::StrJoin(registry.AlgorithmNames(), ", "), ")"));
  }
  absl::StatusOr<CompiledLimits> limits =
      CompileLimits(rule.limits, rule.id, "default", rule.algorithm, out.algorithm);
  if (!limits.ok()) return limits.status();
  out.default_limits = std::move(*limits);
  for (const auto& [plan_id, plan_limits] : rule.plans) {
    limits = CompileLimits(plan_limits, rule.id, plan_id, rule.algorithm, out.algorithm);
    if (!limits.ok()) return limits.status();
    out.plans.emplace(plan_id, std::move(*limits));
  }
  return out;
}

// Last, once nothing can fail: a refused configuration leaves no cells.
void AttachCounters(std::vector<CompiledRule>& rules, std::optional<CompiledRule>& default_rule,
                    Metrics& metrics) {
  auto attach = [&metrics](CompiledRule& rule) {
    rule.default_limits.counters = metrics.CountersFor(rule.id, rule.default_limits.plan_id);
    for (auto& [plan_id, limits] : rule.plans) {
      limits.counters = metrics.CountersFor(rule.id, plan_id);
    }
  };
  for (CompiledRule& rule : rules) attach(rule);
  if (default_rule.has_value()) attach(*default_rule);
}

}  // namespace

const CompiledLimits& CompiledRule::LimitsFor(std::string_view plan) const {
  if (plans.empty() || plan.empty()) return default_limits;
  auto it = plans.find(AbslView(plan));
  return it == plans.end() ? default_limits : it->second;
}

absl::StatusOr<std::unique_ptr<const Runtime>> CompileRuntime(Config config,
                                                              const Runtime* previous,
                                                              Metrics& metrics) {
  auto runtime = std::make_unique<Runtime>();
  runtime->plugin_dirs = PluginSearchPath(config.plugin_paths);
  if (previous != nullptr && CanReuseStorage(config, runtime->plugin_dirs, *previous)) {
    runtime->registry = previous->registry;
    runtime->storage = previous->storage;
  } else {
    absl::StatusOr<std::shared_ptr<const PluginRegistry>> registry =
        LoadPlugins(config, runtime->plugin_dirs);
    if (!registry.ok()) return registry.status();
    runtime->registry = *registry;
  }

  for (const RuleConfig& rule : config.rules) {
    absl::StatusOr<CompiledRule> compiled = CompileRule(rule, *runtime->registry);
    if (!compiled.ok()) return compiled.status();
    runtime->rules.push_back(std::move(*compiled));
  }
  if (config.default_rule.has_value()) {
    absl::StatusOr<CompiledRule> compiled = CompileRule(*config.default_rule, *runtime->registry);
    if (!compiled.ok()) return compiled.status();
    runtime->default_rule = std::move(*compiled);
  }
  for (const CompiledRule& rule : runtime->rules) runtime->rules_by_id[rule.id] = &rule;
  if (runtime->default_rule.has_value()) {
    runtime->rules_by_id.try_emplace(runtime->default_rule->id, &*runtime->default_rule);
  }

  absl::StatusOr<RouteTable> routes = RouteTable::Build(config.rules);
  if (!routes.ok()) return routes.status();
  runtime->routes.emplace(std::move(*routes));

  if (config.identity.hash == IdentityHash::kHmacSha256) {
    runtime->hasher = IdentityHasher(config.identity.secret);
  }

  // The storage comes last: nothing is created for a configuration that fails.
  if (runtime->storage == nullptr) {
    absl::StatusOr<std::shared_ptr<StorageInstance>> storage =
        CreateStorage(config, runtime->registry);
    if (!storage.ok()) return storage.status();
    runtime->storage = *std::move(storage);
  }
  if (config.circuit_breaker.has_value()) {
    const bool keep = previous != nullptr && runtime->storage == previous->storage &&
                      previous->breaker != nullptr &&
                      previous->breaker->settings() == *config.circuit_breaker;
    runtime->breaker =
        keep ? previous->breaker : std::make_shared<CircuitBreaker>(*config.circuit_breaker);
  }
  AttachCounters(runtime->rules, runtime->default_rule, metrics);
  runtime->config = std::move(config);
  return std::unique_ptr<const Runtime>(std::move(runtime));
}

}  // namespace limify

