/* Hooks: on_decision after every decision with the host's own request,
 * on_error for errors, removal with its guarantee, struct sizes, and that a
 * hook cannot change a decision. */
#include <pthread.h>
#include <string.h>

#include "harness.h"

typedef struct recorder {
  int decisions[3]; /* by operation */
  int errors;
  const limify_request* last_request;
  limify_decision last_decision;
  limify_error last_error;
  int32_t last_operation;
  limify_engine* engine; /* for hooks that call back */
  limify_status reentry_status;
} recorder;

static void on_decision(void* ctx, int32_t operation, const limify_request* request,
                        const limify_decision* decision) {
  recorder* r = (recorder*)ctx;
  if (operation >= 0 && operation < 3) r->decisions[operation]++;
  r->last_operation = operation;
  r->last_request = request;
  r->last_decision = *decision;
}

static void on_error(void* ctx, const limify_error* error) {
  recorder* r = (recorder*)ctx;
  r->errors++;
  r->last_error = *error;
}

static limify_hooks hooks_for(recorder* r) {
  limify_hooks h;
  limify_hooks_init(&h);
  h.ctx = r;
  h.on_decision = on_decision;
  h.on_error = on_error;
  return h;
}

static limify_engine* search_engine(void) {
  return limify_test_engine(limify_test_manual_config(
      "[{\"id\": \"s\", \"path\": \"/search\", \"rate\": \"2/second\"}]", ""));
}

LIMIFY_TEST(on_decision_sees_every_decision_and_the_hosts_own_request) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK], 1);
  EXPECT_TRUE(rec.last_request == &r);
  EXPECT_EQ_INT(rec.last_decision.struct_size, sizeof(limify_decision));
  EXPECT_EQ_INT(rec.last_decision.remaining, 1);
  EXPECT_STREQ(rec.last_decision.rule_id, "s");
  EXPECT_OK(limify_peek(engine, &r, &d, NULL));
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_PEEK], 1);
  EXPECT_EQ_INT(rec.last_operation, LIMIFY_OPERATION_PEEK);
  EXPECT_OK(limify_check_key(engine, "s", "k", 1, &d, NULL));
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK_KEY], 1);
  EXPECT_TRUE(rec.last_request == NULL);
  EXPECT_EQ_INT(rec.errors, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(on_decision_sees_each_request_of_a_batch) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request a = limify_test_get("/search", "alice");
  limify_request b = limify_test_get("/search", "bob");
  limify_decision da = LIMIFY_DECISION_INIT, db = LIMIFY_DECISION_INIT;
  const limify_request* requests[2];
  limify_decision* decisions[2];
  REQUIRE_ENGINE(engine);
  requests[0] = &a;
  requests[1] = &b;
  decisions[0] = &da;
  decisions[1] = &db;
  memset(&rec, 0, sizeof(rec));
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check_batch(engine, requests, 2, decisions, NULL, NULL));
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK], 2);
  EXPECT_TRUE(rec.last_request == &b);
  limify_engine_free(engine);
}

static void scribble(void* ctx, int32_t operation, const limify_request* request,
                     const limify_decision* decision) {
  limify_decision* writable = (limify_decision*)decision; /* a misbehaving hook */
  (void)ctx;
  (void)operation;
  (void)request;
  writable->allowed = 0;
  writable->remaining = -99;
}

LIMIFY_TEST(a_hook_cannot_change_the_decision) {
  limify_engine* engine = search_engine();
  limify_hooks h;
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  limify_hooks_init(&h);
  h.on_decision = scribble;
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_EQ_INT(d.remaining, 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(on_error_sees_errors_the_call_returns_and_on_decision_does_not) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  r.cost = -3;
  /* No error struct from the caller: the hook still gets the message. */
  EXPECT_STATUS(limify_check(engine, &r, &d, NULL), LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(rec.errors, 1);
  EXPECT_EQ_INT(rec.last_error.code, LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(rec.last_error.message, "limify_check: request->cost must not be negative (got -3)");
  EXPECT_STATUS(limify_check(engine, NULL, &d, NULL), LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(rec.errors, 2);
  EXPECT_STREQ(rec.last_error.message, "limify_check: request is NULL");
  EXPECT_STATUS(limify_check_key(engine, "nope", "k", 1, &d, NULL), LIMIFY_NOT_FOUND);
  EXPECT_EQ_INT(rec.errors, 3);
  EXPECT_EQ_INT(rec.last_error.code, LIMIFY_NOT_FOUND);
  EXPECT_EQ_INT(rec.decisions[0] + rec.decisions[1] + rec.decisions[2], 0);
  limify_engine_free(engine);
}

/* The failure policy hides an unreachable storage from the caller (the
 * decision is degraded), not from on_error. */
LIMIFY_TEST(on_error_sees_storage_errors_the_failure_policy_hides) {
  char config[2048];
  limify_engine* engine;
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  snprintf(config, sizeof(config),
           "{\"storage\": {\"type\": \"unavailable\"}, \"plugin_paths\": [\"%s/unavailable_storage\"], "
           "\"failure_mode\": \"open\", \"rules\": [{\"id\": \"s\", \"path\": \"/search\", "
           "\"rate\": \"2/second\"}]}",
           LIMIFY_TEST_PLUGIN_DIR);
  engine = limify_test_engine(config);
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, &err));
  EXPECT_EQ_INT(d.allowed, 1);
  EXPECT_EQ_INT(d.degraded, 1);
  EXPECT_EQ_INT(rec.errors, 1);
  EXPECT_EQ_INT(rec.last_error.code, LIMIFY_STORAGE_ERROR);
  EXPECT_CONTAINS(rec.last_error.message, "connection refused (test storage)");
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK], 1);
  EXPECT_EQ_INT(rec.last_decision.degraded, 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(removed_hooks_are_not_called) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_OK(limify_set_hooks(engine, NULL, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_STATUS(limify_check(engine, NULL, &d, NULL), LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK], 1);
  EXPECT_EQ_INT(rec.errors, 0);
  limify_engine_free(engine);
}

/* Once limify_set_hooks returns, no call to the old hooks runs or starts:
 * the old ctx can be freed. Threads check while the hooks are swapped; each
 * hook verifies its ctx is still alive. */
typedef struct guarded_ctx {
  int alive; /* under mu */
  int violations;
  pthread_mutex_t mu;
} guarded_ctx;

static void guarded_on_decision(void* ctx, int32_t operation, const limify_request* request,
                                const limify_decision* decision) {
  guarded_ctx* g = (guarded_ctx*)ctx;
  (void)operation;
  (void)request;
  (void)decision;
  pthread_mutex_lock(&g->mu);
  if (!g->alive) g->violations++;
  pthread_mutex_unlock(&g->mu);
}

typedef struct checker {
  limify_engine* engine;
  int* stop;
  int failures;
} checker;

static void* check_until_stopped(void* arg) {
  checker* c = (checker*)arg;
  limify_request r = limify_test_get("/elsewhere", "alice"); /* unmatched: never denied */
  limify_decision d = LIMIFY_DECISION_INIT;
  while (!LIMIFY_FLAG_GET(*c->stop)) {
    if (limify_check(c->engine, &r, &d, NULL) != LIMIFY_OK) c->failures++;
  }
  return NULL;
}

LIMIFY_TEST(after_set_hooks_returns_no_old_hook_runs) {
  enum { kThreads = 3, kRounds = 200 };
  limify_engine* engine = search_engine();
  pthread_t threads[kThreads];
  checker checkers[kThreads];
  int stop = 0;
  int round, i, violations = 0;
  REQUIRE_ENGINE(engine);
  for (i = 0; i < kThreads; ++i) {
    checkers[i].engine = engine;
    checkers[i].stop = &stop;
    checkers[i].failures = 0;
    pthread_create(&threads[i], NULL, check_until_stopped, &checkers[i]);
  }
  for (round = 0; round < kRounds; ++round) {
    guarded_ctx g;
    limify_hooks h;
    g.alive = 1;
    g.violations = 0;
    pthread_mutex_init(&g.mu, NULL);
    limify_hooks_init(&h);
    h.ctx = &g;
    h.on_decision = guarded_on_decision;
    EXPECT_OK(limify_set_hooks(engine, &h, NULL));
    EXPECT_OK(limify_set_hooks(engine, NULL, NULL));
    pthread_mutex_lock(&g.mu);
    g.alive = 0; /* any call from now on would be a violation */
    pthread_mutex_unlock(&g.mu);
    /* Give a straggler the chance to show up. */
    EXPECT_OK(limify_set_hooks(engine, NULL, NULL));
    pthread_mutex_lock(&g.mu);
    violations += g.violations;
    pthread_mutex_unlock(&g.mu);
    pthread_mutex_destroy(&g.mu);
  }
  LIMIFY_FLAG_SET(stop, 1);
  for (i = 0; i < kThreads; ++i) {
    pthread_join(threads[i], NULL);
    EXPECT_EQ_INT(checkers[i].failures, 0);
  }
  EXPECT_EQ_INT(violations, 0);
  limify_engine_free(engine);
}

/* Replacing the hooks waits for running hooks: from inside one it would
 * wait for itself, so it is refused. */
static void reenter(void* ctx, int32_t operation, const limify_request* request,
                    const limify_decision* decision) {
  recorder* r = (recorder*)ctx;
  limify_error err;
  (void)operation;
  (void)request;
  (void)decision;
  r->reentry_status = limify_set_hooks(r->engine, NULL, &err);
  r->last_error = err;
  if (r->reentry_status == LIMIFY_FAILED_PRECONDITION) {
    r->reentry_status = limify_engine_reload(r->engine, "{}", &err);
  }
}

LIMIFY_TEST(set_hooks_and_reload_from_inside_a_hook_are_refused) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h;
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  rec.engine = engine;
  limify_hooks_init(&h);
  h.ctx = &rec;
  h.on_decision = reenter;
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(rec.reentry_status, LIMIFY_FAILED_PRECONDITION);
  EXPECT_STREQ(rec.last_error.message,
               "limify_set_hooks: must not be called from inside this engine's hooks");
  EXPECT_OK(limify_set_hooks(engine, NULL, NULL));
  limify_engine_free(engine);
}

LIMIFY_TEST(set_hooks_argument_errors) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_set_hooks(NULL, &h, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_set_hooks: engine is NULL");
  h.struct_size = 0;
  EXPECT_STATUS(limify_set_hooks(engine, &h, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_set_hooks: hooks->struct_size is 0");
  h.struct_size = sizeof(h);
  h.reserved = 7;
  EXPECT_STATUS(limify_set_hooks(engine, &h, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_set_hooks: hooks->reserved must be zero");
  limify_engine_free(engine);
}

/* An older caller's hooks end before on_error: whatever follows in memory
 * is never called. */
LIMIFY_TEST(only_the_declared_prefix_of_the_hooks_is_read) {
  limify_engine* engine = search_engine();
  recorder rec;
  limify_hooks h = hooks_for(&rec);
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  REQUIRE_ENGINE(engine);
  memset(&rec, 0, sizeof(rec));
  h.struct_size = (uint32_t)offsetof(limify_hooks, on_error);
  EXPECT_OK(limify_set_hooks(engine, &h, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_STATUS(limify_check(engine, NULL, &d, NULL), LIMIFY_INVALID_ARGUMENT);
  EXPECT_EQ_INT(rec.decisions[LIMIFY_OPERATION_CHECK], 1);
  EXPECT_EQ_INT(rec.errors, 0);
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(on_decision_sees_every_decision_and_the_hosts_own_request),
    LIMIFY_TEST_CASE(on_decision_sees_each_request_of_a_batch),
    LIMIFY_TEST_CASE(a_hook_cannot_change_the_decision),
    LIMIFY_TEST_CASE(on_error_sees_errors_the_call_returns_and_on_decision_does_not),
    LIMIFY_TEST_CASE(on_error_sees_storage_errors_the_failure_policy_hides),
    LIMIFY_TEST_CASE(removed_hooks_are_not_called),
    LIMIFY_TEST_CASE(after_set_hooks_returns_no_old_hook_runs),
    LIMIFY_TEST_CASE(set_hooks_and_reload_from_inside_a_hook_are_refused),
    LIMIFY_TEST_CASE(set_hooks_argument_errors),
    LIMIFY_TEST_CASE(only_the_declared_prefix_of_the_hooks_is_read),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
