// step() is on every request's path: it must not allocate. This binary
// replaces the global operator new; the plugins, loaded into it, resolve
// their allocations to it too (the control case proves the counter sees them).
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/algorithms/algorithm_harness.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC 12 flags malloc/free inside replaced operators as mismatched; they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace limify::testing {
namespace {

class NoAllocationTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NoAllocationTest, StepAllocatesNothingWhileARefusalDoes) {
  Key key(GetParam(), MakeSpec(50, kSecond));
  key.Check();  // load the plugin first
  const long before = g_allocations.load();
  for (int i = 0; i < 200; ++i) {
    key.Advance(7000);
    key.Step(1 + i % 3, i % 4 == 0);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  // Control: a refusal builds its message on the plugin's heap (with no error
  // sink, this host copies nothing), and the counter sees it.
  const limify_limit_spec bad = MakeSpec(0, kSecond);
  EXPECT_EQ(key.algorithm()->validate(&bad, nullptr), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_GT(g_allocations.load() - before, 0);
}

INSTANTIATE_TEST_SUITE_P(All, NoAllocationTest, ::testing::ValuesIn(AllAlgorithms()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace limify::testing
