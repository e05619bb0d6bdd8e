// Plugins load only from directories and files no other user can write: who
// can write there can run code in every process that loads from it.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/plugin_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A private directory holding a copy of the `quota` fixture plugin.
class PluginPermissions : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/limify-perm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    plugin_ = dir_ + "/limify_quota.so";
    fs::copy_file(testing::FixtureFile("quota", "limify_quota.so"), plugin_);
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(plugin_.c_str(), 0644), 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  absl::Status Create() const {
    return Engine::Create(absl::StrCat(R"({"plugin_paths": [")", dir_, R"("], "rules": [
        {"id": "q", "path": "/q", "algorithm": "quota", "rate": "2/second"}]})"))
        .status();
  }

  std::string dir_;
  std::string plugin_;
};

TEST_F(PluginPermissions, PrivateDirectoryLoads) { EXPECT_TRUE(Create().ok()) << Create(); }

TEST_F(PluginPermissions, WorldWritableDirectoryIsRefusedByName) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  const absl::Status status = Create();
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("plugin directory \"" + dir_ + "\""));
  EXPECT_THAT(status.message(), HasSubstr("writable by other users (mode 0777)"));
}

TEST_F(PluginPermissions, StickyWorldWritableDirectoryIsRefusedToo) {
  // Like /tmp: others cannot replace the plugin, but can add their own.
  ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
  EXPECT_THAT(Create().message(), HasSubstr("(mode 1777)"));
}

TEST_F(PluginPermissions, WorldWritablePluginFileIsRefusedByName) {
  ASSERT_EQ(::chmod(plugin_.c_str(), 0666), 0);
  const absl::Status status = Create();
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("plugin \"" + plugin_ + "\" is writable by other users"));
}

TEST_F(PluginPermissions, EnvironmentDirectoryIsCheckedAlike) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0757), 0);
  testing::ScopedPluginPath env(dir_);
  const absl::Status status =
      Engine::Create(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/second"}]})").status();
  EXPECT_THAT(status.message(), HasSubstr(dir_));
  EXPECT_THAT(status.message(), HasSubstr("writable by other users"));
}

}  // namespace
}  // namespace limify
