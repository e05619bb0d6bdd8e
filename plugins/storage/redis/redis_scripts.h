// The Lua scripts of the redis storage (lua/*.lua, embedded at build time by
// embed_lua.cmake) and their SHA-1 digests, the names EVALSHA runs them by.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_SCRIPTS_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_SCRIPTS_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace limify::redis {

// As generated: the algorithm name (native scripts) or "@read_states" /
// "@compare_and_set" (the generic path's), and the script text.
struct EmbeddedScript {
  const char* name;
  const char* text;
};
extern const EmbeddedScript kEmbeddedScripts[];
extern const size_t kEmbeddedScriptCount;

struct Script {
  std::string_view name;
  std::string_view text;
  std::string sha1;  // lowercase hex, as SCRIPT LOAD returns it
};

// The native script of `algorithm`, or null when it has none.
const Script* FindNativeScript(std::string_view algorithm);
// The generic path's scripts.
const Script& ReadStatesScript();
const Script& CompareAndSetScript();

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_SCRIPTS_H_
