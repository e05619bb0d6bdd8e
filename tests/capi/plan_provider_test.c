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

/* In a batch the provider is asked about each request, handed that very
 * struct, and each answer goes to its own item. */
typedef struct batch_seen {
  int calls;
  const limify_request* seen[4];
} batch_seen;

static int32_t provide_by_user(void* ctx, const limify_request* request, const char* rule_id,
                               char plan_out[LIMIFY_ID_MAX + 1]) {
  batch_seen* s = (batch_seen*)ctx;
  (void)rule_id;
  if (s->calls < 4) s->seen[s->calls] = request;
  s->calls++;
  strcpy(plan_out, request->user_id[0] == 'b' ? "pro" : "enterprise");
  return 1;
}

LIMIFY_TEST(in_a_batch_the_provider_sees_each_hosts_request) {
  limify_engine* engine = plan_engine();
  batch_seen state;
  limify_request a = limify_test_get("/api", "alice");
  limify_request b = limify_test_get("/api", "bob");
  limify_request c = limify_test_get("/api", "carol");
  limify_decision da = LIMIFY_DECISION_INIT, db = LIMIFY_DECISION_INIT, dc = LIMIFY_DECISION_INIT;
  const limify_request* requests[3];
  limify_decision* decisions[3];
  REQUIRE_ENGINE(engine);
  requests[0] = &a;
  requests[1] = &b;
  requests[2] = &c;
  decisions[0] = &da;
  decisions[1] = &db;
  decisions[2] = &dc;
  memset(&state, 0, sizeof(state));
  EXPECT_OK(limify_set_plan_provider(engine, provide_by_user, &state, NULL));
  EXPECT_OK(limify_check_batch(engine, requests, 3, decisions, NULL, NULL));
  EXPECT_EQ_INT(state.calls, 3);
  EXPECT_TRUE(state.seen[0] == &a);
  EXPECT_TRUE(state.seen[1] == &b);
  EXPECT_TRUE(state.seen[2] == &c);
  EXPECT_STREQ(da.plan_id, "enterprise");
  EXPECT_EQ_INT(da.limit, 5);
  EXPECT_STREQ(db.plan_id, "pro");
  EXPECT_EQ_INT(db.limit, 3);
  EXPECT_STREQ(dc.plan_id, "enterprise");
  limify_engine_free(engine);
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
    LIMIFY_TEST_CASE(in_a_batch_the_provider_sees_each_hosts_request),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
