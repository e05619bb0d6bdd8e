/* One engine, several threads, no external lock: exactly N requests pass a
 * limit of N, through check and check_key, also while the configuration is
 * reloaded under load. */
#include <pthread.h>
#include <string.h>

#include "harness.h"

enum { kThreads = 4, kPerThread = 600, kLimit = 1000 };

static const char* kRules =
    "[{\"id\": \"s\", \"path\": \"/search\", \"rate\": \"1000/minute\"}, "
    "{\"id\": \"other\", \"path\": \"/other\", \"rate\": \"5/second\"}]";

typedef struct worker {
  limify_engine* engine;
  int* go; /* NULL, or spin until it is set */
  int use_check_key;
  int allowed;
  int denied;
  int failures;
  char last_error[LIMIFY_ERROR_MESSAGE_SIZE];
} worker;

static void* run_worker(void* arg) {
  worker* w = (worker*)arg;
  limify_request r = limify_test_get("/search", "shared-user");
  limify_decision d = LIMIFY_DECISION_INIT;
  limify_error err;
  int i;
  while (w->go != NULL && !LIMIFY_FLAG_GET(*w->go)) {
  }
  for (i = 0; i < kPerThread; ++i) {
    limify_status s = w->use_check_key
                          ? limify_check_key(w->engine, "s", "shared-key", 1, &d, &err)
                          : limify_check(w->engine, &r, &d, &err);
    if (s != LIMIFY_OK) {
      w->failures++;
      strcpy(w->last_error, err.message);
    } else if (d.allowed) {
      w->allowed++;
    } else {
      w->denied++;
    }
  }
  return NULL;
}

/* Runs kThreads workers; returns how many requests were allowed in total. */
static int run_workers(limify_engine* engine, int use_check_key, int* go,
                       int* failures) {
  pthread_t threads[kThreads];
  worker workers[kThreads];
  int i, allowed = 0;
  *failures = 0;
  for (i = 0; i < kThreads; ++i) {
    memset(&workers[i], 0, sizeof(workers[i]));
    workers[i].engine = engine;
    workers[i].use_check_key = use_check_key;
    workers[i].go = go;
    pthread_create(&threads[i], NULL, run_worker, &workers[i]);
  }
  for (i = 0; i < kThreads; ++i) {
    pthread_join(threads[i], NULL);
    allowed += workers[i].allowed;
    *failures += workers[i].failures;
    if (workers[i].failures) fprintf(stderr, "worker error: %s\n", workers[i].last_error);
  }
  return allowed;
}

LIMIFY_TEST(exactly_the_limit_passes_from_several_threads) {
  limify_engine* engine = limify_test_engine(limify_test_manual_config(kRules, ""));
  int failures;
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(run_workers(engine, 0, NULL, &failures), kLimit);
  EXPECT_EQ_INT(failures, 0);
  limify_engine_free(engine);
}

LIMIFY_TEST(exactly_the_limit_passes_check_key_from_several_threads) {
  limify_engine* engine = limify_test_engine(limify_test_manual_config(kRules, ""));
  int failures;
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(run_workers(engine, 1, NULL, &failures), kLimit);
  EXPECT_EQ_INT(failures, 0);
  limify_engine_free(engine);
}

typedef struct reloader {
  limify_engine* engine;
  int* stop;
  int* reloading; /* set after the first reload */
  int reloads;
  int failures;
} reloader;

static void* reload_until_stopped(void* arg) {
  reloader* r = (reloader*)arg;
  char config[4096];
  int flip = 0;
  /* Alternates the limit of "other" only: "s" keeps its limit, so its
   * state is kept across every reload. */
  while (!LIMIFY_FLAG_GET(*r->stop)) {
    snprintf(config, sizeof(config),
             "{\"clock\": \"manual\", \"rules\": [{\"id\": \"s\", \"path\": \"/search\", "
             "\"rate\": \"1000/minute\"}, {\"id\": \"other\", \"path\": \"/other\", "
             "\"rate\": \"%d/second\"}]}",
             flip ? 5 : 6);
    flip = !flip;
    if (limify_engine_reload(r->engine, config, NULL) != LIMIFY_OK) r->failures++;
    r->reloads++;
    LIMIFY_FLAG_SET(*r->reloading, 1);
  }
  return NULL;
}

LIMIFY_TEST(reloads_under_load_lose_no_count_and_fail_no_check) {
  limify_engine* engine = limify_test_engine(limify_test_manual_config(kRules, ""));
  pthread_t thread;
  reloader r;
  int stop = 0, reloading = 0;
  int failures, allowed;
  REQUIRE_ENGINE(engine);
  memset(&r, 0, sizeof(r));
  r.engine = engine;
  r.stop = &stop;
  r.reloading = &reloading;
  pthread_create(&thread, NULL, reload_until_stopped, &r);
  /* The checks start once reloads are under way. */
  allowed = run_workers(engine, 0, &reloading, &failures);
  LIMIFY_FLAG_SET(stop, 1);
  pthread_join(thread, NULL);
  EXPECT_EQ_INT(failures, 0);
  EXPECT_EQ_INT(r.failures, 0);
  EXPECT_TRUE(r.reloads > 1);
  fprintf(stderr, "%d reloads during the checks\n", r.reloads);
  EXPECT_EQ_INT(allowed, kLimit);
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(exactly_the_limit_passes_from_several_threads),
    LIMIFY_TEST_CASE(exactly_the_limit_passes_check_key_from_several_threads),
    LIMIFY_TEST_CASE(reloads_under_load_lose_no_count_and_fail_no_check),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
