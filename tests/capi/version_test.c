/* Versions, status names and the struct initialisers. */
#include <string.h>

#include "harness.h"

LIMIFY_TEST(version_of_the_loaded_library_matches_the_header) {
  EXPECT_STREQ(limify_version(), LIMIFY_VERSION);
  EXPECT_EQ_INT(limify_version_number(), LIMIFY_VERSION_NUMBER);
  EXPECT_EQ_INT(LIMIFY_VERSION_NUMBER, LIMIFY_VERSION_MAJOR * 1000000 +
                                           LIMIFY_VERSION_MINOR * 1000 + LIMIFY_VERSION_PATCH);
}

LIMIFY_TEST(every_status_has_a_distinct_name) {
  EXPECT_STREQ(limify_status_name(LIMIFY_OK), "ok");
  EXPECT_STREQ(limify_status_name(LIMIFY_INVALID_ARGUMENT), "invalid_argument");
  EXPECT_STREQ(limify_status_name(LIMIFY_CONFIG_ERROR), "config_error");
  EXPECT_STREQ(limify_status_name(LIMIFY_PLUGIN_ERROR), "plugin_error");
  EXPECT_STREQ(limify_status_name(LIMIFY_STORAGE_ERROR), "storage_error");
  EXPECT_STREQ(limify_status_name(LIMIFY_TIMEOUT), "timeout");
  EXPECT_STREQ(limify_status_name(LIMIFY_NOT_FOUND), "not_found");
  EXPECT_STREQ(limify_status_name(LIMIFY_INTERNAL), "internal");
  EXPECT_STREQ(limify_status_name(LIMIFY_BUFFER_TOO_SMALL), "buffer_too_small");
  EXPECT_STREQ(limify_status_name(LIMIFY_FAILED_PRECONDITION), "failed_precondition");
}

LIMIFY_TEST(an_unknown_status_is_named_unknown) {
  EXPECT_STREQ(limify_status_name(10), "unknown");
  EXPECT_STREQ(limify_status_name(-1), "unknown");
  EXPECT_STREQ(limify_status_name(INT32_MAX), "unknown");
}

LIMIFY_TEST(request_init_zeroes_and_sets_the_size) {
  limify_request r;
  limify_request macro = LIMIFY_REQUEST_INIT;
  memset(&r, 0xAB, sizeof(r));
  limify_request_init(&r);
  EXPECT_EQ_INT(r.struct_size, sizeof(limify_request));
  EXPECT_EQ_INT(r.reserved, 0);
  EXPECT_TRUE(r.method == NULL && r.path == NULL && r.user_id == NULL && r.org_id == NULL &&
              r.api_key == NULL && r.client_ip == NULL && r.plan == NULL);
  EXPECT_EQ_INT(r.cost, 0);
  EXPECT_EQ_INT(macro.struct_size, sizeof(limify_request));
  EXPECT_TRUE(macro.method == NULL && macro.plan == NULL && macro.cost == 0);
  limify_request_init(NULL); /* allowed, does nothing */
}

LIMIFY_TEST(decision_init_zeroes_and_sets_the_size) {
  limify_decision d;
  limify_decision macro = LIMIFY_DECISION_INIT;
  memset(&d, 0xAB, sizeof(d));
  limify_decision_init(&d);
  EXPECT_EQ_INT(d.struct_size, sizeof(limify_decision));
  EXPECT_EQ_INT(d.allowed, 0);
  EXPECT_EQ_INT(d.limit, 0);
  EXPECT_STREQ(d.rule_id, "");
  EXPECT_STREQ(d.plan_id, "");
  EXPECT_EQ_INT(macro.struct_size, sizeof(limify_decision));
  EXPECT_STREQ(macro.rule_id, "");
  limify_decision_init(NULL);
}

LIMIFY_TEST(hooks_init_zeroes_and_sets_the_size) {
  limify_hooks h;
  memset(&h, 0xAB, sizeof(h));
  limify_hooks_init(&h);
  EXPECT_EQ_INT(h.struct_size, sizeof(limify_hooks));
  EXPECT_EQ_INT(h.reserved, 0);
  EXPECT_TRUE(h.ctx == NULL && h.on_decision == NULL && h.on_error == NULL);
  limify_hooks_init(NULL);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(version_of_the_loaded_library_matches_the_header),
    LIMIFY_TEST_CASE(every_status_has_a_distinct_name),
    LIMIFY_TEST_CASE(an_unknown_status_is_named_unknown),
    LIMIFY_TEST_CASE(request_init_zeroes_and_sets_the_size),
    LIMIFY_TEST_CASE(decision_init_zeroes_and_sets_the_size),
    LIMIFY_TEST_CASE(hooks_init_zeroes_and_sets_the_size),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
