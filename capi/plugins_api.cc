// limify_list_plugins: the plugins a configuration would load, as JSON.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capi/api_guard.h"
#include "capi/output_buffer.h"
#include "capi/status_mapping.h"
#include "engine/plugin_listing.h"

namespace limify::capi {
namespace {

// [{"name", "version", "abi", "file", "algorithms": [...], "storages": [...]}]
std::string ToJson(const std::vector<PluginInfo>& plugins) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const PluginInfo& p : plugins) {
    out.push_back({{"name", p.name},
                   {"version", p.version},
                   {"abi", p.abi},
                   {"file", p.file},
                   {"algorithms", p.algorithms},
                   {"storages", p.storages}});
  }
  // Names and paths may hold any bytes: replace what is not UTF-8 rather
  // than throw.
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

limify_status ListPluginsTo(const char* config_json, char* buf, size_t len, size_t* needed,
                            limify_error* err) {
  constexpr std::string_view kFunction = "limify_list_plugins";
  if (limify_status s = CheckOutputArguments(buf, len, needed, kFunction, err); s != LIMIFY_OK) {
    return s;
  }
  absl::StatusOr<std::vector<PluginInfo>> plugins =
      ListPlugins(config_json == nullptr ? std::string_view() : std::string_view(config_json));
  if (!plugins.ok()) return ReportStatus(err, plugins.status(), StatusContext::kConfig);
  return CopyOut(ToJson(*plugins), buf, len, needed, kFunction, err);
}

}  // namespace
}  // namespace limify::capi

extern "C" LIMIFY_EXPORT limify_status limify_list_plugins(const char* config_json, char* buf,
                                                           size_t len, size_t* needed,
                                                           limify_error* err) {
  return limify::capi::Guard(err, "limify_list_plugins", [&] {
    return limify::capi::ListPluginsTo(config_json, buf, len, needed, err);
  });
}
