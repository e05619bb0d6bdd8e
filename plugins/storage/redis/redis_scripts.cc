#include "plugins/storage/redis/redis_scripts.h"

#include <openssl/sha.h>

#include <vector>

namespace limify::redis {
namespace {

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

// Built once, on first use (thread-safe static). Destroyed when the plugin is
// unloaded, which the engine does only after its last call (a heap table
// would leak, unreachable once the library is unmapped).
const std::vector<Script>& AllScripts() {
  static const std::vector<Script> scripts = [] {
    std::vector<Script> all;
    for (size_t i = 0; i < kEmbeddedScriptCount; ++i) {
      std::string_view text = kEmbeddedScripts[i].text;
      all.push_back(Script{kEmbeddedScripts[i].name, text, Sha1Hex(text)});
    }
    return all;
  }();
  return scripts;
}

const Script& Named(std::string_view name) {
  for (const Script& s : AllScripts()) {
    if (s.name == name) return s;
  }
  __builtin_trap();  // the build always embeds both generic scripts
}

}  // namespace

const Script* FindNativeScript(std::string_view algorithm) {
  if (algorithm.empty() || algorithm[0] == '@') return nullptr;
  for (const Script& s : AllScripts()) {
    if (s.name == algorithm) return &s;
  }
  return nullptr;
}

const Script& ReadStatesScript() {
  static const Script& s = Named("@read_states");
  return s;
}

const Script& CompareAndSetScript() {
  static const Script& s = Named("@compare_and_set");
  return s;
}

}  // namespace limify::redis
