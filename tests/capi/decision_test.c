/* limify_check, _peek, _reset, _check_key, _reset_key, _check_batch and the
 * manual clock on the memory storage: decisions, their numbers, and every
 * argument error (NULLs, struct sizes, costs). */
#include <stdint.h>
#include <string.h>

#include "harness.h"

static const char* kSearch = "[{\"id\": \"s\", \"path\": \"/search\", \"rate\": \"3/second\"}]";

static limify_engine* search_engine(void) {
  return limify_test_engine(limify_test_manual_config(kSearch, ""));
}

LIMIFY_TEST(check_allows_up_to_the_limit_then_denies_with_exact_numbers) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < 3; ++i) {
    EXPECT_OK(limify_check(engine, &r, &d, &err));
    EXPECT_EQ_INT(d.allowed, 1);
    EXPECT_EQ_INT(d.matched, 1);
    EXPECT_EQ_INT(d.degraded, 0);
    EXPECT_EQ_INT(d.limit, 3);
    EXPECT_EQ_INT(d.remaining, 2 - i);
    EXPECT_EQ_INT(d.retry_after_us, 0);
    EXPECT_EQ_INT(d.period_us, 1000000);
    EXPECT_STREQ(d.rule_id, "s");
    EXPECT_STREQ(d.plan_id, "default");
  }
  EXPECT_OK(limify_check(engine, &r, &d, &err));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_EQ_INT(d.remaining, 0);
  EXPECT_EQ_INT(d.retry_after_us, 333334); /* one token of 3/second, rounded up */
  EXPECT_EQ_INT(d.reset_after_us, 1000000);
  EXPECT_EQ_INT(err.code, LIMIFY_OK);
  EXPECT_STREQ(err.message, "");
  limify_engine_free(engine);
}

LIMIFY_TEST(an_unmatched_request_is_allowed_and_unlimited) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/elsewhere", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_EQ_INT(d.matched, 0);
  EXPECT_EQ_INT(d.limit, LIMIFY_UNLIMITED);
  EXPECT_EQ_INT(d.remaining, LIMIFY_UNLIMITED);
  EXPECT_STREQ(d.rule_id, "");
  limify_engine_free(engine);
}

LIMIFY_TEST(peek_consumes_nothing) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  int i;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < 5; ++i) {
    EXPECT_OK(limify_peek(engine, &r, &d, NULL));
    EXPECT_EQ_INT(d.allowed, 1);
    EXPECT_EQ_INT(d.remaining, 3);
  }
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 2);
  limify_engine_free(engine);
}

LIMIFY_TEST(reset_forgets_the_identity) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_request bob = limify_test_get("/search", "bob");
  limify_decision d = LIMIFY_DECISION_INIT;
  int i;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < 3; ++i) EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_OK(limify_check(engine, &bob, &d, NULL));
  EXPECT_OK(limify_reset(engine, &r, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 2);
  EXPECT_OK(limify_check(engine, &bob, &d, NULL)); /* bob was not reset */
  EXPECT_EQ_INT(d.remaining, 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(cost_counts_and_zero_means_one) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  r.cost = 2;
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 1);
  r.cost = 0;
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_cost_beyond_the_limit_can_never_pass) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  r.cost = 4;
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_EQ_INT(d.retry_after_us, LIMIFY_RETRY_NEVER);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_negative_cost_is_an_invalid_argument_and_leaves_a_denial) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  r.cost = -1;
  d.allowed = 1;
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(err.code, LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: request->cost must not be negative (got -1)");
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_STATUS(limify_peek(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_peek: ");
  EXPECT_STATUS(limify_check_key(engine, "s", "k", -5, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key: cost must not be negative (got -5)");
  limify_engine_free(engine);
}

LIMIFY_TEST(null_arguments_are_invalid_and_named) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_check(NULL, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: engine is NULL");
  EXPECT_STATUS(limify_check(engine, NULL, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: request is NULL");
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_STATUS(limify_check(engine, &r, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: decision is NULL");
  EXPECT_STATUS(limify_peek(engine, NULL, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_peek: request is NULL");
  EXPECT_STATUS(limify_peek(NULL, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STATUS(limify_reset(NULL, &r, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_reset: engine is NULL");
  EXPECT_STATUS(limify_reset(engine, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_reset: request is NULL");
  EXPECT_STATUS(limify_check_key(NULL, "s", "k", 1, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STATUS(limify_check_key(engine, NULL, "k", 1, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key: rule_id is NULL");
  EXPECT_STATUS(limify_check_key(engine, "s", NULL, 1, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key: identity is NULL");
  EXPECT_STATUS(limify_check_key(engine, "s", "k", 1, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key: decision is NULL");
  EXPECT_STATUS(limify_reset_key(NULL, "s", "k", &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STATUS(limify_reset_key(engine, NULL, "k", &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_reset_key: rule_id is NULL");
  EXPECT_STATUS(limify_reset_key(engine, "s", NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_reset_key: identity is NULL");
  EXPECT_STATUS(limify_clock_set(NULL, 0, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_clock_set: engine is NULL");
  EXPECT_STATUS(limify_clock_advance(NULL, 0, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_clock_advance: engine is NULL");
  /* Without an error struct the code is still returned. */
  EXPECT_STATUS(limify_check(engine, NULL, &d, NULL), LIMIFY_INVALID_ARGUMENT);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_successful_call_clears_the_error) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_check(engine, NULL, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_OK(limify_check(engine, &r, &d, &err));
  EXPECT_EQ_INT(err.code, LIMIFY_OK);
  EXPECT_STREQ(err.message, "");
  limify_engine_free(engine);
}

LIMIFY_TEST(a_request_or_decision_without_a_usable_struct_size_is_refused) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  r.struct_size = 0;
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_check: request->struct_size is 0 (expected at least ");
  EXPECT_CONTAINS(err.message, "limify_request_init()");
  r.struct_size = 8; /* not even the method and path */
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  r.struct_size = 0xFFFFFFFFu; /* uninitialised memory, most likely */
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STATUS(limify_reset(engine, &r, &err), LIMIFY_INVALID_ARGUMENT);
  r.struct_size = sizeof(r);
  r.reserved = 1;
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check: request->reserved must be zero");
  r.reserved = 0;
  d.struct_size = 0;
  EXPECT_STATUS(limify_check(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_check: decision->struct_size is 0");
  EXPECT_STATUS(limify_check_key(engine, "s", "k", 1, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_check_key: decision->struct_size is 0");
  d.struct_size = 4;
  EXPECT_STATUS(limify_peek(engine, &r, &d, &err), LIMIFY_INVALID_ARGUMENT);
  limify_engine_free(engine);
}

/* An older caller's request: only method and path. The rest reads as absent
 * (one shared anonymous identity, cost 1), whatever follows in memory. */
LIMIFY_TEST(only_the_declared_prefix_of_a_request_is_read) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_request anonymous = limify_test_get("/search", NULL);
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  r.struct_size = (uint32_t)(offsetof(limify_request, path) + sizeof(const char*));
  r.cost = -7; /* beyond the declared size: never read */
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 2);
  EXPECT_OK(limify_check(engine, &anonymous, &d, NULL)); /* the same anonymous bucket */
  EXPECT_EQ_INT(d.remaining, 1);
  limify_engine_free(engine);
}

/* A newer caller's request is larger: the fields this library knows are read. */
LIMIFY_TEST(a_larger_request_from_a_newer_header_is_accepted) {
  struct {
    limify_request base;
    int64_t field_from_the_future;
  } bigger;
  limify_engine* engine = search_engine();
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&bigger, 0, sizeof(bigger));
  bigger.base = limify_test_get("/search", "alice");
  bigger.base.struct_size = sizeof(bigger);
  bigger.base.cost = 2;
  bigger.field_from_the_future = 99;
  EXPECT_OK(limify_check(engine, &bigger.base, &d, NULL));
  EXPECT_EQ_INT(d.remaining, 1);
  limify_engine_free(engine);
}

/* An older caller's decision ends before period_us: nothing past it is
 * written. */
LIMIFY_TEST(only_the_declared_prefix_of_a_decision_is_written) {
  union {
    limify_decision d;
    unsigned char bytes[sizeof(limify_decision)];
  } out;
  const size_t declared = offsetof(limify_decision, period_us);
  size_t i;
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  REQUIRE_ENGINE(engine);
  memset(&out, 0xAB, sizeof(out));
  out.d.struct_size = (uint32_t)declared;
  EXPECT_OK(limify_check(engine, &r, &out.d, NULL));
  EXPECT_EQ_INT(out.d.struct_size, declared);
  EXPECT_EQ_INT(out.d.allowed, 1);
  EXPECT_EQ_INT(out.d.limit, 3);
  EXPECT_EQ_INT(out.d.remaining, 2);
  EXPECT_EQ_INT(out.d.retry_after_us, 0);
  for (i = declared; i < sizeof(out); ++i) {
    if (out.bytes[i] != 0xAB) LIMIFY_FAIL_("byte %d past the declared size was written", (int)i);
  }
  limify_engine_free(engine);
}

LIMIFY_TEST(check_key_limits_any_identity_under_a_rule) {
  limify_engine* engine = search_engine();
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < 3; ++i) {
    EXPECT_OK(limify_check_key(engine, "s", "job-42", 0, &d, &err));
    EXPECT_EQ_INT(d.allowed, 1);
    EXPECT_EQ_INT(d.remaining, 2 - i);
    EXPECT_STREQ(d.rule_id, "s");
  }
  EXPECT_OK(limify_check_key(engine, "s", "job-42", 1, &d, &err));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_OK(limify_check_key(engine, "s", "job-43", 1, &d, &err));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_OK(limify_reset_key(engine, "s", "job-42", &err));
  EXPECT_OK(limify_check_key(engine, "s", "job-42", 1, &d, &err));
  EXPECT_EQ_INT(d.remaining, 2);
  limify_engine_free(engine);
}

LIMIFY_TEST(an_unknown_rule_is_not_found) {
  limify_engine* engine = search_engine();
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  d.allowed = 1;
  EXPECT_STATUS(limify_check_key(engine, "nope", "k", 1, &d, &err), LIMIFY_NOT_FOUND);
  EXPECT_EQ_INT(err.code, LIMIFY_NOT_FOUND);
  EXPECT_STREQ(err.message, "no rule with id \"nope\"");
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_STATUS(limify_reset_key(engine, "nope", "k", &err), LIMIFY_NOT_FOUND);
  EXPECT_STATUS(limify_check_key(engine, "", "k", 1, &d, &err), LIMIFY_NOT_FOUND);
  limify_engine_free(engine);
}

LIMIFY_TEST(an_empty_identity_is_invalid) {
  limify_engine* engine = search_engine();
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_check_key(engine, "s", "", 1, &d, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key: identity must not be empty");
  EXPECT_STATUS(limify_reset_key(engine, "s", "", &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_reset_key: identity must not be empty");
  limify_engine_free(engine);
}

LIMIFY_TEST(the_manual_clock_moves_only_when_told) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  EXPECT_OK(limify_clock_set(engine, 1000000000, &err));
  for (i = 0; i < 4; ++i) EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_OK(limify_clock_advance(engine, d.retry_after_us - 1, &err));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_OK(limify_clock_advance(engine, 1, &err));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_STATUS(limify_clock_set(engine, INT64_MAX, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "out of range");
  limify_engine_free(engine);
}

LIMIFY_TEST(the_clock_cannot_be_moved_unless_manual) {
  limify_engine* engine =
      limify_test_engine("{\"rules\": [{\"id\": \"s\", \"path\": \"/s\", \"rate\": \"1/second\"}]}");
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_clock_set(engine, 0, &err), LIMIFY_FAILED_PRECONDITION);
  EXPECT_CONTAINS(err.message, "the clock is not manual");
  EXPECT_STATUS(limify_clock_advance(engine, 1, &err), LIMIFY_FAILED_PRECONDITION);
  limify_engine_free(engine);
}

LIMIFY_TEST(check_batch_decides_every_request_in_order) {
  limify_engine* engine = search_engine();
  limify_request a = limify_test_get("/search", "alice");
  limify_request b = limify_test_get("/search", "bob");
  limify_request other = limify_test_get("/other", "alice");
  limify_decision d[4];
  const limify_request* requests[4];
  limify_decision* decisions[4];
  limify_status statuses[4];
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  requests[0] = &a;
  requests[1] = &a;
  requests[2] = &b;
  requests[3] = &other;
  for (i = 0; i < 4; ++i) {
    limify_decision_init(&d[i]);
    decisions[i] = &d[i];
    statuses[i] = -1;
  }
  EXPECT_OK(limify_check_batch(engine, requests, 4, decisions, statuses, &err));
  for (i = 0; i < 4; ++i) EXPECT_EQ_INT(statuses[i], LIMIFY_OK);
  EXPECT_EQ_INT(d[0].remaining, 2);
  EXPECT_EQ_INT(d[1].remaining, 1);
  EXPECT_EQ_INT(d[2].remaining, 2);
  EXPECT_EQ_INT(d[3].matched, 0);
  /* statuses is optional */
  EXPECT_OK(limify_check_batch(engine, requests, 1, decisions, NULL, &err));
  EXPECT_EQ_INT(d[0].remaining, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(check_batch_reports_each_failure_and_still_decides_the_rest) {
  limify_engine* engine = search_engine();
  limify_request good = limify_test_get("/search", "alice");
  limify_request bad = limify_test_get("/search", "bob");
  limify_decision d[3];
  const limify_request* requests[3];
  limify_decision* decisions[3];
  limify_status statuses[3];
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  bad.cost = -1;
  requests[0] = &good;
  requests[1] = &bad;
  requests[2] = NULL;
  for (i = 0; i < 3; ++i) {
    limify_decision_init(&d[i]);
    decisions[i] = &d[i];
  }
  EXPECT_STATUS(limify_check_batch(engine, requests, 3, decisions, statuses, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(statuses[0], LIMIFY_OK);
  EXPECT_EQ_INT(statuses[1], LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(statuses[2], LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message,
               "limify_check_batch: item 1: limify_check: request->cost must not be negative (got -1)");
  EXPECT_EQ_INT(d[0].allowed, 1);
  EXPECT_EQ_INT(d[1].allowed, 0);
  EXPECT_EQ_INT(d[2].allowed, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(check_batch_argument_errors) {
  limify_engine* engine = search_engine();
  limify_request r = limify_test_get("/search", "alice");
  const limify_request* requests[1];
  limify_decision* decisions[1];
  limify_error err;
  REQUIRE_ENGINE(engine);
  requests[0] = &r;
  decisions[0] = NULL;
  EXPECT_OK(limify_check_batch(engine, NULL, 0, NULL, NULL, &err)); /* nothing to do */
  EXPECT_STATUS(limify_check_batch(NULL, requests, 1, decisions, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_batch: engine is NULL");
  EXPECT_STATUS(limify_check_batch(engine, NULL, 1, decisions, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_batch: requests is NULL");
  EXPECT_STATUS(limify_check_batch(engine, requests, 1, NULL, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_batch: decisions is NULL");
  EXPECT_STATUS(limify_check_batch(engine, requests, 1, decisions, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_batch: item 0: limify_check: decision is NULL");
  limify_engine_free(engine);
}

LIMIFY_TEST(check_key_batch_decides_each_identity_and_reports_each_failure) {
  limify_engine* engine = search_engine();
  const char* identities[5] = {"alice", "bob", "alice", "", NULL};
  int64_t costs[5] = {1, 0, 2, 1, -1};
  limify_decision d[5];
  limify_decision* decisions[5];
  limify_status statuses[5];
  limify_error err;
  int i;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < 5; ++i) {
    limify_decision_init(&d[i]);
    decisions[i] = &d[i];
  }
  EXPECT_STATUS(limify_check_key_batch(engine, "s", identities, 5, costs, decisions, statuses, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(statuses[0], LIMIFY_OK);
  EXPECT_EQ_INT(statuses[1], LIMIFY_OK);
  EXPECT_EQ_INT(statuses[2], LIMIFY_OK);
  EXPECT_EQ_INT(statuses[3], LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(statuses[4], LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message,
               "limify_check_key_batch: item 3: limify_check_key: identity must not be empty");
  EXPECT_EQ_INT(d[0].remaining, 2);
  EXPECT_EQ_INT(d[1].remaining, 2); /* cost 0 = 1 */
  EXPECT_EQ_INT(d[2].remaining, 0); /* alice again, cost 2 */
  EXPECT_EQ_INT(d[3].allowed, 0);
  EXPECT_EQ_INT(d[4].allowed, 0);
  /* costs NULL: 1 each; statuses optional; an unknown rule fails every item */
  EXPECT_OK(limify_check_key_batch(engine, "s", identities + 1, 1, NULL, decisions, NULL, &err));
  EXPECT_EQ_INT(d[0].remaining, 1);
  EXPECT_STATUS(limify_check_key_batch(engine, "nope", identities, 2, NULL, decisions, statuses, &err),
                LIMIFY_NOT_FOUND);
  EXPECT_EQ_INT(statuses[1], LIMIFY_NOT_FOUND);
  EXPECT_STATUS(limify_check_key_batch(engine, NULL, identities, 1, NULL, decisions, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key_batch: rule_id is NULL");
  EXPECT_STATUS(limify_check_key_batch(engine, "s", NULL, 1, NULL, decisions, NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_check_key_batch: identities is NULL");
  EXPECT_OK(limify_check_key_batch(engine, "s", NULL, 0, NULL, NULL, NULL, &err));
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(check_allows_up_to_the_limit_then_denies_with_exact_numbers),
    LIMIFY_TEST_CASE(an_unmatched_request_is_allowed_and_unlimited),
    LIMIFY_TEST_CASE(peek_consumes_nothing),
    LIMIFY_TEST_CASE(reset_forgets_the_identity),
    LIMIFY_TEST_CASE(cost_counts_and_zero_means_one),
    LIMIFY_TEST_CASE(a_cost_beyond_the_limit_can_never_pass),
    LIMIFY_TEST_CASE(a_negative_cost_is_an_invalid_argument_and_leaves_a_denial),
    LIMIFY_TEST_CASE(null_arguments_are_invalid_and_named),
    LIMIFY_TEST_CASE(a_successful_call_clears_the_error),
    LIMIFY_TEST_CASE(a_request_or_decision_without_a_usable_struct_size_is_refused),
    LIMIFY_TEST_CASE(only_the_declared_prefix_of_a_request_is_read),
    LIMIFY_TEST_CASE(a_larger_request_from_a_newer_header_is_accepted),
    LIMIFY_TEST_CASE(only_the_declared_prefix_of_a_decision_is_written),
    LIMIFY_TEST_CASE(check_key_limits_any_identity_under_a_rule),
    LIMIFY_TEST_CASE(an_unknown_rule_is_not_found),
    LIMIFY_TEST_CASE(an_empty_identity_is_invalid),
    LIMIFY_TEST_CASE(the_manual_clock_moves_only_when_told),
    LIMIFY_TEST_CASE(the_clock_cannot_be_moved_unless_manual),
    LIMIFY_TEST_CASE(check_batch_decides_every_request_in_order),
    LIMIFY_TEST_CASE(check_batch_reports_each_failure_and_still_decides_the_rest),
    LIMIFY_TEST_CASE(check_batch_argument_errors),
    LIMIFY_TEST_CASE(check_key_batch_decides_each_identity_and_reports_each_failure),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
