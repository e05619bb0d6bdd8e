#include "engine/plugin_listing.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/config.h"
#include "engine/plugin_registry.h"

namespace limify {

absl::StatusOr<std::vector<PluginInfo>> ListPlugins(std::string_view config_json) {
  std::vector<std::string> config_paths;
  if (!config_json.empty()) {
    absl::StatusOr<Config> config = ParseConfig(config_json);
    if (!config.ok()) return config.status();
    config_paths = std::move(config->plugin_paths);
  }
  if (absl::Status s = CheckConfiguredPluginDirs(config_paths); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<PluginRegistry>> registry =
      PluginRegistry::Load(PluginSearchPath(config_paths));
  if (!registry.ok()) return registry.status();

  std::vector<PluginInfo> plugins;
  for (const PluginRegistry::LoadedPlugin& loaded : (*registry)->plugins()) {
    PluginInfo info;
    info.name = loaded.name;
    info.version = loaded.version;
    info.abi = absl::StrCat(loaded.abi_major, ".", loaded.abi_minor);
    info.file = loaded.file;
    info.algorithms = loaded.algorithms;
    info.storages = loaded.storages;
    plugins.push_back(std::move(info));
  }
  return plugins;
}

}  // namespace limify
