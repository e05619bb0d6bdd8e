// Options of the memory storage: the `storage` JSON object without "type".
#ifndef LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_OPTIONS_H_
#define LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_OPTIONS_H_

#include <cstdint>
#include <string>

namespace limify::memory {

struct MemoryOptions {
  uint64_t max_keys = 1000000;  // bound on stored keys (see memory_storage.h)
  uint32_t shards = 64;         // power of two, 1..4096
};

// Parses `json` (NULL means "{}"). On error returns false and sets `error` to
// a message that starts with the option name, e.g.
//   max_keys: expected a positive integer, got "abc"
bool ParseMemoryOptions(const char* json, MemoryOptions* out,
                        std::string* error);

}  // namespace limify::memory

#endif  // LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_OPTIONS_H_
