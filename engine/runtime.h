// A compiled configuration: everything a check needs, built once at load
// (and at each reload) and then only read. Holds the plugins and the storage
// instance it uses, so checks in flight keep them alive across a reload.
#ifndef LIMIFY_ENGINE_RUNTIME_H_
#define LIMIFY_ENGINE_RUNTIME_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/circuit_breaker.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/identity_hasher.h"
#include "engine/metrics.h"
#include "engine/plugin_registry.h"
#include "engine/route_table.h"
#include "engine/storage_keys.h"
#include "limify/plugin.h"

namespace limify {

// A created storage instance with the clock it reads; destroyed before its
// plugin can unload and before its clock.
class StorageInstance {
 public:
  StorageInstance(std::shared_ptr<const PluginRegistry> registry,
                  const limify_storage* vtable, std::unique_ptr<EngineClock> clock)
      : registry_(std::move(registry)), vtable_(vtable), clock_(std::move(clock)) {}
  ~StorageInstance() {
    if (instance_ != nullptr) vtable_->destroy(instance_);
  }
  StorageInstance(const StorageInstance&) = delete;
  StorageInstance& operator=(const StorageInstance&) = delete;

  const limify_storage* vtable() const { return vtable_; }
  void* instance() const { return instance_; }
  EngineClock& clock() const { return *clock_; }
  void set_instance(void* instance) { instance_ = instance; }

 private:
  std::shared_ptr<const PluginRegistry> registry_;
  const limify_storage* vtable_;
  std::unique_ptr<EngineClock> clock_;
  void* instance_ = nullptr;
};

// The limits one plan puts on one rule, ready for the storage.
struct CompiledLimits {
  std::string plan_id;
  std::vector<limify_limit_spec> specs;
  std::vector<size_t> state_sizes;
  KeyTemplate keys;
  DecisionCounters* counters = nullptr;  // (rule, plan)'s cell; owned by the engine's Metrics
};

struct CompiledRule {
  std::string id;
  const limify_algorithm* algorithm = nullptr;
  CompiledLimits default_limits;
  absl::flat_hash_map<std::string, CompiledLimits> plans;

  // The limits for `plan`; a plan the rule does not define gets its own rate.
  const CompiledLimits& LimitsFor(std::string_view plan) const;
};

struct Runtime {
  Config config;
  std::vector<std::string> plugin_dirs;  // the search path the registry was loaded from
  std::shared_ptr<const PluginRegistry> registry;
  std::shared_ptr<StorageInstance> storage;
  // The storage's breaker; null when disabled ("circuit_breaker": false).
  std::shared_ptr<CircuitBreaker> breaker;
  std::vector<CompiledRule> rules;  // config order; route table indexes it
  std::optional<CompiledRule> default_rule;
  absl::flat_hash_map<std::string, const CompiledRule*> rules_by_id;
  std::optional<RouteTable> routes;
  IdentityHasher hasher;
};

// Compiles `config`. Reuses `previous`'s plugins and storage when the plugin
// search path, the clock and the storage configuration are unchanged, so a
// reload keeps state (and the manual clock's time); otherwise loads plugins
// and creates the storage anew. The circuit breaker goes with the storage: a
// kept storage keeps its breaker (state included) unless the breaker's
// settings changed, and a new storage starts with a new, closed one. Every rule and plan counts its decisions in
// `metrics`' cell of (rule id, plan id), which must outlive the runtime; a
// configuration that fails to compile adds no cell.
absl::StatusOr<std::unique_ptr<const Runtime>> CompileRuntime(Config config,
                                                              const Runtime* previous,
                                                              Metrics& metrics);

}  // namespace limify

#endif  // LIMIFY_ENGINE_RUNTIME_H_
