// A minimal plugin host for storage tests: loads a real plugin .so, records
// errors, and lends a manual clock. Shared by the tests of every storage in
// this binary, so it defines limify_plugin_error once, exactly as the engine.
#ifndef LIMIFY_TESTS_STORAGE_STORAGE_TEST_HOST_H_
#define LIMIFY_TESTS_STORAGE_STORAGE_TEST_HOST_H_

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "limify/plugin.h"

// The host owns the error sink (same definition as engine/plugin_error.h).
struct limify_plugin_error {
  int32_t code = LIMIFY_PLUGIN_OK;
  std::string message;
};

namespace limify::testing {

inline void RecordError(limify_plugin_error* err, int32_t code,
                        const char* message) {
  if (err == nullptr) return;
  err->code = code;
  err->message = message != nullptr ? message : "";
}

inline const limify_host_api* TestHostApi() {
  static const limify_host_api api = {sizeof(limify_host_api),
                                      LIMIFY_PLUGIN_ABI_MAJOR,
                                      LIMIFY_PLUGIN_ABI_MINOR, &RecordError};
  return &api;
}

// A plugin loaded once per process from the build's plugin directory and
// never unloaded (as the engine does).
inline const limify_plugin_manifest* LoadPlugin(const std::string& file) {
  const std::string path = std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/" + file;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(dlerror());
  auto entry = reinterpret_cast<limify_plugin_entry_fn>(
      dlsym(handle, LIMIFY_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw std::runtime_error(path + ": no entry symbol");
  const limify_plugin_manifest* manifest = entry(TestHostApi());
  if (manifest == nullptr) throw std::runtime_error(path + ": refused to load");
  return manifest;
}

inline const limify_storage* FindStorage(const limify_plugin_manifest* m,
                                         std::string_view name) {
  for (size_t i = 0; i < m->n_storages; ++i) {
    if (name == m->storages[i]->name) return m->storages[i];
  }
  return nullptr;
}

// A clock the test sets; thread-safe so concurrent steps may read it.
class ManualClock {
 public:
  explicit ManualClock(int64_t now_us = 1'000'000'000) : now_us_(now_us) {}
  int64_t now() const { return now_us_.load(); }
  void Set(int64_t now_us) { now_us_.store(now_us); }
  void Advance(int64_t delta_us) { now_us_.fetch_add(delta_us); }
  limify_storage_env Env() {
    return {sizeof(limify_storage_env), 0, &ManualClock::Read, this};
  }

 private:
  static int64_t Read(void* self) {
    return static_cast<ManualClock*>(self)->now();
  }
  std::atomic<int64_t> now_us_;
};

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_STORAGE_STORAGE_TEST_HOST_H_
