#include "tests/common/alloc_counter.h"

#include <cstdlib>
#include <new>

namespace limify::testing {
namespace {
thread_local int64_t allocations = 0;
}  // namespace

int64_t AllocationsOnThisThread() { return allocations; }

void* CountedAlloc(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace limify::testing

// Replaces the global (non-aligned) operator new/delete for the whole process.
void* operator new(std::size_t size) { return limify::testing::CountedAlloc(size); }
void* operator new[](std::size_t size) { return limify::testing::CountedAlloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
