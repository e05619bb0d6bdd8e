// Debian's Abseil is built with its own absl::string_view rather than an
// alias of std::string_view, so StrCat and heterogeneous hash-map lookups do
// not accept std::string_view. This converts without copying.
#ifndef LIMIFY_ENGINE_ABSL_COMPAT_H_
#define LIMIFY_ENGINE_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace limify {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace limify

#endif  // LIMIFY_ENGINE_ABSL_COMPAT_H_
