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

// Replaces the global (non-aligned) operator new/delete for the whole process,
// nothrow forms included: every pair must come from one allocator (ASan
// checks), and the aligned forms stay the runtime's, paired with its deletes.
void* operator new(std::size_t size) { return limify::testing::CountedAlloc(size); }
void* operator new[](std::size_t size) { return limify::testing::CountedAlloc(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return limify::testing::CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
