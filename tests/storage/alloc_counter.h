// Counts heap allocations made by the calling thread, to prove that a path
// allocates nothing. The binary's replacement of operator new (in
// alloc_counter.cc) also serves plugins loaded into it. Off under sanitizers,
// which bring their own allocator.
#ifndef LIMIFY_TESTS_STORAGE_ALLOC_COUNTER_H_
#define LIMIFY_TESTS_STORAGE_ALLOC_COUNTER_H_

#include <cstdint>

namespace limify::testing {

// False when the build cannot count (sanitizers): tests then skip.
bool AllocationCountingEnabled();
// Allocations by operator new on this thread since it started.
int64_t AllocationsOnThisThread();

}  // namespace limify::testing

#endif  // LIMIFY_TESTS_STORAGE_ALLOC_COUNTER_H_
