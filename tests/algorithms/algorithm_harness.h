// Loads the real algorithm plugins (build/plugins/limify_<name>.so) and
// drives one key's state with a fake clock, so each test reads as a
// sequence of requests and the verdicts they must get.
#ifndef LIMIFY_TESTS_ALGORITHMS_ALGORITHM_HARNESS_H_
#define LIMIFY_TESTS_ALGORITHMS_ALGORITHM_HARNESS_H_

#include <dlfcn.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "limify/plugin.h"

// The host owns the error sink's layout; this test host records the last one.
struct limify_plugin_error {
  int32_t code = 0;
  std::string message;
};

namespace limify::testing {

inline void RecordError(limify_plugin_error* err, int32_t code, const char* message) {
  if (err == nullptr) return;
  err->code = code;
  err->message = message != nullptr ? message : "";
}

inline const limify_host_api kTestHost = {sizeof(limify_host_api), LIMIFY_PLUGIN_ABI_MAJOR,
                                          LIMIFY_PLUGIN_ABI_MINOR, &RecordError};

inline constexpr int64_t kSecond = 1000000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;
inline constexpr int64_t kWeek = 7 * kDay;

inline const std::vector<std::string>& AllAlgorithms() {
  static const std::vector<std::string> names = {
      "token_bucket", "gcra", "fixed_window", "sliding_window", "sliding_window_counter"};
  return names;
}

struct Plugin {
  const limify_plugin_manifest* manifest;
  const limify_algorithm* algorithm;
};

// dlopens limify_<name>.so once per process (never closed: the manifest has
// static lifetime) and returns its manifest and the algorithm `name`.
inline const Plugin& LoadPlugin(const std::string& name) {
  static std::map<std::string, Plugin> loaded;
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second;
  const std::string path = std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/limify_" + name + ".so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error("dlopen " + path + ": " + dlerror());
  auto entry = reinterpret_cast<limify_plugin_entry_fn>(dlsym(handle, LIMIFY_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw std::runtime_error(path + " exports no " LIMIFY_PLUGIN_ENTRY_SYMBOL);
  const limify_plugin_manifest* manifest = entry(&kTestHost);
  if (manifest == nullptr) throw std::runtime_error(path + " refused to load");
  for (size_t i = 0; i < manifest->n_algorithms; ++i) {
    if (name == manifest->algorithms[i]->name) {
      return loaded[name] = Plugin{manifest, manifest->algorithms[i]};
    }
  }
  throw std::runtime_error(path + " has no algorithm " + name);
}

inline limify_limit_spec MakeSpec(int64_t limit, int64_t period_us, int64_t burst = 0) {
  return limify_limit_spec{sizeof(limify_limit_spec), 0, limit, period_us, burst};
}

// validate() and the message it reported ("" when accepted).
struct Validation {
  int32_t code;
  std::string message;
};
inline Validation Validate(const std::string& algorithm, const limify_limit_spec& spec) {
  limify_plugin_error err;
  int32_t code = LoadPlugin(algorithm).algorithm->validate(&spec, &err);
  return {code, err.message};
}

// The verdict fields a test asserts, comparable and printable.
struct V {
  bool allowed;
  int64_t remaining;
  int64_t retry_after;
  int64_t reset_after;
  bool operator==(const V&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const V& v) {
  return os << "{allowed=" << v.allowed << " remaining=" << v.remaining
            << " retry_after=" << v.retry_after << " reset_after=" << v.reset_after << "}";
}
inline V Summary(const limify_verdict& v) {
  return V{v.allowed != 0, v.remaining, v.retry_after_us, v.reset_after_us};
}
inline constexpr int64_t kNever = LIMIFY_RETRY_NEVER;

// Calls step() once on `state`; fails the test if the plugin reports an error.
inline limify_verdict StepOnce(const limify_algorithm* algorithm, const limify_limit_spec& spec,
                               std::vector<unsigned char>& state, int64_t now, int64_t cost,
                               bool peek) {
  limify_verdict v{};
  v.struct_size = sizeof v;
  limify_plugin_error err;
  int32_t rc = algorithm->step(&spec, state.data(), state.size(), now, cost, peek ? 1 : 0, &v,
                               &err);
  EXPECT_EQ(rc, LIMIFY_PLUGIN_OK) << algorithm->name << " step failed: " << err.message;
  return v;
}

// One key of one limit, starting fresh (all-zero state), at time `now`.
class Key {
 private:
  // Declared first: `state` is sized from them.
  const limify_algorithm* algorithm_;
  limify_limit_spec spec_;

 public:
  Key(const std::string& algorithm, limify_limit_spec spec, int64_t start_us = 0)
      : algorithm_(LoadPlugin(algorithm).algorithm),
        spec_(spec),
        now(start_us),
        state(algorithm_->state_size(&spec_), 0) {}

  limify_verdict Step(int64_t cost, bool peek) {
    return StepOnce(algorithm_, spec_, state, now, cost, peek);
  }
  V Check(int64_t cost = 1) { return Summary(Step(cost, false)); }
  V Peek(int64_t cost = 1) { return Summary(Step(cost, true)); }
  // Checks `n` requests of cost 1 now; returns how many were allowed.
  int64_t CheckMany(int64_t n) {
    int64_t allowed = 0;
    for (int64_t i = 0; i < n; ++i) allowed += Step(1, false).allowed;
    return allowed;
  }
  void Advance(int64_t us) { now += us; }
  bool IsFresh() const {
    for (unsigned char b : state) {
      if (b != 0) return false;
    }
    return true;
  }
  const limify_algorithm* algorithm() const { return algorithm_; }
  const limify_limit_spec& spec() const { return spec_; }

  int64_t now;  // the fake clock, in microseconds
  std::vector<unsigned char> state;
};

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_ALGORITHMS_ALGORITHM_HARNESS_H_
