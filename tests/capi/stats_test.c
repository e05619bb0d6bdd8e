/* limify_stats: JSON and Prometheus text after some decisions, and the
 * buffer contract (size query, too small, argument errors). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static limify_engine* engine_with_decisions(void) {
  limify_engine* engine = limify_test_engine(limify_test_manual_config(
      "[{\"id\": \"s\", \"path\": \"/search\", \"rate\": \"2/second\"}]", ""));
  limify_request r = limify_test_get("/search", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  int i;
  if (engine == NULL) return NULL;
  for (i = 0; i < 3; ++i) limify_check(engine, &r, &d, NULL); /* 2 allowed, 1 denied */
  return engine;
}

/* The stats text in a buffer of exactly the size asked for; free() it. */
static char* stats(limify_engine* engine, int32_t format) {
  size_t needed = 0;
  char* buf;
  limify_error err;
  if (limify_stats(engine, format, NULL, 0, &needed, &err) != LIMIFY_BUFFER_TOO_SMALL) return NULL;
  buf = (char*)malloc(needed);
  if (limify_stats(engine, format, buf, needed, &needed, &err) != LIMIFY_OK) {
    free(buf);
    return NULL;
  }
  return buf;
}

LIMIFY_TEST(json_stats_count_decisions_by_rule_plan_and_outcome) {
  limify_engine* engine = engine_with_decisions();
  char* text;
  REQUIRE_ENGINE(engine);
  text = stats(engine, LIMIFY_STATS_JSON);
  EXPECT_TRUE(text != NULL);
  EXPECT_TRUE(text[0] == '{');
  EXPECT_CONTAINS(text, "\"rule\":\"s\",\"plan\":\"default\",\"allowed\":2,\"denied\":1");
  EXPECT_CONTAINS(text, "\"latency_us\"");
  EXPECT_CONTAINS(text, "\"keys\"");
  free(text);
  limify_engine_free(engine);
}

LIMIFY_TEST(prometheus_stats_count_decisions_by_rule_plan_and_outcome) {
  limify_engine* engine = engine_with_decisions();
  char* text;
  REQUIRE_ENGINE(engine);
  text = stats(engine, LIMIFY_STATS_PROMETHEUS);
  EXPECT_TRUE(text != NULL);
  EXPECT_CONTAINS(text, "# TYPE limify_decisions_total counter\n");
  EXPECT_CONTAINS(text, "limify_decisions_total{rule=\"s\",plan=\"default\",outcome=\"allowed\"} 2\n");
  EXPECT_CONTAINS(text, "limify_decisions_total{rule=\"s\",plan=\"default\",outcome=\"denied\"} 1\n");
  EXPECT_CONTAINS(text, "limify_check_duration_seconds_count 3\n");
  free(text);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_buffer_too_small_is_reported_with_the_size_needed_and_left_alone) {
  limify_engine* engine = engine_with_decisions();
  size_t needed = 0, again = 0;
  char small[8];
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_stats(engine, LIMIFY_STATS_JSON, NULL, 0, &needed, &err),
                LIMIFY_BUFFER_TOO_SMALL);
  EXPECT_TRUE(needed > sizeof(small));
  EXPECT_EQ_INT(err.code, LIMIFY_BUFFER_TOO_SMALL);
  EXPECT_CONTAINS(err.message, "limify_stats: the buffer holds 0 bytes, the text needs ");
  memset(small, 'Z', sizeof(small));
  EXPECT_STATUS(limify_stats(engine, LIMIFY_STATS_JSON, small, sizeof(small), &again, &err),
                LIMIFY_BUFFER_TOO_SMALL);
  EXPECT_EQ_INT(again, needed);
  EXPECT_TRUE(small[0] == 'Z' && small[7] == 'Z');
  limify_engine_free(engine);
}

LIMIFY_TEST(the_text_ends_with_its_nul_within_needed) {
  limify_engine* engine = engine_with_decisions();
  size_t needed = 0;
  char* buf;
  REQUIRE_ENGINE(engine);
  limify_stats(engine, LIMIFY_STATS_PROMETHEUS, NULL, 0, &needed, NULL);
  buf = (char*)malloc(needed + 16);
  memset(buf, 'Z', needed + 16);
  EXPECT_OK(limify_stats(engine, LIMIFY_STATS_PROMETHEUS, buf, needed + 16, &needed, NULL));
  EXPECT_EQ_INT(strlen(buf) + 1, needed);
  EXPECT_TRUE(buf[needed] == 'Z');
  free(buf);
  limify_engine_free(engine);
}

LIMIFY_TEST(stats_argument_errors) {
  limify_engine* engine = engine_with_decisions();
  size_t needed = 0;
  char buf[64];
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_STATUS(limify_stats(NULL, LIMIFY_STATS_JSON, buf, sizeof(buf), &needed, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_stats: engine is NULL");
  EXPECT_STATUS(limify_stats(engine, LIMIFY_STATS_JSON, buf, sizeof(buf), NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_stats: needed is NULL");
  EXPECT_STATUS(limify_stats(engine, LIMIFY_STATS_JSON, NULL, 10, &needed, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_stats: buf is NULL but len is not 0");
  EXPECT_STATUS(limify_stats(engine, 7, buf, sizeof(buf), &needed, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_CONTAINS(err.message, "limify_stats: unknown format 7");
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(json_stats_count_decisions_by_rule_plan_and_outcome),
    LIMIFY_TEST_CASE(prometheus_stats_count_decisions_by_rule_plan_and_outcome),
    LIMIFY_TEST_CASE(a_buffer_too_small_is_reported_with_the_size_needed_and_left_alone),
    LIMIFY_TEST_CASE(the_text_ends_with_its_nul_within_needed),
    LIMIFY_TEST_CASE(stats_argument_errors),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
