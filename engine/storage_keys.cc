#include "engine/storage_keys.h"

#include <cstring>

namespace limify {

void StorageKeys::Build(const KeyTemplate& tmpl, std::string_view kind,
                        std::string_view token) {
  count_ = tmpl.suffixes.size();
  const size_t head = tmpl.prefix.size() + kind.size() + 1 + token.size();
  size_t total = 0;
  for (const std::string& suffix : tmpl.suffixes) total += head + suffix.size();
  bytes_.resize(total);  // sized once, so the pointers below stay valid

  char* p = bytes_.data();
  for (size_t i = 0; i < count_; ++i) {
    char* start = p;
    std::memcpy(p, tmpl.prefix.data(), tmpl.prefix.size());
    p += tmpl.prefix.size();
    std::memcpy(p, kind.data(), kind.size());
    p += kind.size();
    *p++ = '|';
    std::memcpy(p, token.data(), token.size());
    p += token.size();
    std::memcpy(p, tmpl.suffixes[i].data(), tmpl.suffixes[i].size());
    p += tmpl.suffixes[i].size();
    keys_[i] = limify_key{start, static_cast<size_t>(p - start)};
  }
}

}  // namespace limify
