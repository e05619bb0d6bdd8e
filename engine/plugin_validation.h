// Checks a plugin's manifest against the v1 contract of limify/plugin.h
// before the host touches anything it points to: magic, ABI major version,
// struct sizes, names and required function pointers. Kept apart from the
// loader so it can be tested on manifests built in memory.
#ifndef LIMIFY_ENGINE_PLUGIN_VALIDATION_H_
#define LIMIFY_ENGINE_PLUGIN_VALIDATION_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "limify/plugin.h"

namespace limify {

// The smallest struct_size each struct may declare: its size in ABI 1.0.
// Computed from the last 1.0 field so that fields appended later in a minor
// version do not raise the bar for older plugins.
inline constexpr size_t kManifestV1Size =
    offsetof(limify_plugin_manifest, storages) +
    sizeof(limify_plugin_manifest::storages);
inline constexpr size_t kAlgorithmV1Size =
    offsetof(limify_algorithm, step) + sizeof(limify_algorithm::step);
inline constexpr size_t kStorageV1Size =
    offsetof(limify_storage, remove) + sizeof(limify_storage::remove);

// True for a non-empty name of [a-z0-9_] only.
bool IsValidPluginName(std::string_view name);

// OK when `manifest` (what the entry function of `file` returned, possibly
// NULL) can be used. Otherwise kFailedPrecondition with a message
// "<file>: <reason>", e.g.
//   /p/x.so: algorithm "x": required function "step" is NULL
// Names that clash with other plugins are the registry's business.
absl::Status ValidateManifest(const limify_plugin_manifest* manifest,
                              std::string_view file);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_VALIDATION_H_
