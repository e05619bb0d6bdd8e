// Compiled by ctest with -std=c++11 -Wall -Wextra -pedantic -Werror: limify.h
// is usable from C++ as is (extern "C", the init macros).
#include "limify/limify.h"

#include <cstddef>

static_assert(sizeof(limify_status) == 4, "limify_status is a fixed-width integer");
static_assert(offsetof(limify_request, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(limify_decision, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(limify_hooks, struct_size) == 0, "struct_size comes first");

int main() {
  limify_request request = LIMIFY_REQUEST_INIT;
  limify_decision decision = LIMIFY_DECISION_INIT;
  const limify_plan_provider_fn provider = nullptr;
  (void)provider;
  return static_cast<int>(request.cost + decision.allowed);
}
