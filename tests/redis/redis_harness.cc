#include "tests/redis/redis_harness.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace limify::testing {
namespace {

const limify_plugin_manifest* LoadManifest(const std::string& file) {
  const std::string path = std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/" + file;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(dlerror());
  auto entry = reinterpret_cast<limify_plugin_entry_fn>(dlsym(handle, LIMIFY_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw std::runtime_error(path + ": no entry symbol");
  const limify_plugin_manifest* manifest = entry(HostApi());
  if (manifest == nullptr) throw std::runtime_error(path + ": refused to load");
  return manifest;
}

void SetErrorThunk(limify_plugin_error* err, int32_t code, const char* message) {
  HostApi()->set_error(err, code, message);
}

}  // namespace

const std::vector<std::string>& AllAlgorithms() {
  static const std::vector<std::string> names = {
      "token_bucket", "gcra", "fixed_window", "sliding_window", "sliding_window_counter"};
  return names;
}

const limify_algorithm* Algorithm(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, const limify_algorithm*> loaded;
  std::lock_guard<std::mutex> lock(mu);
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second;
  const limify_plugin_manifest* m = LoadManifest("limify_" + name + ".so");
  for (size_t i = 0; i < m->n_algorithms; ++i) {
    if (name == m->algorithms[i]->name) return loaded[name] = m->algorithms[i];
  }
  throw std::runtime_error("no algorithm " + name);
}

const limify_storage* RedisPlugin() {
  static const limify_storage* storage = [] {
    const limify_plugin_manifest* m = LoadManifest("limify_redis.so");
    for (size_t i = 0; i < m->n_storages; ++i) {
      if (std::strcmp(m->storages[i]->name, "redis") == 0) return m->storages[i];
    }
    throw std::runtime_error("limify_redis.so has no storage \"redis\"");
  }();
  return storage;
}

Rule MakeRule(const std::string& algorithm, std::vector<limify_limit_spec> specs,
              const std::string& tag) {
  Rule r;
  r.algorithm_name = algorithm;
  r.algorithm = Algorithm(algorithm);
  r.specs = std::move(specs);
  for (size_t i = 0; i < r.specs.size(); ++i) {
    limify_plugin_error err;
    if (r.algorithm->validate(&r.specs[i], &err) != LIMIFY_PLUGIN_OK) {
      throw std::runtime_error("invalid spec: " + err.message);
    }
    r.state_sizes.push_back(r.algorithm->state_size(&r.specs[i]));
    r.keys.push_back("limify:{" + tag + "}:" + algorithm + ":" + std::to_string(i));
  }
  for (const std::string& k : r.keys) r.key_refs.push_back(limify_key{k.data(), k.size()});
  return r;
}

std::ostream& operator<<(std::ostream& os, const StepResult& r) {
  if (r.code != LIMIFY_PLUGIN_OK) return os << "error " << r.code << " (" << r.error << ")";
  const limify_verdict& v = r.verdict;
  return os << "{allowed " << v.allowed << ", limit " << v.limit << ", remaining " << v.remaining
            << ", reset_after " << v.reset_after_us << ", retry_after " << v.retry_after_us
            << ", binding " << v.binding_limit << "}";
}

bool SameResult(const StepResult& a, const StepResult& b) {
  if (a.code != b.code) return false;
  if (a.code != LIMIFY_PLUGIN_OK) return true;
  const limify_verdict &x = a.verdict, &y = b.verdict;
  return x.allowed == y.allowed && x.limit == y.limit && x.remaining == y.remaining &&
         x.reset_after_us == y.reset_after_us && x.retry_after_us == y.retry_after_us &&
         x.binding_limit == y.binding_limit;
}

limify_storage_op MakeOp(const Rule& rule, LimitApplication* app, int64_t cost, bool peek) {
  *app = LimitApplication{rule.algorithm, rule.specs.data(), rule.state_sizes.data(),
                          rule.specs.size(), cost, peek};
  limify_storage_op op{};
  op.struct_size = sizeof op;
  op.mode = peek ? LIMIFY_MODE_PEEK : LIMIFY_MODE_CHECK;
  op.n_keys = rule.key_refs.size();
  op.keys = rule.key_refs.data();
  op.state_sizes = rule.state_sizes.data();
  op.algorithm = rule.algorithm->name;
  op.specs = rule.specs.data();
  op.cost = cost;
  op.apply = &ApplyLimits;
  op.apply_ctx = app;
  return op;
}

std::unique_ptr<redis::RedisStorage> MakeCore(const std::string& options_json) {
  redis::RedisOptions options;
  std::string error;
  if (!redis::ParseRedisOptions(options_json.c_str(), &options, &error)) {
    throw std::runtime_error("options: " + error);
  }
  return std::make_unique<redis::RedisStorage>(options, &SetErrorThunk);
}

StepResult Step(redis::RedisStorage& storage, const Rule& rule, int64_t cost, bool peek,
                const redis::RedisStorage::Hooks* hooks) {
  LimitApplication app{};
  limify_storage_op op = MakeOp(rule, &app, cost, peek);
  StepResult r;
  r.verdict.struct_size = sizeof r.verdict;
  limify_plugin_error err;
  r.code = storage.Execute(op, &r.verdict, &err, hooks);
  r.error = err.message;
  return r;
}

namespace {

// Lays `ops` out as a batch entry takes them, has `execute(ops, outs, codes,
// errs)` decide them, and reads back a result per op.
template <typename Execute>
std::vector<StepResult> RunBatch(const std::vector<limify_storage_op>& ops, Execute execute) {
  std::vector<StepResult> results(ops.size());
  std::vector<limify_plugin_error> errors(ops.size());
  std::vector<const limify_storage_op*> op_ptrs;
  std::vector<limify_verdict*> outs;
  std::vector<int32_t> codes(ops.size(), -1);
  std::vector<limify_plugin_error*> errs;
  for (size_t i = 0; i < ops.size(); ++i) {
    results[i].verdict.struct_size = sizeof results[i].verdict;
    op_ptrs.push_back(&ops[i]);
    outs.push_back(&results[i].verdict);
    errs.push_back(&errors[i]);
  }
  execute(op_ptrs.data(), outs.data(), codes.data(), errs.data());
  for (size_t i = 0; i < ops.size(); ++i) {
    results[i].code = codes[i];
    results[i].error = errors[i].message;
  }
  return results;
}

}  // namespace

std::vector<StepResult> Batch(redis::RedisStorage& storage,
                              const std::vector<limify_storage_op>& ops,
                              const redis::RedisStorage::Hooks* hooks) {
  return RunBatch(ops, [&](const limify_storage_op* const* op_ptrs, limify_verdict* const* outs,
                           int32_t* codes, limify_plugin_error* const* errs) {
    storage.ExecuteBatch(op_ptrs, ops.size(), outs, codes, errs, hooks);
  });
}

PluginStorage::PluginStorage(const std::string& options_json) {
  limify_storage_env env{};
  env.struct_size = sizeof env;
  limify_plugin_error err;
  create_code_ = RedisPlugin()->create(options_json.c_str(), &env, &instance_, &err);
  create_error_ = err.message;
}

PluginStorage::~PluginStorage() {
  if (instance_ != nullptr) RedisPlugin()->destroy(instance_);
}

StepResult PluginStorage::Step(const Rule& rule, int64_t cost, bool peek) {
  LimitApplication app{};
  limify_storage_op op = MakeOp(rule, &app, cost, peek);
  StepResult r;
  r.verdict.struct_size = sizeof r.verdict;
  limify_plugin_error err;
  r.code = RedisPlugin()->execute(instance_, &op, &r.verdict, &err);
  r.error = err.message;
  return r;
}

std::vector<StepResult> PluginStorage::Batch(const std::vector<limify_storage_op>& ops,
                                             StepResult* call) {
  return RunBatch(ops, [&](const limify_storage_op* const* op_ptrs, limify_verdict* const* outs,
                           int32_t* codes, limify_plugin_error* const* errs) {
    limify_plugin_error err;
    call->code = RedisPlugin()->execute_batch(instance_, op_ptrs, ops.size(), outs, codes, errs,
                                              &err);
    call->error = err.message;
  });
}

StepResult PluginStorage::Remove(const Rule& rule) {
  StepResult r;
  limify_plugin_error err;
  r.code = RedisPlugin()->remove(instance_, rule.key_refs.data(), rule.key_refs.size(), &err);
  r.error = err.message;
  return r;
}

StepResult Reference::Step(const Rule& rule, int64_t now_us, int64_t cost, bool peek,
                           std::vector<int64_t>* ttl_us, bool* wrote) {
  const size_t n = rule.keys.size();
  std::vector<std::string> states(n);
  std::vector<void*> ptrs(n);
  for (size_t i = 0; i < n; ++i) {
    states[i] = State(rule.keys[i]);
    if (states[i].size() != rule.state_sizes[i]) states[i].assign(rule.state_sizes[i], '\0');
    ptrs[i] = states[i].data();
  }
  LimitApplication app{rule.algorithm, rule.specs.data(), rule.state_sizes.data(), n, cost, peek};
  std::vector<int64_t> ttls(n, 0);
  int write_back = 0;
  StepResult r;
  r.verdict.struct_size = sizeof r.verdict;
  limify_plugin_error err;
  r.code = ApplyLimits(&app, ptrs.data(), now_us, &write_back, ttls.data(), &r.verdict, &err);
  r.error = err.message;
  if (r.code == LIMIFY_PLUGIN_OK && write_back) {
    for (size_t i = 0; i < n; ++i) states_[rule.keys[i]] = states[i];
  }
  if (ttl_us != nullptr) *ttl_us = ttls;
  if (wrote != nullptr) *wrote = r.code == LIMIFY_PLUGIN_OK && write_back != 0;
  return r;
}

std::string Reference::State(const std::string& key) const {
  auto it = states_.find(key);
  return it == states_.end() ? std::string() : it->second;
}

std::string Options(const std::string& url, const std::string& extra) {
  // Generous timeouts: sanitizer builds on two shared cores are slow.
  std::string json = "{\"url\": \"" + url + "\", \"command_timeout_ms\": 5000, "
                     "\"connect_timeout_ms\": 2000";
  if (!extra.empty()) json += ", " + extra;
  return json + "}";
}

namespace {

// `command` on one key of `storage` (its key_prefix prepended).
redis::ReplyPtr OnKey(redis::RedisStorage& storage, const char* command, const std::string& key) {
  redis::ReplyPtr reply;
  std::string error;
  const std::string full = storage.options().key_prefix + key;
  if (storage.Command(full, {command, full}, &reply, &error) != LIMIFY_PLUGIN_OK) {
    throw std::runtime_error(std::string(command) + ": " + error);
  }
  return reply;
}

}  // namespace

std::string GetRaw(redis::RedisStorage& storage, const std::string& key, bool* exists) {
  const redis::ReplyPtr reply = OnKey(storage, "GET", key);
  if (exists != nullptr) *exists = reply->type == REDIS_REPLY_STRING;
  return std::string(redis::ReplyText(reply.get()));
}

int64_t Pttl(redis::RedisStorage& storage, const std::string& key) {
  return OnKey(storage, "PTTL", key)->integer;
}

int64_t ExpireTimeMs(redis::RedisStorage& storage, const std::string& key) {
  return OnKey(storage, "PEXPIRETIME", key)->integer;
}

}  // namespace limify::testing
