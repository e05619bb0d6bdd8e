// Loads plugin shared objects and keeps the algorithms and storages they
// provide, by name (Envoy's registry, PostgreSQL's module magic).
//
// Every `*.so` in each search directory is loaded with Boost.DLL
// (RTLD_NOW | RTLD_LOCAL) and its entry function called. A plugin is refused,
// with a message naming the file, when the entry symbol is missing, the magic
// or ABI major version is wrong, the manifest or a vtable is shorter than
// required, a required function pointer is NULL, or a name is already
// registered (the message names both files). Libraries stay loaded for the
// registry's lifetime and are never unloaded from a static destructor.
#ifndef LIMIFY_ENGINE_PLUGIN_REGISTRY_H_
#define LIMIFY_ENGINE_PLUGIN_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "limify/plugin.h"

namespace limify {

class PluginRegistry {
 public:
  // Loads every plugin found in `dirs`, in order. A directory that does not
  // exist is an error naming it.
  static absl::StatusOr<std::unique_ptr<PluginRegistry>> Load(
      const std::vector<std::string>& dirs);

  ~PluginRegistry();

  // nullptr when no loaded plugin provides `name`.
  const limify_algorithm* FindAlgorithm(std::string_view name) const;
  const limify_storage* FindStorage(std::string_view name) const;

  // Sorted names, for error messages ("expected one of ...").
  std::vector<std::string> AlgorithmNames() const;
  std::vector<std::string> StorageNames() const;

  // The directories that were searched, in order.
  const std::vector<std::string>& dirs() const;

 private:
  struct Impl;
  explicit PluginRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The search path for a configuration: its plugin_paths, then the
// directories in $LIMIFY_PLUGIN_PATH (':'-separated), then the build's plugin
// directory when the engine runs from the build tree, else the install's.
std::vector<std::string> PluginSearchPath(
    const std::vector<std::string>& config_paths);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_REGISTRY_H_
