// The ABI glue of limify_redis.so: the manifest, and the storage functions
// that check their arguments and hand over to RedisStorage. Every exported
// function runs inside limify::plugin::Guard: no exception crosses the ABI.
//
// create parses the options and tries to connect once (bounded by
// connect_timeout_ms). A server that cannot be reached does not fail create:
// the storage connects on first use, and until then each check fails with
// UNAVAILABLE, for the engine's failure policy to decide.
#include <cstddef>
#include <cstring>
#include <string>

#include "limify/plugin.h"
#include "limify/plugin.hpp"
#include "plugins/storage/redis/redis_options.h"
#include "plugins/storage/redis/redis_storage.h"

namespace limify::redis {
namespace {

using ::limify::plugin::CheckStorageBatch;
using ::limify::plugin::CheckStorageOp;
using ::limify::plugin::Guard;
using ::limify::plugin::SetError;


void ReportError(limify_plugin_error* err, int32_t code, const char* message) {
  SetError(err, code, message);
}

int32_t Create(const char* options_json, const limify_storage_env* /*env*/,
               void** out_instance, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (out_instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "create: out_instance is NULL");
    }
    *out_instance = nullptr;
    RedisOptions options;
    std::string error;
    if (!ParseRedisOptions(options_json, &options, &error)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, error);
    }
    auto storage = std::make_unique<RedisStorage>(options, &ReportError);
    const int32_t rc = storage->WarmUp(&error);
    if (rc != LIMIFY_PLUGIN_OK) return SetError(err, rc, error);
    *out_instance = storage.release();
    return LIMIFY_PLUGIN_OK;
  });
}

void Destroy(void* instance) {
  Guard(nullptr, [&]() -> int32_t {
    delete static_cast<RedisStorage*>(instance);
    return LIMIFY_PLUGIN_OK;
  });
}

int32_t Execute(void* instance, const limify_storage_op* op, limify_verdict* out,
                limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "execute: instance is NULL");
    }
    if (const char* problem = CheckStorageOp(op, out)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
    }
    return static_cast<RedisStorage*>(instance)->Execute(*op, out, err);
  });
}

// Every op goes to RedisStorage::ExecuteBatch, which fails the invalid ones
// alone and sends the others together.
int32_t ExecuteBatch(void* instance, const limify_storage_op* const* ops, size_t n_ops,
                     limify_verdict* const* outs, int32_t* codes,
                     limify_plugin_error* const* errs, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "execute_batch: instance is NULL");
    }
    if (const char* problem = CheckStorageBatch(ops, n_ops, outs, codes, errs)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
    }
    static_cast<RedisStorage*>(instance)->ExecuteBatch(ops, n_ops, outs, codes, errs);
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
      if (keys[i].data == nullptr || keys[i].size == 0) {
        return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "remove: a key is empty");
      }
    }
    return static_cast<RedisStorage*>(instance)->Remove(keys, n_keys, err);
  });
}

int32_t KeyCount(void* instance, int64_t* out_count, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr || out_count == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                      "key_count: instance or out_count is NULL");
    }
    return static_cast<RedisStorage*>(instance)->KeyCount(out_count, err);
  });
}

// No LIMIFY_STORAGE_USES_HOST_CLOCK: Redis keeps the time (TIME). Fields
// this plugin does not provide stay zero (NULL: optional, not supported).
limify_storage MakeStorage() {
  limify_storage s{};
  s.struct_size = sizeof(limify_storage);
  s.flags = 0;
  s.name = "redis";
  s.create = &Create;
  s.destroy = &Destroy;
  s.execute = &Execute;
  s.remove = &Remove;
  s.key_count = &KeyCount;
  s.execute_batch = &ExecuteBatch;
  return s;
}
const limify_storage kRedisStorage = MakeStorage();

const limify_storage* const kStorages[] = {&kRedisStorage};

const limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "limify_redis", "0.1.0",
    0, nullptr, 1, kStorages};

}  // namespace
}  // namespace limify::redis

LIMIFY_DEFINE_PLUGIN_ENTRY(limify::redis::kManifest)
