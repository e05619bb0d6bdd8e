// The ABI glue of limify_postgres.so: the manifest, and the storage functions
// that check their arguments and hand over to PostgresStorage. Every exported
// function runs inside limify::plugin::Guard, and PostgresStorage catches
// libpqxx's exceptions itself: no exception crosses the ABI.
//
// create parses the options and tries to connect once (bounded by
// connect_timeout_ms). A server that cannot be reached does not fail create:
// the storage connects (and migrates) on first use, and until then each
// check fails with UNAVAILABLE, for the engine's failure policy to decide.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "limify/plugin.h"
#include "limify/plugin.hpp"
#include "plugins/storage/postgres/postgres_options.h"
#include "plugins/storage/postgres/postgres_storage.h"

namespace limify::postgres {
namespace {

using ::limify::plugin::CheckStorageBatch;
using ::limify::plugin::CheckStorageOp;
using ::limify::plugin::Guard;
using ::limify::plugin::SetError;

void ReportError(limify_plugin_error* err, int32_t code, const char* message) {
  SetError(err, code, message);
}

int32_t Create(const char* options_json, const limify_storage_env* /*env*/, void** out_instance,
               limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (out_instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "create: out_instance is NULL");
    }
    *out_instance = nullptr;
    PostgresOptions options;
    if (absl::Status s = ParsePostgresOptions(options_json, &options); !s.ok()) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, std::string(s.message()));
    }
    auto storage = std::make_unique<PostgresStorage>(options, &ReportError);
    if (absl::Status s = storage->WarmUp(); !s.ok()) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, std::string(s.message()));
    }
    *out_instance = storage.release();
    return LIMIFY_PLUGIN_OK;
  });
}

void Destroy(void* instance) {
  Guard(nullptr, [&]() -> int32_t {
    delete static_cast<PostgresStorage*>(instance);
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
    return static_cast<PostgresStorage*>(instance)->Execute(*op, out, err);
  });
}

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
    static_cast<PostgresStorage*>(instance)->ExecuteBatch(ops, n_ops, outs, codes, errs);
    return LIMIFY_PLUGIN_OK;
  });
}

int32_t Remove(void* instance, const limify_key* keys, size_t n_keys, limify_plugin_error* err) {
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
    return static_cast<PostgresStorage*>(instance)->Remove(keys, n_keys, err);
  });
}

int32_t KeyCount(void* instance, int64_t* out_count, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr || out_count == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "key_count: instance or out is NULL");
    }
    return static_cast<PostgresStorage*>(instance)->KeyCount(out_count, err);
  });
}

// No LIMIFY_STORAGE_USES_HOST_CLOCK: the server keeps the time.
limify_storage MakeStorage() {
  limify_storage s{};
  s.struct_size = sizeof(limify_storage);
  s.flags = 0;
  s.name = "postgres";
  s.create = &Create;
  s.destroy = &Destroy;
  s.execute = &Execute;
  s.remove = &Remove;
  s.key_count = &KeyCount;
  s.execute_batch = &ExecuteBatch;
  return s;
}
const limify_storage kPostgresStorage = MakeStorage();

const limify_storage* const kStorages[] = {&kPostgresStorage};

const limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "limify_postgres", "0.1.0",
    0, nullptr, 1, kStorages};

}  // namespace
}  // namespace limify::postgres

LIMIFY_DEFINE_PLUGIN_ENTRY(limify::postgres::kManifest)
