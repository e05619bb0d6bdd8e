// main() of limify_postgres_tests: finds the fixture's server or starts its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/postgres/postgres_test_env.h"

// LeakSanitizer reads this (when the binary is built with it) instead of a
// suppressions file, so it holds however the tests are run. libpqxx 6.4's
// connection_base::exec_prepared hands libpq's PGresult to make_result,
// which first asks the connection for its encoding; when the connection was
// lost during the statement that call throws ("Could not obtain client
// encoding: not connected") and the PGresult (about 2 KB) is never freed.
// The failure tests lose connections mid-statement on purpose.
extern "C" __attribute__((visibility("default"), used)) const char* __lsan_default_suppressions() {
  return "leak:pqxx::connection_base::exec_prepared\n";
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  std::string own_dir;
  if (const char* dir = std::getenv("LIMIFY_PG_FIXTURE_DIR"); dir != nullptr && *dir != '\0') {
    limify::testing::SetFixtureDir(dir);
  } else {
    own_dir = limify::testing::MakeTempDir();
    if (limify::testing::PgLocal("fixture " + own_dir) != 0) {
      std::fprintf(stderr, "could not start PostgreSQL (scripts/pg-local)\n");
      return 1;
    }
    limify::testing::SetFixtureDir(own_dir);
  }
  const int rc = RUN_ALL_TESTS();
  if (!own_dir.empty()) limify::testing::PgLocal("stop " + own_dir);
  return rc;
}
