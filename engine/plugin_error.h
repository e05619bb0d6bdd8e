// The host side of the plugin error channel: the opaque limify_plugin_error
// sink, the host API handed to every plugin, and the conversion of a plugin
// code plus message into an absl::Status.
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

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_ERROR_H_
