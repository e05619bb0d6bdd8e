// Drives the redis storage the way the engine does: real algorithm plugins,
// the engine's own apply (engine/limit_applier.cc), one op per check. The
// storage is either the plugin (limify_redis.so through its ABI) or the
// RedisStorage class linked in (for the test-only hooks: a time override and
// a forced generic path). A Reference runs the same steps on local states,
// exactly as the generic path (and the memory storage) would.
#ifndef LIMIFY_TESTS_REDIS_REDIS_HARNESS_H_
#define LIMIFY_TESTS_REDIS_REDIS_HARNESS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/limit_applier.h"
#include "engine/plugin_error.h"
#include "limify/plugin.h"
#include "plugins/storage/redis/redis_options.h"
#include "plugins/storage/redis/redis_storage.h"

namespace limify::testing {

inline constexpr int64_t kSecond = 1'000'000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;

const std::vector<std::string>& AllAlgorithms();
// The algorithm `name` from build/plugins/limify_<name>.so (loaded once).
const limify_algorithm* Algorithm(const std::string& name);
const limify_storage* RedisPlugin();

inline limify_limit_spec Spec(int64_t limit, int64_t period_us, int64_t burst = 0) {
  return limify_limit_spec{sizeof(limify_limit_spec), 0, limit, period_us, burst};
}

// The limits of one rule for one identity, and its keys.
struct Rule {
  std::string algorithm_name;
  const limify_algorithm* algorithm = nullptr;
  std::vector<limify_limit_spec> specs;
  std::vector<size_t> state_sizes;
  std::vector<std::string> keys;
  std::vector<limify_key> key_refs;
};
// Keys limify:{<tag>}:<algorithm>:<i>, one per spec (all in one slot).
Rule MakeRule(const std::string& algorithm, std::vector<limify_limit_spec> specs,
              const std::string& tag);

struct StepResult {
  int32_t code = LIMIFY_PLUGIN_OK;
  limify_verdict verdict{};
  std::string error;
};
std::ostream& operator<<(std::ostream& os, const StepResult& r);
// Same code and, when OK, the same verdict in every field.
bool SameResult(const StepResult& a, const StepResult& b);

limify_storage_op MakeOp(const Rule& rule, LimitApplication* app, int64_t cost, bool peek);

// The RedisStorage class, linked into the test (hooks available).
std::unique_ptr<redis::RedisStorage> MakeCore(const std::string& options_json);
StepResult Step(redis::RedisStorage& storage, const Rule& rule, int64_t cost, bool peek = false,
                const redis::RedisStorage::Hooks* hooks = nullptr);
// The ops decided with one ExecuteBatch, a result per op.
std::vector<StepResult> Batch(redis::RedisStorage& storage,
                              const std::vector<limify_storage_op>& ops,
                              const redis::RedisStorage::Hooks* hooks = nullptr);

// The plugin through its ABI, as the engine uses it.
class PluginStorage {
 public:
  // Creates an instance; `create_code`/`create_error` report the outcome.
  explicit PluginStorage(const std::string& options_json);
  ~PluginStorage();
  bool ok() const { return instance_ != nullptr; }
  int32_t create_code() const { return create_code_; }
  const std::string& create_error() const { return create_error_; }
  StepResult Step(const Rule& rule, int64_t cost, bool peek = false);
  StepResult Remove(const Rule& rule);
  // Through the ABI's execute_batch, a result per op; `call` gets what the
  // entry itself returned.
  std::vector<StepResult> Batch(const std::vector<limify_storage_op>& ops, StepResult* call);

 private:
  void* instance_ = nullptr;
  int32_t create_code_ = LIMIFY_PLUGIN_OK;
  std::string create_error_;
};

// The generic path on local states, which are never dropped (a state past
// its ttl is equivalent to a fresh one, so keeping it changes no decision).
class Reference {
 public:
  StepResult Step(const Rule& rule, int64_t now_us, int64_t cost, bool peek,
                  std::vector<int64_t>* ttl_us = nullptr, bool* wrote = nullptr);
  // The bytes of a key ("" when never written).
  std::string State(const std::string& key) const;

 private:
  std::map<std::string, std::string> states_;
};

// A JSON storage config for `url` with test-friendly timeouts.
std::string Options(const std::string& url, const std::string& extra = "");

// The value of a key (raw bytes, "" when missing) and its PTTL, through `storage`.
std::string GetRaw(redis::RedisStorage& storage, const std::string& key, bool* exists = nullptr);
int64_t Pttl(redis::RedisStorage& storage, const std::string& key);
// When a key expires (PEXPIRETIME: Unix ms, -1 without expiry, -2 missing).
int64_t ExpireTimeMs(redis::RedisStorage& storage, const std::string& key);

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_REDIS_REDIS_HARNESS_H_
