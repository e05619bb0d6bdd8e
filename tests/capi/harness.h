/* A tiny test harness in C for the C API tests: assertion macros that
 * record a failure and return from the test, and a runner that runs one
 * named test (ctest runs each test function as its own test) or all.
 *
 *   LIMIFY_TEST(name) { ... EXPECT_EQ_INT(a, b); ... }
 *   static const limify_test_case kTests[] = { LIMIFY_TEST_CASE(name), ... };
 *   int main(int argc, char** argv) { return limify_test_main(kTests, N, argc, argv); }
 */
#ifndef LIMIFY_TESTS_CAPI_HARNESS_H_
#define LIMIFY_TESTS_CAPI_HARNESS_H_

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "limify/limify.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct limify_test_case {
  const char* name;
  void (*run)(void);
} limify_test_case;

#define LIMIFY_TEST(name) static void name(void)
#define LIMIFY_TEST_CASE(name) { #name, name }
#define LIMIFY_TEST_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Runs argv[1] (or every test without an argument); 0 when all passed. */
int limify_test_main(const limify_test_case* tests, size_t n, int argc, char** argv);

/* Records a failure of the running test. */
void limify_test_fail(const char* file, int line, const char* fmt, ...);
int limify_test_failed(void);

#define LIMIFY_FAIL_(...)                            \
  do {                                               \
    limify_test_fail(__FILE__, __LINE__, __VA_ARGS__); \
    return;                                          \
  } while (0)

#define EXPECT_TRUE(cond) \
  do {                    \
    if (!(cond)) LIMIFY_FAIL_("expected true: %s", #cond); \
  } while (0)

#define EXPECT_EQ_INT(actual, expected)                                                   \
  do {                                                                                    \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                       \
    if (a_ != e_) LIMIFY_FAIL_("%s == %lld, expected %s == %lld", #actual, a_, #expected, e_); \
  } while (0)

#define EXPECT_STREQ(actual, expected)                                                  \
  do {                                                                                  \
    const char* a_ = (actual);                                                          \
    const char* e_ = (expected);                                                        \
    if (a_ == NULL || strcmp(a_, e_) != 0)                                              \
      LIMIFY_FAIL_("%s is \"%s\", expected \"%s\"", #actual, a_ ? a_ : "(null)", e_);   \
  } while (0)

#define EXPECT_CONTAINS(haystack, needle)                                                  \
  do {                                                                                     \
    const char* h_ = (haystack);                                                           \
    const char* n_ = (needle);                                                             \
    if (h_ == NULL || strstr(h_, n_) == NULL)                                              \
      LIMIFY_FAIL_("%s is \"%s\", which does not contain \"%s\"", #haystack, h_ ? h_ : "(null)", n_); \
  } while (0)

/* A call's status; on a mismatch the failure names both statuses. */
#define EXPECT_STATUS(call, expected)                                                    \
  do {                                                                                   \
    limify_status s_ = (call);                                                           \
    limify_status x_ = (expected);                                                       \
    if (s_ != x_)                                                                        \
      LIMIFY_FAIL_("%s returned %s, expected %s", #call, limify_status_name(s_),         \
                   limify_status_name(x_));                                              \
  } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(call, LIMIFY_OK)

/* Ends the test when a fixture could not be made (the failure is recorded). */
#define REQUIRE_ENGINE(engine) \
  do {                         \
    if ((engine) == NULL) return; \
  } while (0)

/* A flag threads share: set once by one thread, polled by others. */
#define LIMIFY_FLAG_GET(flag) __atomic_load_n(&(flag), __ATOMIC_SEQ_CST)
#define LIMIFY_FLAG_SET(flag, value) __atomic_store_n(&(flag), (value), __ATOMIC_SEQ_CST)

/* ------------------------------------------------------------ fixtures */

/* Creates an engine or fails the test (and returns NULL). */
limify_engine* limify_test_engine(const char* config_json);

/* A config on the memory storage with the manual clock: `rules` is the JSON
 * array, `extra` more top-level members ending with ", " (or ""). Returns a
 * static buffer. */
const char* limify_test_manual_config(const char* rules, const char* extra);

/* A request GET `path` from `user` (NULL: none). */
limify_request limify_test_get(const char* path, const char* user);

#ifdef __cplusplus
}
#endif

#endif /* LIMIFY_TESTS_CAPI_HARNESS_H_ */
