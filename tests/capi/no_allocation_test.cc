// A check through the C API on existing state allocates nothing, like the
// engine's own path: no conversion, hook or header formatting allocates.
// (tests/common/alloc_counter.cc replaces operator new in this binary, which
// also serves liblimify.so.)
#include <cstring>

#include "harness.h"
#include "tests/common/alloc_counter.h"

namespace {

using limify::testing::AllocationsOnThisThread;

int g_decisions = 0;
void CountDecision(void*, int32_t, const limify_request*, const limify_decision*) {
  ++g_decisions;
}

}  // namespace

LIMIFY_TEST(check_peek_and_check_key_on_existing_state_allocate_nothing) {
  const int64_t at_start = AllocationsOnThisThread();
  limify_engine* engine = limify_test_engine(limify_test_manual_config(
      "[{\"id\": \"s\", \"path\": \"/search\", \"rate\": \"1000/second\"}]", ""));
  REQUIRE_ENGINE(engine);
  // The counter sees the library's allocations (creating an engine makes some).
  EXPECT_TRUE(AllocationsOnThisThread() > at_start);
  limify_hooks hooks;
  limify_hooks_init(&hooks);
  hooks.on_decision = CountDecision;
  EXPECT_OK(limify_set_hooks(engine, &hooks, nullptr));
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  char headers[512];
  // The first calls create the keys.
  EXPECT_OK(limify_check(engine, &r, &d, &err));
  EXPECT_OK(limify_check_key(engine, "s", "job", 1, &d, &err));

  const int64_t before = AllocationsOnThisThread();
  for (int i = 0; i < 100; ++i) {
    limify_check(engine, &r, &d, &err);
    limify_peek(engine, &r, &d, &err);
    limify_check_key(engine, "s", "job", 1, &d, &err);
    limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, headers,
                          sizeof(headers));
  }
  EXPECT_EQ_INT(AllocationsOnThisThread() - before, 0);
  EXPECT_EQ_INT(g_decisions, 302);
  EXPECT_EQ_INT(d.allowed, 1);
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(check_peek_and_check_key_on_existing_state_allocate_nothing),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
