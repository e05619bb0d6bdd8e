// The host side of the plugin error channel: the opaque limify_plugin_error
// sink, the host API handed to every plugin, the conversion of a plugin
// code plus message into an absl::Status, and the marker that tells a plugin
// that could not be loaded from every other failed precondition.
#ifndef LIMIFY_ENGINE_PLUGIN_ERROR_H_
#define LIMIFY_ENGINE_PLUGIN_ERROR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "limify/plugin.h"

// Defined here (the host owns it); plugins only see the opaque name.
struct limify_plugin_error {
  int32_t code = LIMIFY_PLUGIN_OK;
  std::string message;
};

namespace limify {

// The host API passed to every plugin's entry function (static lifetime).
const limify_host_api* HostApi();

// Turns a plugin result into a Status; `context` prefixes the message
// (e.g. `storage "memory"`). The plugin's message is used when it set one.
absl::Status PluginStatus(int32_t code, const limify_plugin_error& err,
                          std::string_view context);

// The payload type URL that marks a plugin-load refusal.
inline constexpr std::string_view kPluginLoadErrorUrl = "limify/plugin-load";

// A refusal to load a plugin (a file that is not a plugin, a wrong ABI, a
// broken manifest, a name clash, an unreadable plugin directory):
// kFailedPrecondition carrying the kPluginLoadErrorUrl payload, so that
// callers (the C API's LIMIFY_PLUGIN_ERROR) can tell it from other failed
// preconditions such as "the clock is not manual".
absl::Status PluginLoadError(std::string_view message);

// True for a status made by PluginLoadError (also after its message was
// prefixed, as long as the payload was kept).
bool IsPluginLoadError(const absl::Status& status);

// `status` with `prefix` before its message, keeping its code and payloads
// (absl::Status has no such operation; rebuilding one drops the payloads).
absl::Status WithMessagePrefix(const absl::Status& status, std::string_view prefix);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_ERROR_H_
