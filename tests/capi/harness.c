/* See harness.h. */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

static int g_failed;
static const char* g_current;

void limify_test_fail(const char* file, int line, const char* fmt, ...) {
  va_list args;
  fprintf(stderr, "%s:%d: %s: ", file, line, g_current ? g_current : "?");
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  g_failed = 1;
}

int limify_test_failed(void) { return g_failed; }

static int run_one(const limify_test_case* test) {
  g_failed = 0;
  g_current = test->name;
  test->run();
  fprintf(stderr, "%s %s\n", g_failed ? "FAILED" : "ok    ", test->name);
  return g_failed;
}

int limify_test_main(const limify_test_case* tests, size_t n, int argc, char** argv) {
  size_t i;
  int failures = 0;
  if (argc > 1) {
    for (i = 0; i < n; ++i) {
      if (strcmp(tests[i].name, argv[1]) == 0) return run_one(&tests[i]) ? 1 : 0;
    }
    fprintf(stderr, "no test named %s in this binary\n", argv[1]);
    return 2;
  }
  for (i = 0; i < n; ++i) failures += run_one(&tests[i]);
  return failures ? 1 : 0;
}

limify_engine* limify_test_engine(const char* config_json) {
  limify_engine* engine = NULL;
  limify_error err;
  limify_status s = limify_engine_new(config_json, &engine, &err);
  if (s != LIMIFY_OK) {
    fprintf(stderr, "limify_engine_new: %s: %s\nconfig: %s\n", limify_status_name(s),
            err.message, config_json);
    g_failed = 1;
    return NULL;
  }
  return engine;
}

const char* limify_test_manual_config(const char* rules, const char* extra) {
  static char buf[8192];
  snprintf(buf, sizeof(buf), "{\"clock\": \"manual\", %s\"rules\": %s}", extra, rules);
  return buf;
}

limify_request limify_test_get(const char* path, const char* user) {
  limify_request r = LIMIFY_REQUEST_INIT;
  r.method = "GET";
  r.path = path;
  r.user_id = user;
  return r;
}
