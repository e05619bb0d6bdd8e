// main() of limify_redis_tests: finds the fixture's servers or starts its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/redis/redis_test_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  std::string own_dir;
  if (const char* dir = std::getenv("LIMIFY_REDIS_FIXTURE_DIR"); dir != nullptr && *dir != '\0') {
    limify::testing::SetFixtureDir(dir);
  } else {
    own_dir = limify::testing::MakeTempDir() + "/fixture";
    if (limify::testing::RedisLocal("fixture " + own_dir) != 0) {
      std::fprintf(stderr, "could not start the Redis servers (scripts/redis-local)\n");
      return 1;
    }
    limify::testing::SetFixtureDir(own_dir);
  }
  const int rc = RUN_ALL_TESTS();
  if (!own_dir.empty()) {
    limify::testing::RedisLocal("stop " + own_dir);
    ::rmdir(own_dir.substr(0, own_dir.rfind('/')).c_str());  // the mkdtemp parent
  }
  return rc;
}
