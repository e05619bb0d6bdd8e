// Callbacks written in C++ that throw: no exception crosses back through the
// C API, and the decision is the same as without the callback.
#include <stdexcept>

#include "harness.h"

namespace {

int g_decision_calls = 0;
int g_error_calls = 0;

void ThrowingOnDecision(void*, int32_t, const limify_request*, const limify_decision*) {
  ++g_decision_calls;
  throw std::runtime_error("on_decision failed");
}

void ThrowingOnError(void*, const limify_error*) {
  ++g_error_calls;
  throw 42;  // not even a std::exception
}

int32_t ThrowingProvider(void*, const limify_request*, const char*, char*) {
  throw std::logic_error("no plan today");
}

limify_engine* PlanEngine() {
  return limify_test_engine(limify_test_manual_config(
      "[{\"id\": \"api\", \"path\": \"/api\", \"rate\": \"2/minute\", "
      "\"plans\": {\"pro\": \"5/minute\"}}]",
      ""));
}

}  // namespace

LIMIFY_TEST(a_throwing_hook_does_not_escape_or_change_the_decision) {
  limify_engine* engine = PlanEngine();
  REQUIRE_ENGINE(engine);
  limify_hooks hooks;
  limify_hooks_init(&hooks);
  hooks.on_decision = ThrowingOnDecision;
  hooks.on_error = ThrowingOnError;
  EXPECT_OK(limify_set_hooks(engine, &hooks, nullptr));
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  EXPECT_OK(limify_check(engine, &r, &d, &err));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_EQ_INT(d.remaining, 1);
  EXPECT_EQ_INT(g_decision_calls, 1);
  EXPECT_STATUS(limify_check(engine, nullptr, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: request is NULL");
  EXPECT_EQ_INT(g_error_calls, 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_throwing_plan_provider_means_no_plan) {
  limify_engine* engine = PlanEngine();
  REQUIRE_ENGINE(engine);
  EXPECT_OK(limify_set_plan_provider(engine, ThrowingProvider, nullptr, nullptr));
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  EXPECT_OK(limify_check(engine, &r, &d, nullptr));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_STREQ(d.plan_id, "default");
  EXPECT_EQ_INT(d.limit, 2);
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(a_throwing_hook_does_not_escape_or_change_the_decision),
    LIMIFY_TEST_CASE(a_throwing_plan_provider_means_no_plan),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
