/* The plan provider: it names the plan of requests that name none, sees the
 * host's own request and the rule, and what it writes counts only when it is
 * a terminated id; an explicit plan wins; removal; argument errors. */
#include <string.h>

#include "harness.h"

static const char* kPlanRules =
    "[{\"id\": \"api\", \"path\": \"/api\", \"rate\": \"1/minute\", "
    "\"plans\": {\"pro\": \"3/minute\", \"enterprise\": \"5/minute\"}}]";

typedef struct provider_state {
  const char* plan;          /* what to answer; NULL: no plan */
  int calls;
  const limify_request* last_request;
  char last_rule[LIMIFY_ID_MAX + 1];
  int unterminated;          /* write 65 non-NUL bytes */
} provider_state;

static int32_t provide(void* ctx, const limify_request* request, const char* rule_id,
                       char plan_out[LIMIFY_ID_MAX + 1]) {
  provider_state* s = (provider_state*)ctx;
  s->calls++;
  s->last_request = request;
  strncpy(s->last_rule, rule_id, LIMIFY_ID_MAX);
  s->last_rule[LIMIFY_ID_MAX] = '\0';
  if (s->unterminated) {
    memset(plan_out, 'p', LIMIFY_ID_MAX + 1);
    return 1;
  }
  if (s->plan == NULL) return 0;
  strcpy(plan_out, s->plan);
  return 1;
}

static limify_engine* plan_engine(void) {
  return limify_test_engine(limify_test_manual_config(kPlanRules, ""));
}

static limify_decision check(limify_engine* engine, limify_request* r) {
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_check(engine, r, &d, NULL);
  return d;
}

LIMIFY_TEST(the_provider_names_the_plan_and_sees_the_hosts_request) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.plan = "enterprise";
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "enterprise");
  EXPECT_EQ_INT(d.limit, 5);
  EXPECT_EQ_INT(state.calls, 1);
  EXPECT_TRUE(state.last_request == &r);
  EXPECT_STREQ(state.last_rule, "api");
  limify_engine_free(engine);
}

LIMIFY_TEST(no_plan_from_the_provider_is_the_rules_own_rate) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "default");
  EXPECT_EQ_INT(d.limit, 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(an_explicit_plan_wins_and_the_provider_is_not_asked) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.plan = "enterprise";
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  r.plan = "pro";
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "pro");
  EXPECT_EQ_INT(state.calls, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(an_unterminated_plan_is_no_plan) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.unterminated = 1;
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  d = check(engine, &r);
  EXPECT_EQ_INT(state.calls, 1);
  EXPECT_STREQ(d.plan_id, "default");
  limify_engine_free(engine);
}

LIMIFY_TEST(a_plan_the_rule_does_not_define_gets_the_rules_own_rate) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.plan = "platinum";
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "default");
  limify_engine_free(engine);
}

LIMIFY_TEST(a_removed_provider_is_not_asked) {
  limify_engine* engine = plan_engine();
  provider_state state;
  limify_request r = limify_test_get("/api", "alice");
  limify_decision d;
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.plan = "pro";
  EXPECT_OK(limify_set_plan_provider(engine, provide, &state, NULL));
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "pro");
  EXPECT_OK(limify_set_plan_provider(engine, NULL, NULL, NULL));
  d = check(engine, &r);
  EXPECT_STREQ(d.plan_id, "default");
  EXPECT_EQ_INT(state.calls, 1);
  limify_engine_free(engine);
}

/* Replacing the provider waits for running providers: from inside one it is
 * refused, as is a reload. */
typedef struct reentrant_state {
  limify_engine* engine;
  limify_status set_status;
  limify_status reload_status;
  char message[LIMIFY_ERROR_MESSAGE_SIZE];
} reentrant_state;

static int32_t reenter(void* ctx, const limify_request* request, const char* rule_id,
                       char plan_out[LIMIFY_ID_MAX + 1]) {
  reentrant_state* s = (reentrant_state*)ctx;
  limify_error err;
  (void)request;
  (void)rule_id;
  (void)plan_out;
  s->set_status = limify_set_plan_provider(s->engine, NULL, NULL, &err);
  strcpy(s->message, err.message);
  s->reload_status = limify_engine_reload(s->engine, "{}", NULL);
  return 0;
}

LIMIFY_TEST(set_plan_provider_and_reload_from_inside_the_provider_are_refused) {
  limify_engine* engine = plan_engine();
  reentrant_state state;
  limify_request r = limify_test_get("/api", "alice");
  REQUIRE_ENGINE(engine);
  memset(&state, 0, sizeof(state));
  state.engine = engine;
  EXPECT_OK(limify_set_plan_provider(engine, reenter, &state, NULL));
  check(engine, &r);
  EXPECT_EQ_INT(state.set_status, LIMIFY_FAILED_PRECONDITION);
  EXPECT_CONTAINS(state.message, "plan provider");
  EXPECT_EQ_INT(state.reload_status, LIMIFY_FAILED_PRECONDITION);
  limify_engine_free(engine);
}

LIMIFY_TEST(set_plan_provider_needs_an_engine) {
  limify_error err;
  EXPECT_STATUS(limify_set_plan_provider(NULL, provide, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_set_plan_provider: engine is NULL");
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(the_provider_names_the_plan_and_sees_the_hosts_request),
    LIMIFY_TEST_CASE(no_plan_from_the_provider_is_the_rules_own_rate),
    LIMIFY_TEST_CASE(an_explicit_plan_wins_and_the_provider_is_not_asked),
    LIMIFY_TEST_CASE(an_unterminated_plan_is_no_plan),
    LIMIFY_TEST_CASE(a_plan_the_rule_does_not_define_gets_the_rules_own_rate),
    LIMIFY_TEST_CASE(a_removed_provider_is_not_asked),
    LIMIFY_TEST_CASE(set_plan_provider_and_reload_from_inside_the_provider_are_refused),
    LIMIFY_TEST_CASE(set_plan_provider_needs_an_engine),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
