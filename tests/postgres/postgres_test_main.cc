// main() of limify_postgres_tests: finds the fixture's server or starts its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/postgres/postgres_test_env.h"

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
