/* limify_format_headers: the exact text for each flag, rounding, the
 * unmatched and unknown cases, and snprintf's buffer contract. */
#include <string.h>

#include "harness.h"

/* A decision as the engine gives it for rule "search", 100/minute. */
static limify_decision allowed_decision(void) {
  limify_decision d = LIMIFY_DECISION_INIT;
  d.allowed = 1;
  d.matched = 1;
  d.limit = 100;
  d.remaining = 42;
  d.reset_after_us = 34800001; /* 34.8 s: rounds up to 35 */
  d.retry_after_us = 0;
  d.period_us = 60000000;
  strcpy(d.rule_id, "search");
  strcpy(d.plan_id, "default");
  return d;
}

static limify_decision denied_decision(void) {
  limify_decision d = allowed_decision();
  d.allowed = 0;
  d.remaining = 0;
  d.reset_after_us = 60000000;
  d.retry_after_us = 600000; /* 0.6 s: rounds up to 1 */
  return d;
}

LIMIFY_TEST(x_ratelimit_headers_of_an_allowed_request) {
  limify_decision d = allowed_decision();
  char buf[512];
  const char* expected =
      "X-RateLimit-Limit: 100\r\n"
      "X-RateLimit-Remaining: 42\r\n"
      "X-RateLimit-Reset: 35\r\n";
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, buf, sizeof(buf)),
                strlen(expected));
  EXPECT_STREQ(buf, expected);
}

LIMIFY_TEST(a_denied_request_also_gets_retry_after_in_whole_seconds_rounded_up) {
  limify_decision d = denied_decision();
  char buf[512];
  const char* expected =
      "X-RateLimit-Limit: 100\r\n"
      "X-RateLimit-Remaining: 0\r\n"
      "X-RateLimit-Reset: 60\r\n"
      "Retry-After: 1\r\n";
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, buf, sizeof(buf)),
                strlen(expected));
  EXPECT_STREQ(buf, expected);
}

LIMIFY_TEST(retry_after_is_left_out_when_waiting_cannot_help) {
  limify_decision d = denied_decision();
  char buf[512];
  d.retry_after_us = LIMIFY_RETRY_NEVER;
  limify_format_headers(&d, LIMIFY_HEADERS_RETRY_AFTER, buf, sizeof(buf));
  EXPECT_STREQ(buf, "");
  d.retry_after_us = 2000000; /* exactly 2 s stays 2 */
  limify_format_headers(&d, LIMIFY_HEADERS_RETRY_AFTER, buf, sizeof(buf));
  EXPECT_STREQ(buf, "Retry-After: 2\r\n");
}

LIMIFY_TEST(retry_after_is_only_for_denied_requests) {
  limify_decision d = allowed_decision();
  char buf[512];
  d.retry_after_us = 5000000;
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_RETRY_AFTER, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "");
}

/* draft-ietf-httpapi-ratelimit-headers-11: RateLimit-Policy (quota and
 * window) and RateLimit (remaining quota and effective window), the policy
 * named after the rule as a Structured-Field String. */
LIMIFY_TEST(ietf_fields_of_an_allowed_request) {
  limify_decision d = allowed_decision();
  char buf[512];
  const char* expected =
      "RateLimit-Policy: \"search\";q=100;w=60\r\n"
      "RateLimit: \"search\";r=42;t=35\r\n";
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_IETF, buf, sizeof(buf)),
                strlen(expected));
  EXPECT_STREQ(buf, expected);
}

/* Denied: the effective window ends when the request may be retried, so
 * Retry-After is never earlier than it. */
LIMIFY_TEST(ietf_fields_of_a_denied_request_end_the_window_at_the_retry) {
  limify_decision d = denied_decision();
  char buf[512];
  const char* expected =
      "X-RateLimit-Limit: 100\r\n"
      "X-RateLimit-Remaining: 0\r\n"
      "X-RateLimit-Reset: 60\r\n"
      "Retry-After: 1\r\n"
      "RateLimit-Policy: \"search\";q=100;w=60\r\n"
      "RateLimit: \"search\";r=0;t=1\r\n";
  limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, buf, sizeof(buf));
  EXPECT_STREQ(buf, expected);
}

LIMIFY_TEST(a_sub_second_window_rounds_up_to_one_second) {
  limify_decision d = allowed_decision();
  char buf[512];
  d.period_us = 250000;
  d.reset_after_us = 0;
  limify_format_headers(&d, LIMIFY_HEADERS_IETF, buf, sizeof(buf));
  EXPECT_STREQ(buf, "RateLimit-Policy: \"search\";q=100;w=1\r\nRateLimit: \"search\";r=42;t=0\r\n");
}

/* After a storage failure the remaining quota is unknown: no field says it. */
LIMIFY_TEST(an_unknown_remaining_is_left_out) {
  limify_decision d = allowed_decision();
  char buf[512];
  d.degraded = 1;
  d.remaining = LIMIFY_UNLIMITED;
  d.reset_after_us = 0;
  limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, buf, sizeof(buf));
  EXPECT_STREQ(buf,
               "X-RateLimit-Limit: 100\r\n"
               "X-RateLimit-Reset: 0\r\n"
               "RateLimit-Policy: \"search\";q=100;w=60\r\n");
}

LIMIFY_TEST(an_unmatched_decision_has_no_headers) {
  limify_decision d = LIMIFY_DECISION_INIT;
  char buf[16];
  d.allowed = 1;
  d.limit = LIMIFY_UNLIMITED;
  d.remaining = LIMIFY_UNLIMITED;
  memset(buf, 'Z', sizeof(buf));
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, buf,
                                      sizeof(buf)),
                0);
  EXPECT_STREQ(buf, "");
}

LIMIFY_TEST(no_flags_no_headers) {
  limify_decision d = denied_decision();
  char buf[16];
  EXPECT_EQ_INT(limify_format_headers(&d, 0, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "");
}

/* snprintf's contract: the full length is returned, as much as fits is
 * written, always NUL-terminated; buf may be NULL when len is 0. */
LIMIFY_TEST(a_small_buffer_gets_a_terminated_prefix_and_the_length_needed) {
  limify_decision d = allowed_decision();
  char full[512];
  char small[10];
  size_t needed = limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, NULL, 0);
  EXPECT_EQ_INT(needed, strlen("X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 42\r\n"
                               "X-RateLimit-Reset: 35\r\n"));
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, small, sizeof(small)), needed);
  EXPECT_STREQ(small, "X-RateLim");
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, full, needed), needed);
  EXPECT_EQ_INT(strlen(full), needed - 1); /* one byte short: the last one is cut */
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, full, needed + 1), needed);
  EXPECT_EQ_INT(strlen(full), needed);
}

LIMIFY_TEST(a_null_or_uninitialised_decision_has_no_headers) {
  limify_decision d = allowed_decision();
  char buf[16];
  EXPECT_EQ_INT(limify_format_headers(NULL, LIMIFY_HEADERS_DEFAULT, buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "");
  d.struct_size = 0;
  EXPECT_EQ_INT(limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT, buf, sizeof(buf)), 0);
}

/* An older caller's decision without period_us and the ids: what it has is
 * used, nothing past it is read. */
LIMIFY_TEST(only_the_declared_prefix_of_the_decision_is_read) {
  limify_decision d = allowed_decision();
  char buf[256];
  d.struct_size = (uint32_t)offsetof(limify_decision, period_us);
  limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, buf, sizeof(buf));
  /* No rule id within the prefix: no policy to name, no IETF fields. */
  EXPECT_STREQ(buf, "X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 42\r\nX-RateLimit-Reset: 35\r\n");
}

LIMIFY_TEST(headers_of_a_real_decision) {
  limify_engine* engine = limify_test_engine(limify_test_manual_config(
      "[{\"id\": \"s\", \"path\": \"/s\", \"rate\": \"2/10s\"}]", ""));
  limify_request r = limify_test_get("/s", "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  char buf[512];
  REQUIRE_ENGINE(engine);
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_OK(limify_check(engine, &r, &d, NULL));
  EXPECT_EQ_INT(d.allowed, 0);
  limify_format_headers(&d, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, buf, sizeof(buf));
  EXPECT_STREQ(buf,
               "X-RateLimit-Limit: 2\r\n"
               "X-RateLimit-Remaining: 0\r\n"
               "X-RateLimit-Reset: 10\r\n"
               "Retry-After: 5\r\n"
               "RateLimit-Policy: \"s\";q=2;w=10\r\n"
               "RateLimit: \"s\";r=0;t=5\r\n");
  limify_engine_free(engine);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(x_ratelimit_headers_of_an_allowed_request),
    LIMIFY_TEST_CASE(a_denied_request_also_gets_retry_after_in_whole_seconds_rounded_up),
    LIMIFY_TEST_CASE(retry_after_is_left_out_when_waiting_cannot_help),
    LIMIFY_TEST_CASE(retry_after_is_only_for_denied_requests),
    LIMIFY_TEST_CASE(ietf_fields_of_an_allowed_request),
    LIMIFY_TEST_CASE(ietf_fields_of_a_denied_request_end_the_window_at_the_retry),
    LIMIFY_TEST_CASE(a_sub_second_window_rounds_up_to_one_second),
    LIMIFY_TEST_CASE(an_unknown_remaining_is_left_out),
    LIMIFY_TEST_CASE(an_unmatched_decision_has_no_headers),
    LIMIFY_TEST_CASE(no_flags_no_headers),
    LIMIFY_TEST_CASE(a_small_buffer_gets_a_terminated_prefix_and_the_length_needed),
    LIMIFY_TEST_CASE(a_null_or_uninitialised_decision_has_no_headers),
    LIMIFY_TEST_CASE(only_the_declared_prefix_of_the_decision_is_read),
    LIMIFY_TEST_CASE(headers_of_a_real_decision),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
