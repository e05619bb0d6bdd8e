/* Compiled by ctest with -std=c99 -pedantic -Werror: plugin.h must be plain
 * C99 with standard headers only, usable by any C toolchain. */
#include "limify/plugin.h"

int main(void) {
  limify_verdict verdict = {0};
  limify_limit_spec spec = {0};
  verdict.struct_size = sizeof(verdict);
  spec.struct_size = sizeof(spec);
  return (int)(verdict.allowed + spec.reserved);
}
