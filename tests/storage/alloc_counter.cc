#include "tests/storage/alloc_counter.h"

#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMIFY_COUNT_ALLOCATIONS 0
#else
#define LIMIFY_COUNT_ALLOCATIONS 1
#endif

namespace limify::testing {
namespace {
thread_local int64_t allocations = 0;
}  // namespace

bool AllocationCountingEnabled() { return LIMIFY_COUNT_ALLOCATIONS != 0; }
int64_t AllocationsOnThisThread() { return allocations; }

#if LIMIFY_COUNT_ALLOCATIONS
void* CountedAlloc(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
#endif

}  // namespace limify::testing

#if LIMIFY_COUNT_ALLOCATIONS
// Replaces the global (non-aligned) operator new/delete for the whole process.
void* operator new(std::size_t size) { return limify::testing::CountedAlloc(size); }
void* operator new[](std::size_t size) { return limify::testing::CountedAlloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif
