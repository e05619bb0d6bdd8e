/* Engines: creation from JSON and from a file, reload, free, and the errors
 * of each: bad configuration (with its JSON path), missing file, plugins
 * that cannot be loaded (naming the file), truncated messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char* kOneRule =
    "{\"clock\": \"manual\", \"rules\": [{\"id\": \"a\", \"path\": \"/a\", \"rate\": \"2/second\"}]}";

/* Writes `text` to a file under the test directory; returns its path. */
static const char* write_file(const char* name, const char* text) {
  static char path[1024];
  FILE* f;
  snprintf(path, sizeof(path), "%s/%s", LIMIFY_TEST_TMP_DIR, name);
  f = fopen(path, "w");
  if (f == NULL) return NULL;
  fputs(text, f);
  fclose(f);
  return path;
}

static int64_t remaining_after_check(limify_engine* engine, const char* path) {
  limify_request r = limify_test_get(path, "alice");
  limify_decision d = LIMIFY_DECISION_INIT;
  if (limify_check(engine, &r, &d, NULL) != LIMIFY_OK) return -100;
  return d.remaining;
}

LIMIFY_TEST(new_creates_an_engine_and_free_releases_it) {
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_OK(limify_engine_new(kOneRule, &engine, &err));
  EXPECT_TRUE(engine != NULL);
  EXPECT_EQ_INT(err.code, LIMIFY_OK);
  EXPECT_STREQ(err.message, "");
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 1);
  limify_engine_free(engine);
  limify_engine_free(NULL); /* allowed */
}

LIMIFY_TEST(new_refuses_null_arguments) {
  limify_engine* engine = (limify_engine*)&engine; /* must be reset to NULL */
  limify_error err;
  EXPECT_STATUS(limify_engine_new(NULL, &engine, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_new: config_json is NULL");
  EXPECT_TRUE(engine == NULL);
  EXPECT_STATUS(limify_engine_new(kOneRule, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_new: out is NULL");
  EXPECT_STATUS(limify_engine_new_from_file(NULL, &engine, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_new_from_file: path is NULL");
  EXPECT_STATUS(limify_engine_new_from_file("x.json", NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_new_from_file: out is NULL");
  EXPECT_STATUS(limify_engine_new(NULL, NULL, NULL), LIMIFY_INVALID_ARGUMENT);
}

LIMIFY_TEST(a_bad_configuration_is_a_config_error_naming_its_json_path) {
  limify_engine* engine = (limify_engine*)&engine;
  limify_error err;
  EXPECT_STATUS(limify_engine_new("{\"rules\": [{\"id\": \"a\", \"path\": \"/a\", "
                                  "\"rate\": \"5/fortnight\"}]}",
                                  &engine, &err),
                LIMIFY_CONFIG_ERROR);
  EXPECT_TRUE(engine == NULL);
  EXPECT_EQ_INT(err.code, LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "rules[0].rate: ");
  EXPECT_CONTAINS(err.message, "fortnight");
  EXPECT_STATUS(limify_engine_new("{\"rules\": [", &engine, &err), LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "invalid JSON");
  EXPECT_STATUS(limify_engine_new("{\"unknown_key\": 1}", &engine, &err), LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "unknown_key");
}

LIMIFY_TEST(new_from_file_reads_the_configuration) {
  const char* path = write_file("engine_test_config.json", kOneRule);
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_TRUE(path != NULL);
  EXPECT_OK(limify_engine_new_from_file(path, &engine, &err));
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 1);
  limify_engine_free(engine);
}

LIMIFY_TEST(new_from_file_names_a_missing_file) {
  limify_engine* engine = (limify_engine*)&engine;
  limify_error err;
  EXPECT_STATUS(limify_engine_new_from_file("/nonexistent/limify.json", &engine, &err),
                LIMIFY_NOT_FOUND);
  EXPECT_TRUE(engine == NULL);
  EXPECT_CONTAINS(err.message, "/nonexistent/limify.json");
}

LIMIFY_TEST(new_from_file_names_the_file_and_path_of_a_config_error) {
  const char* path = write_file("engine_test_bad.json", "{\"clock\": \"sundial\"}");
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_TRUE(path != NULL);
  EXPECT_STATUS(limify_engine_new_from_file(path, &engine, &err), LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, path);
  EXPECT_CONTAINS(err.message, "clock");
}

LIMIFY_TEST(reload_replaces_the_configuration) {
  limify_engine* engine = limify_test_engine(kOneRule);
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(remaining_after_check(engine, "/b"), LIMIFY_UNLIMITED);
  EXPECT_OK(limify_engine_reload(
      engine,
      "{\"clock\": \"manual\", \"rules\": [{\"id\": \"b\", \"path\": \"/b\", \"rate\": \"9/second\"}]}",
      &err));
  EXPECT_EQ_INT(remaining_after_check(engine, "/b"), 8);
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), LIMIFY_UNLIMITED);
  limify_engine_free(engine);
}

LIMIFY_TEST(a_bad_reload_is_a_config_error_and_keeps_the_old_configuration) {
  limify_engine* engine = limify_test_engine(kOneRule);
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 1);
  EXPECT_STATUS(limify_engine_reload(engine, "{\"rules\": 7}", &err), LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "rules");
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 0); /* same rule, same state */
  EXPECT_STATUS(limify_engine_reload(NULL, kOneRule, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_reload: engine is NULL");
  EXPECT_STATUS(limify_engine_reload(engine, NULL, &err), LIMIFY_INVALID_ARGUMENT);
  EXPECT_STREQ(err.message, "limify_engine_reload: config_json is NULL");
  limify_engine_free(engine);
}

/* A config whose plugin directory holds one fixture case. */
static const char* plugin_config(const char* dir) {
  static char buf[2048];
  snprintf(buf, sizeof(buf),
           "{\"plugin_paths\": [\"%s\"], \"rules\": [{\"id\": \"a\", \"path\": \"/a\", "
           "\"rate\": \"1/second\"}]}",
           dir);
  return buf;
}

static const char* fixture(const char* name) {
  static char buf[1024];
  snprintf(buf, sizeof(buf), "%s/%s", LIMIFY_FIXTURE_DIR, name);
  return buf;
}

LIMIFY_TEST(a_plugin_without_its_entry_symbol_is_a_plugin_error_naming_the_file) {
  limify_engine* engine = (limify_engine*)&engine;
  limify_error err;
  EXPECT_STATUS(limify_engine_new(plugin_config(fixture("missing_entry")), &engine, &err),
                LIMIFY_PLUGIN_ERROR);
  EXPECT_TRUE(engine == NULL);
  EXPECT_CONTAINS(err.message, "missing_entry/missing_entry.so");
  EXPECT_CONTAINS(err.message, "limify_plugin_entry");
}

LIMIFY_TEST(a_file_that_is_not_a_library_is_a_plugin_error_naming_the_file) {
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_STATUS(limify_engine_new(plugin_config(fixture("not_elf")), &engine, &err),
                LIMIFY_PLUGIN_ERROR);
  EXPECT_CONTAINS(err.message, "not_elf/garbage.so");
}

LIMIFY_TEST(a_plugin_of_another_abi_is_a_plugin_error) {
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_STATUS(limify_engine_new(plugin_config(fixture("wrong_major")), &engine, &err),
                LIMIFY_PLUGIN_ERROR);
  EXPECT_CONTAINS(err.message, "wrong_major.so");
}

LIMIFY_TEST(a_plugin_error_in_a_config_file_is_still_a_plugin_error) {
  const char* path = write_file("engine_test_plugin.json", plugin_config(fixture("bad_magic")));
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_TRUE(path != NULL);
  EXPECT_STATUS(limify_engine_new_from_file(path, &engine, &err), LIMIFY_PLUGIN_ERROR);
  EXPECT_CONTAINS(err.message, path);
  EXPECT_CONTAINS(err.message, "bad_magic.so");
}

LIMIFY_TEST(a_reload_with_a_broken_plugin_is_a_plugin_error_and_keeps_the_old_configuration) {
  limify_engine* engine = limify_test_engine(kOneRule);
  limify_error err;
  REQUIRE_ENGINE(engine);
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 1);
  EXPECT_STATUS(limify_engine_reload(engine, plugin_config(fixture("null_manifest")), &err),
                LIMIFY_PLUGIN_ERROR);
  EXPECT_CONTAINS(err.message, "null_manifest.so");
  EXPECT_EQ_INT(remaining_after_check(engine, "/a"), 0);
  limify_engine_free(engine);
}

/* $LIMIFY_PLUGIN_PATH names a directory that is not there: the plugins
 * cannot be loaded. */
LIMIFY_TEST(a_missing_plugin_directory_is_a_plugin_error) {
  limify_engine* engine = NULL;
  limify_error err;
  setenv("LIMIFY_PLUGIN_PATH", "/nonexistent/limify/plugins", 1);
  EXPECT_STATUS(limify_engine_new(kOneRule, &engine, &err), LIMIFY_PLUGIN_ERROR);
  unsetenv("LIMIFY_PLUGIN_PATH");
  EXPECT_CONTAINS(err.message, "/nonexistent/limify/plugins");
}

/* In the configuration, the same directory is a mistake in the config. */
LIMIFY_TEST(a_missing_configured_plugin_directory_is_a_config_error) {
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_STATUS(limify_engine_new(plugin_config("/nonexistent/limify/plugins"), &engine, &err),
                LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "plugin_paths[0]");
}

LIMIFY_TEST(an_unknown_storage_is_a_config_error) {
  limify_engine* engine = NULL;
  limify_error err;
  EXPECT_STATUS(limify_engine_new("{\"storage\": {\"type\": \"floppy\"}}", &engine, &err),
                LIMIFY_CONFIG_ERROR);
  EXPECT_CONTAINS(err.message, "floppy");
}

/* A message longer than the error's buffer is cut on a character boundary
 * and stays NUL-terminated. */
LIMIFY_TEST(a_long_message_is_truncated_to_whole_characters) {
  char config[4096];
  char id[1024];
  limify_engine* engine = NULL;
  limify_error err;
  size_t i, n;
  /* "a" then 400 two-byte characters: the 511-byte cut lands inside one. */
  strcpy(id, "a");
  for (i = 0; i < 400; ++i) strcat(id, "\xC3\xA9");
  snprintf(config, sizeof(config),
           "{\"rules\": [{\"id\": \"%s\", \"path\": \"/a\", \"rate\": \"1/second\"}]}", id);
  memset(err.message, 'Z', sizeof(err.message));
  EXPECT_STATUS(limify_engine_new(config, &engine, &err), LIMIFY_CONFIG_ERROR);
  n = strnlen(err.message, sizeof(err.message));
  EXPECT_TRUE(n < sizeof(err.message)); /* NUL-terminated */
  EXPECT_TRUE(n >= sizeof(err.message) - 4);
  EXPECT_CONTAINS(err.message, "rules[0].id: invalid id \"a\xC3\xA9");
  /* No sequence is cut: the text ends with a whole "é". */
  EXPECT_TRUE((unsigned char)err.message[n - 2] == 0xC3 && (unsigned char)err.message[n - 1] == 0xA9);
}

static const limify_test_case kTests[] = {
    LIMIFY_TEST_CASE(new_creates_an_engine_and_free_releases_it),
    LIMIFY_TEST_CASE(new_refuses_null_arguments),
    LIMIFY_TEST_CASE(a_bad_configuration_is_a_config_error_naming_its_json_path),
    LIMIFY_TEST_CASE(new_from_file_reads_the_configuration),
    LIMIFY_TEST_CASE(new_from_file_names_a_missing_file),
    LIMIFY_TEST_CASE(new_from_file_names_the_file_and_path_of_a_config_error),
    LIMIFY_TEST_CASE(reload_replaces_the_configuration),
    LIMIFY_TEST_CASE(a_bad_reload_is_a_config_error_and_keeps_the_old_configuration),
    LIMIFY_TEST_CASE(a_plugin_without_its_entry_symbol_is_a_plugin_error_naming_the_file),
    LIMIFY_TEST_CASE(a_file_that_is_not_a_library_is_a_plugin_error_naming_the_file),
    LIMIFY_TEST_CASE(a_plugin_of_another_abi_is_a_plugin_error),
    LIMIFY_TEST_CASE(a_plugin_error_in_a_config_file_is_still_a_plugin_error),
    LIMIFY_TEST_CASE(a_reload_with_a_broken_plugin_is_a_plugin_error_and_keeps_the_old_configuration),
    LIMIFY_TEST_CASE(a_missing_plugin_directory_is_a_plugin_error),
    LIMIFY_TEST_CASE(a_missing_configured_plugin_directory_is_a_config_error),
    LIMIFY_TEST_CASE(an_unknown_storage_is_a_config_error),
    LIMIFY_TEST_CASE(a_long_message_is_truncated_to_whole_characters),
};

int main(int argc, char** argv) {
  return limify_test_main(kTests, LIMIFY_TEST_COUNT(kTests), argc, argv);
}
