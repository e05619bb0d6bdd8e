// What plugins a configuration would load, for `limify plugins` and
// limify_list_plugins: the same search path and the same checks as
// Engine::Create, without creating a storage or compiling rules.
#ifndef LIMIFY_ENGINE_PLUGIN_LISTING_H_
#define LIMIFY_ENGINE_PLUGIN_LISTING_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace limify {

struct PluginInfo {
  std::string name;     // the manifest's plugin name, e.g. "limify_memory"
  std::string version;  // the manifest's version, e.g. "0.1.0"
  std::string abi;      // the ABI the plugin was built against, "major.minor"
  std::string file;     // full path of the shared object
  std::vector<std::string> algorithms;  // names it provides, manifest order
  std::vector<std::string> storages;
};

// The plugins found on the search path of `config_json` (its plugin_paths,
// then $LIMIFY_PLUGIN_PATH, then the default directory), in load order.
// "" means no configuration: $LIMIFY_PLUGIN_PATH and the default directory.
// Errors: InvalidArgument with the JSON path for a configuration error
// (including a plugin_paths entry that is not a directory); a
// PluginLoadError (IsPluginLoadError) when a plugin cannot be loaded.
absl::StatusOr<std::vector<PluginInfo>> ListPlugins(std::string_view config_json);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_LISTING_H_
