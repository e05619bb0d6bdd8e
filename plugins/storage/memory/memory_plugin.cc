// The ABI glue of limify_memory.so: the manifest, and the storage functions
// that check their arguments and hand over to MemoryStorage. Every exported
// function runs inside limify::plugin::Guard: no exception crosses the ABI.
#include <cstddef>
#include <cstring>
#include <string>

#include "limify/plugin.h"
#include "limify/plugin.hpp"
#include "plugins/storage/memory/memory_options.h"
#include "plugins/storage/memory/memory_storage.h"

namespace limify::memory {
namespace {

using ::limify::plugin::CheckStorageBatch;
using ::limify::plugin::CheckStorageOp;
using ::limify::plugin::Guard;
using ::limify::plugin::SetError;

// A struct from the host is usable only if it is at least this large.
constexpr size_t kEnvSizeNeeded =
    offsetof(limify_storage_env, clock_ctx) + sizeof(void*);

int32_t Create(const char* options_json, const limify_storage_env* env,
               void** out_instance, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (out_instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "create: out_instance is NULL");
    }
    *out_instance = nullptr;
    if (env == nullptr || env->struct_size < kEnvSizeNeeded || env->now_us == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                      "create: the memory storage needs the host clock (env->now_us)");
    }
    MemoryOptions options;
    std::string error;
    if (!ParseMemoryOptions(options_json, &options, &error)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, error);
    }
    *out_instance = new MemoryStorage(options, HostClock{env->now_us, env->clock_ctx});
    return LIMIFY_PLUGIN_OK;
  });
}

void Destroy(void* instance) {
  Guard(nullptr, [&]() -> int32_t {
    delete static_cast<MemoryStorage*>(instance);
    return LIMIFY_PLUGIN_OK;
  });
}

int32_t Execute(void* instance, const limify_storage_op* op,
                limify_verdict* out, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "execute: instance is NULL");
    }
    if (const char* problem = CheckStorageOp(op, out)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
    }
    // The generic path for any algorithm; `mode` and `algorithm` are the
    // apply callback's business.
    return static_cast<MemoryStorage*>(instance)->Execute(
        {op->keys, op->n_keys}, {op->state_sizes, op->n_keys},
        [&](void* const* states, int64_t now_us, int* write_back, int64_t* ttl_us) {
          return op->apply(op->apply_ctx, states, now_us, write_back, ttl_us, out, err);
        });
  });
}

// One op after another: the memory storage has no round trip to save.
int32_t ExecuteBatch(void* instance, const limify_storage_op* const* ops, size_t n_ops,
                     limify_verdict* const* outs, int32_t* codes,
                     limify_plugin_error* const* errs, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (const char* problem = CheckStorageBatch(ops, n_ops, outs, codes, errs)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
    }
    for (size_t i = 0; i < n_ops; ++i) codes[i] = Execute(instance, ops[i], outs[i], errs[i]);
    return LIMIFY_PLUGIN_OK;
  });
}

int32_t Remove(void* instance, const limify_key* keys, size_t n_keys,
               limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "remove: instance is NULL");
    }
    if (n_keys == 0) return LIMIFY_PLUGIN_OK;
    if (keys == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "remove: keys is NULL");
    }
    for (size_t i = 0; i < n_keys; ++i) {
      if (keys[i].data == nullptr && keys[i].size != 0) {
        return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "remove: a key's data is NULL");
      }
    }
    static_cast<MemoryStorage*>(instance)->Remove({keys, n_keys});
    return LIMIFY_PLUGIN_OK;
  });
}

// Entries held, expired ones not yet swept included: O(shards), for a
// metrics scrape.
int32_t KeyCount(void* instance, int64_t* out_count, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr || out_count == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                      "key_count: instance or out_count is NULL");
    }
    *out_count = static_cast<int64_t>(static_cast<MemoryStorage*>(instance)->Size());
    return LIMIFY_PLUGIN_OK;
  });
}

constexpr limify_storage kMemoryStorage = {
    sizeof(limify_storage), LIMIFY_STORAGE_USES_HOST_CLOCK, "memory",
    &Create, &Destroy, &Execute, &Remove, &KeyCount, &ExecuteBatch};

constexpr const limify_storage* kStorages[] = {&kMemoryStorage};

constexpr limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "limify_memory", "0.1.0",
    0, nullptr, 1, kStorages};

}  // namespace
}  // namespace limify::memory

LIMIFY_DEFINE_PLUGIN_ENTRY(limify::memory::kManifest)
