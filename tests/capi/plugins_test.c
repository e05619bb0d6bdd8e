/* limify_list_plugins: the default search path, a configured directory,
 * errors (config, plugin), and the buffer contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The listing in a buffer of exactly the size asked for; free() it. */
static char* list(const char* config, limify_status* status, limify_error* err) {
  size_t needed = 0;
  char* buf;
  *status = limify_list_plugins(config, NULL, 0, &needed, err);
  if (*status != LIMIFY_BUFFER_TOO_SMALL) return NULL;
  buf = (char*)malloc(needed);
  *status = limify_list_plugins(config, buf, needed, &needed, err);
  if (*status != LIMIFY_OK) {
    free(buf);
    return NULL;
  }
  return buf;
}

LIMIFY_TEST(the_default_search_path_lists_the_memory_storage) {
  limify_status status;
  limify_error err;
  char* text = list(NULL, &status, &err);
  EXPECT_STATUS(status, LIMIFY_OK);
  EXPECT_TRUE(text != NULL && text[0] == '[');
  EXPECT_CONTAINS(text, "\"storages\":[\"memory\"]");
  EXPECT_CONTAINS(text, "\"algorithms\":[");
  EXPECT_CONTAINS(text, "\"abi\":\"");
  EXPECT_CONTAINS(text, "limify_memory.so\"");
  free(text);
}

LIMIFY_TEST(a_configured_directory_is_listed_with_its_file) {
  char config[1024];
  limify_status status;
  limify_error err;
  char* text;
  snprintf(config, sizeof(config), "{\"plugin_paths\": [\"%s/quota\"]}", LIMIFY_FIXTURE_DIR);
  text = list(config, &status, &err);
  EXPECT_STATUS(status, LIMIFY_OK);
  EXPECT_CONTAINS(text, "\"name\":\"quota\",\"version\":\"1.0.0\"");
  EXPECT_CONTAINS(text, "\"algorithms\":[\"quota\"]");
  EXPECT_CONTAINS(text, LIMIFY_FIXTURE_DIR "/quota/limify_quota.so");
  free(text);
}

LIMIFY_TEST(a_plugin_that_cannot_be_loaded_is_a_plugin_error_naming_the_file) {
  char config[1024];
  limify_status status;
  limify_error err;
  snprintf(config, sizeof(config), "{\"plugin_paths\": [\"%s/bad_magic\"]}", LIMIFY_FIXTURE_DIR);
  EXPECT_TRUE(list(config, &status, &err) == NULL);
  EXPECT_STATUS(status, LIMIFY_PLUGIN_ERROR);
  EXPECT_CONTAINS(err.message, "bad_magic/bad_magic.so");
}

LIMIFY_TEST(a_bad_configuration_is_a_config_error) {
  limify_status status;
  limify_error err;
  EXPECT_TRUE(list("{\"plugin_paths\": 3}", &status, &err) == NULL);
  EXPECT_STATUS(status, LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "plugin_paths");
}

LIMIFY_TEST(list_plugins_buffer_contract) {
  size_t needed = 0;
  char small[4];
  limify_error err;
  EXPECT_STATUS(limify_list_plugins(NULL, NULL, 0, &needed, &err), LIMIFY_BUFFER_TOO_SMALL);
  EXPECT_TRUE(needed > 2);
  EXPECT_STATUS(limify_list_plugins(NULL, small, sizeof(small), &needed, &err),
                LIMIFY_BUFFER_TOO_SMALL);
  EXPECT_CONTAINS(err.message, "limify_list_plugins: the buffer holds 4 bytes");
  EXPECT_STATUS(limify_list_plugins(NULL, small, sizeof(small), NULL, &err),
                LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_list_plugins: needed is NULL");
  EXPECT_STATUS(limify_list_plugins(NULL, NULL, 5, &needed, &err), LIMIFY_INVALID_ARGUMENT);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(the_default_search_path_lists_the_memory_storage),
    LIMIFY_TEST_CASE(a_configured_directory_is_listed_with_its_file),
    LIMIFY_TEST_CASE(a_plugin_that_cannot_be_loaded_is_a_plugin_error_naming_the_file),
    LIMIFY_TEST_CASE(a_bad_configuration_is_a_config_error),
    LIMIFY_TEST_CASE(list_plugins_buffer_contract),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
