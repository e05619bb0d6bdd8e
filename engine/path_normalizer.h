// The path a rule is matched against, as the host's router will see it: so
// that "/api/../admin", "/./admin" or "/%61dmin" cannot slip past a rule on
// "/admin/**" by matching a looser one.
#ifndef LIMIFY_ENGINE_PATH_NORMALIZER_H_
#define LIMIFY_ENGINE_PATH_NORMALIZER_H_

#include <string>
#include <string_view>

namespace limify {

// Drops the query string, percent-decodes each segment once (a segment that
// would decode to a '/', a '?' or a NUL stays as it was), drops empty and "."
// segments and applies ".." (never above the root). Returns `path` itself
// when there is nothing to do (no allocation on the common path), else a
// view of `*buffer`.
std::string_view NormalizePath(std::string_view path, std::string* buffer);

}  // namespace limify

#endif  // LIMIFY_ENGINE_PATH_NORMALIZER_H_
