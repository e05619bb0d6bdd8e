// Where the fixture plugins of tests/fixtures are built, and a scoped
// $LIMIFY_PLUGIN_PATH for tests that set it.
#ifndef LIMIFY_TESTS_LOADER_FIXTURE_PATHS_H_
#define LIMIFY_TESTS_LOADER_FIXTURE_PATHS_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace limify::testing {

// ${CMAKE_BINARY_DIR}/tests/fixtures/<fixture_case>
inline std::string FixtureDir(std::string_view fixture_case) {
  return std::string(LIMIFY_FIXTURE_DIR) + "/" + std::string(fixture_case);
}

// ${CMAKE_BINARY_DIR}/tests/fixtures/<fixture_case>/<file>
inline std::string FixtureFile(std::string_view fixture_case,
                               std::string_view file) {
  return FixtureDir(fixture_case) + "/" + std::string(file);
}

// Sets (or, with nullopt, unsets) $LIMIFY_PLUGIN_PATH; restores it on exit.
class ScopedPluginPath {
 public:
  explicit ScopedPluginPath(std::optional<std::string> value) {
    if (const char* old = std::getenv(kName)) old_ = old;
    Set(value);
  }
  ~ScopedPluginPath() { Set(old_); }
  ScopedPluginPath(const ScopedPluginPath&) = delete;
  ScopedPluginPath& operator=(const ScopedPluginPath&) = delete;

 private:
  static constexpr const char* kName = "LIMIFY_PLUGIN_PATH";
  static void Set(const std::optional<std::string>& value) {
    if (value) {
      setenv(kName, value->c_str(), 1);
    } else {
      unsetenv(kName);
    }
  }
  std::optional<std::string> old_;
};

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_LOADER_FIXTURE_PATHS_H_
