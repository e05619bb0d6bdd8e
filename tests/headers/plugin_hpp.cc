// Compiled by ctest with -Wall -Wextra -pedantic -Werror: the C++ helper for
// plugin authors must build cleanly on its own.
#include "limify/plugin.hpp"

#include <stdexcept>

int main() {
  // Guard turns an exception into an error code (no host here: SetError only returns it).
  return limify::plugin::Guard(nullptr, []() -> int32_t { throw std::runtime_error("x"); }) ==
                 LIMIFY_PLUGIN_INTERNAL
             ? 0
             : 1;
}
