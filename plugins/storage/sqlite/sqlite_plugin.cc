// The ABI glue of limify_sqlite.so: the manifest, and the storage functions
// that check their arguments and hand over to SqliteStorage. Every exported
// function runs inside limify::plugin::Guard: no exception crosses the ABI.
#include <sqlite3.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "limify/plugin.h"
#include "limify/plugin.hpp"
#include "plugins/storage/sqlite/sqlite_options.h"
#include "plugins/storage/sqlite/sqlite_storage.h"

namespace limify::sqlite {
namespace {

using ::limify::plugin::CheckStorageOp;
using ::limify::plugin::Guard;
using ::limify::plugin::SetError;

// A struct from the host is usable only if it is at least this large.
constexpr size_t kEnvSizeNeeded = offsetof(limify_storage_env, clock_ctx) + sizeof(void*);

int32_t CodeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return LIMIFY_PLUGIN_OK;
    case absl::StatusCode::kInvalidArgument:
      return LIMIFY_PLUGIN_INVALID_ARGUMENT;
    case absl::StatusCode::kDeadlineExceeded:
      return LIMIFY_PLUGIN_TIMEOUT;
    case absl::StatusCode::kUnavailable:
      return LIMIFY_PLUGIN_UNAVAILABLE;
    default:
      return LIMIFY_PLUGIN_INTERNAL;
  }
}

// At run time every SQLite failure is the storage failing (the failure
// policy decides): a configuration problem met by a connection opened after
// create (the directory removed, a newer schema written by another process)
// is reported as UNAVAILABLE too, not as a bad argument.
int32_t Report(const absl::Status& status, limify_plugin_error* err) {
  int32_t code = CodeOf(status);
  if (code == LIMIFY_PLUGIN_INVALID_ARGUMENT) code = LIMIFY_PLUGIN_UNAVAILABLE;
  if (code == LIMIFY_PLUGIN_OK) return code;
  return SetError(err, code, std::string(status.message()));
}

int32_t Create(const char* options_json, const limify_storage_env* env, void** out_instance,
               limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (out_instance == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "create: out_instance is NULL");
    }
    *out_instance = nullptr;
    if (env == nullptr || env->struct_size < kEnvSizeNeeded || env->now_us == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                      "create: the sqlite storage needs the host clock (env->now_us)");
    }
    if (sqlite3_threadsafe() == 0) {
      return SetError(err, LIMIFY_PLUGIN_UNAVAILABLE,
                      "create: libsqlite3 was built without thread support (SQLITE_THREADSAFE=0)");
    }
    SqliteOptions options;
    std::string error;
    if (!ParseSqliteOptions(options_json, &options, &error)) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, error);
    }
    absl::StatusOr<std::unique_ptr<SqliteStorage>> storage =
        SqliteStorage::Create(options, HostClock{env->now_us, env->clock_ctx});
    if (!storage.ok()) {
      // Here a configuration problem stays INVALID_ARGUMENT ("storage.path: ...").
      return SetError(err, CodeOf(storage.status()), std::string(storage.status().message()));
    }
    *out_instance = storage->release();
    return LIMIFY_PLUGIN_OK;
  });
}

void Destroy(void* instance) {
  Guard(nullptr, [&]() -> int32_t {
    delete static_cast<SqliteStorage*>(instance);
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
    // The generic path for every algorithm (see README.md: why no native path).
    int32_t apply_rc = LIMIFY_PLUGIN_OK;
    absl::Status status = static_cast<SqliteStorage*>(instance)->Execute(*op, out, err, &apply_rc);
    if (apply_rc != LIMIFY_PLUGIN_OK) return apply_rc;  // apply set the error
    return Report(status, err);
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
      if (keys[i].data == nullptr && keys[i].size != 0) {
        return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "remove: a key's data is NULL");
      }
    }
    return Report(static_cast<SqliteStorage*>(instance)->Remove({keys, n_keys}), err);
  });
}

#if LIMIFY_PLUGIN_ABI_MINOR >= 1
// Rows not yet expired (a scan of the table, on a read snapshot: for metrics scrapes,
// not for every request).
int32_t KeyCount(void* instance, int64_t* out_count, limify_plugin_error* err) {
  return Guard(err, [&]() -> int32_t {
    if (instance == nullptr || out_count == nullptr) {
      return SetError(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "key_count: instance or out_count is NULL");
    }
    absl::StatusOr<int64_t> count = static_cast<SqliteStorage*>(instance)->KeyCount();
    if (!count.ok()) return Report(count.status(), err);
    *out_count = *count;
    return LIMIFY_PLUGIN_OK;
  });
}
#endif

constexpr limify_storage kSqliteStorage = {
    sizeof(limify_storage), LIMIFY_STORAGE_USES_HOST_CLOCK, "sqlite",
    &Create, &Destroy, &Execute, &Remove,
#if LIMIFY_PLUGIN_ABI_MINOR >= 1  // key_count came with ABI 1.1
    &KeyCount,
#endif
#if LIMIFY_PLUGIN_ABI_MINOR >= 2  // no batch entry: the engine loops over execute
    nullptr,
#endif
};

constexpr const limify_storage* kStorages[] = {&kSqliteStorage};

constexpr limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "limify_sqlite", "0.1.0",
    0, nullptr, 1, kStorages};

}  // namespace
}  // namespace limify::sqlite

LIMIFY_DEFINE_PLUGIN_ENTRY(limify::sqlite::kManifest)
