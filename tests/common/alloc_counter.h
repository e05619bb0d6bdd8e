// Counts heap allocations made by the calling thread, to prove that a path
// allocates nothing. The binary's replacement of operator new (in
// alloc_counter.cc) also serves plugins loaded into it, and takes precedence
// over the sanitizers' own operator new, so it counts under ASan and TSan too.
#ifndef LIMIFY_TESTS_COMMON_ALLOC_COUNTER_H_
#define LIMIFY_TESTS_COMMON_ALLOC_COUNTER_H_

#include <cstdint>

namespace limify::testing {

// Allocations by operator new on this thread since it started.
int64_t AllocationsOnThisThread();

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_COMMON_ALLOC_COUNTER_H_
