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

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "limify/plugin.h"

namespace limify {

class PluginRegistry {
 public:
  // Loads every plugin found in `dirs`, in order. A directory that does not
  // exist is an error naming it.
  //
  // All or nothing: one refused file fails the whole Load, because a plugin
  // directory the user points at must be sound (a half-loaded set would make
  // "unknown algorithm" errors appear far from their cause). Every error is
  // a PluginLoadError (kFailedPrecondition with a marker, see
  // plugin_error.h) — the files on disk are not what the engine needs —
  // and its message names the directory or the file's full path, e.g.
  //   /p/x.so: not a limify plugin: no "limify_plugin_entry" symbol
  //   algorithm "twin" is provided by both /a/a.so and /b/b.so
  // Directories listed twice (same canonical path) are searched once.
  //
  // The registry is immutable once loaded, so its const methods may be called
  // from any thread. It owns the libraries: hold it in an object with a
  // bounded lifetime (the engine), never in a static, so that libraries are
  // not unloaded from a static destructor.
  static absl::StatusOr<std::unique_ptr<PluginRegistry>> Load(
      const std::vector<std::string>& dirs);

  // Forgets every vtable, then unloads the libraries.
  ~PluginRegistry();

  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // nullptr when no loaded plugin provides `name`. The pointer is valid for
  // the registry's lifetime.
  const limify_algorithm* FindAlgorithm(std::string_view name) const;
  const limify_storage* FindStorage(std::string_view name) const;

  // Sorted names, for error messages ("expected one of ...").
  std::vector<std::string> AlgorithmNames() const;
  std::vector<std::string> StorageNames() const;

  // The directories that were searched, in order.
  const std::vector<std::string>& dirs() const;

  // One loaded file and what its manifest declares.
  struct LoadedPlugin {
    std::string file;     // full path
    std::string name;     // manifest name ("" if the plugin gave none)
    std::string version;  // manifest version ("" if none)
    uint16_t abi_major = 0;  // the ABI the plugin was built against
    uint16_t abi_minor = 0;
    std::vector<std::string> algorithms;  // manifest order
    std::vector<std::string> storages;
  };
  // Every loaded file, in load order.
  const std::vector<LoadedPlugin>& plugins() const;

 private:
  struct Impl;
  explicit PluginRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The search path for a configuration: its plugin_paths, then the
// directories in $LIMIFY_PLUGIN_PATH (':'-separated, empty entries ignored),
// then DefaultPluginDir() if it exists (an install may have none; a missing
// configured or $LIMIFY_PLUGIN_PATH directory is left for Load to report).
// A directory reached twice (same canonical path) appears once, at its first
// place, spelled as it was first given.
std::vector<std::string> PluginSearchPath(
    const std::vector<std::string>& config_paths);

// config plugin_paths must name existing directories: InvalidArgument with
// the JSON path otherwise ("plugin_paths[1]: directory \"/x\" does not
// exist"), since that is a configuration error, not a plugin's.
absl::Status CheckConfiguredPluginDirs(const std::vector<std::string>& config_paths);

// The default plugin directory for the binary that holds the engine's code
// (liblimify.so once installed, or a program linking the engine statically):
// DefaultPluginDirFor(the path of that binary).
std::string DefaultPluginDir();

// - the build tree's plugin directory when `binary` is inside the build tree
//   (tests, a CLI not yet installed);
// - else `<directory of binary>/limify/plugins` if it is a directory: where
//   `cmake --install` puts the plugins beside liblimify.so, so an install
//   moved to another prefix (or unpacked from a package) still finds them;
// - else InstalledPluginDir(), the install location compiled in.
std::string DefaultPluginDirFor(const std::string& binary);

// ${CMAKE_INSTALL_FULL_LIBDIR}/limify/plugins of the build that compiled the
// engine.
std::string InstalledPluginDir();

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_REGISTRY_H_
