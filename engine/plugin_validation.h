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
// A storage declares the optional 1.1 key_count slot only when its
// struct_size reaches this far; a 1.0 plugin's struct ends before it.
inline constexpr size_t kStorageKeyCountSize =
    offsetof(limify_storage, key_count) + sizeof(limify_storage::key_count);

// The storage's key_count function, or NULL when it has none: a 1.0 plugin
// (the field is past its struct_size and must not be read) or a 1.1 plugin
// that leaves it NULL.
inline auto StorageKeyCount(const limify_storage* storage) -> decltype(storage->key_count) {
  return storage->struct_size >= kStorageKeyCountSize ? storage->key_count : nullptr;
}

// Likewise the optional 1.2 execute_batch slot: NULL for a 1.0 or 1.1
// plugin (the field is past its struct_size), or a 1.2 one without it; the
// engine then runs a batch through execute, one op at a time.
inline constexpr size_t kStorageExecuteBatchSize =
    offsetof(limify_storage, execute_batch) + sizeof(limify_storage::execute_batch);
inline auto StorageExecuteBatch(const limify_storage* storage)
    -> decltype(storage->execute_batch) {
  return storage->struct_size >= kStorageExecuteBatchSize ? storage->execute_batch : nullptr;
}

// True for a non-empty name of [a-z0-9_] only.
bool IsValidPluginName(std::string_view name);

// OK when `manifest` (what the entry function of `file` returned, possibly
// NULL) can be used. Otherwise a plugin-load error (kFailedPrecondition,
// IsPluginLoadError) with a message "<file>: <reason>", e.g.
//   /p/x.so: algorithm "x": required function "step" is NULL
// Names that clash with other plugins are the registry's business.
absl::Status ValidateManifest(const limify_plugin_manifest* manifest,
                              std::string_view file);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PLUGIN_VALIDATION_H_
