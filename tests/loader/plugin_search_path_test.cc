// PluginSearchPath and DefaultPluginDir: the order of the plugin directories
// (config, $LIMIFY_PLUGIN_PATH, default), de-duplication, that the
// environment variable is honoured by a real Load, and where the default
// directory is for a binary in the build tree, in an install, and in an
// install moved elsewhere.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/plugin_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

using ::limify::testing::FixtureDir;
using ::limify::testing::ScopedPluginPath;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// The default directory exists in a build that has built any plugin; tests
// that need it to exist create it (it is the build tree's own directory).
std::string ExistingDefaultDir() {
  std::filesystem::create_directories(LIMIFY_BUILD_PLUGIN_DIR);
  return LIMIFY_BUILD_PLUGIN_DIR;
}

TEST(DefaultPluginDir, IsTheBuildTreesWhenRunningFromTheBuildTree) {
  // This test binary lives in the build tree.
  EXPECT_EQ(DefaultPluginDir(), LIMIFY_BUILD_PLUGIN_DIR);
}

// A fresh directory outside the build tree standing for an install prefix's
// lib directory; removed on exit.
class FakeInstall {
 public:
  FakeInstall() {
    lib_ = std::filesystem::temp_directory_path() /
           ("limify_fake_install_" + std::to_string(::getpid())) / "lib";
    std::filesystem::remove_all(lib_.parent_path());
    std::filesystem::create_directories(lib_);
  }
  ~FakeInstall() { std::filesystem::remove_all(lib_.parent_path()); }
  std::string library() const { return (lib_ / "liblimify.so.0").string(); }
  std::string plugins() const { return (lib_ / "limify" / "plugins").string(); }

 private:
  std::filesystem::path lib_;
};

bool InsideBuildTree(const std::string& path) {
  return path.rfind(std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/../", 0) == 0 ||
         std::filesystem::weakly_canonical(path).string().rfind(
             std::filesystem::weakly_canonical(std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/..")
                 .string(),
             0) == 0;
}

TEST(DefaultPluginDirFor, ABinaryInTheBuildTreeUsesTheBuildsDirectory) {
  EXPECT_EQ(DefaultPluginDirFor(std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/../capi/liblimify.so"),
            LIMIFY_BUILD_PLUGIN_DIR);
}

TEST(DefaultPluginDirFor, AnInstalledLibraryUsesThePluginsBesideIt) {
  FakeInstall install;
  if (InsideBuildTree(install.library())) GTEST_SKIP() << "the temp dir is in the build tree";
  std::filesystem::create_directories(install.plugins());
  EXPECT_EQ(DefaultPluginDirFor(install.library()), install.plugins());
}

TEST(DefaultPluginDirFor, WithoutPluginsBesideItTheCompiledInDirectory) {
  FakeInstall install;
  if (InsideBuildTree(install.library())) GTEST_SKIP() << "the temp dir is in the build tree";
  EXPECT_EQ(DefaultPluginDirFor(install.library()), InstalledPluginDir());
  // A file of that name is not a plugin directory.
  std::filesystem::create_directories(std::filesystem::path(install.plugins()).parent_path());
  std::ofstream(install.plugins()) << "not a directory";
  EXPECT_EQ(DefaultPluginDirFor(install.library()), InstalledPluginDir());
}

TEST(DefaultPluginDirFor, AnUnknownLocationUsesTheCompiledInDirectory) {
  EXPECT_EQ(DefaultPluginDirFor(""), InstalledPluginDir());
  EXPECT_THAT(InstalledPluginDir(), ::testing::EndsWith("/limify/plugins"));
}

TEST(PluginSearchPath, ConfigThenEnvironmentThenDefault) {
  std::string fallback = ExistingDefaultDir();
  ScopedPluginPath env(FixtureDir("two_storages") + ":" + FixtureDir("bad_name"));
  EXPECT_THAT(PluginSearchPath({FixtureDir("quota"), FixtureDir("null_slot")}),
              ElementsAre(FixtureDir("quota"), FixtureDir("null_slot"),
                          FixtureDir("two_storages"), FixtureDir("bad_name"),
                          fallback));
}

TEST(PluginSearchPath, IgnoresEmptyEnvironmentEntries) {
  std::string fallback = ExistingDefaultDir();
  ScopedPluginPath env("::" + FixtureDir("quota") + "::");
  EXPECT_THAT(PluginSearchPath({}), ElementsAre(FixtureDir("quota"), fallback));
}

TEST(PluginSearchPath, WithoutEnvironmentIsConfigThenDefault) {
  std::string fallback = ExistingDefaultDir();
  ScopedPluginPath env(std::nullopt);
  EXPECT_THAT(PluginSearchPath({FixtureDir("quota")}),
              ElementsAre(FixtureDir("quota"), fallback));
}

TEST(PluginSearchPath, ListsADirectoryOnceAtItsFirstPlaceAsFirstSpelled) {
  std::string fallback = ExistingDefaultDir();
  std::string quota = FixtureDir("quota");
  ScopedPluginPath env(quota + "/:" + fallback + "/.:" + quota);
  EXPECT_THAT(PluginSearchPath({quota + "/../quota", FixtureDir("bad_name"),
                                quota, fallback}),
              ElementsAre(quota + "/../quota", FixtureDir("bad_name"), fallback));
}

TEST(PluginSearchPath, KeepsMissingConfiguredDirectoriesForLoadToReport) {
  ScopedPluginPath env("/nonexistent/from/env");
  std::vector<std::string> path = PluginSearchPath({"/nonexistent/from/config"});
  ASSERT_GE(path.size(), 2u);
  EXPECT_EQ(path[0], "/nonexistent/from/config");
  EXPECT_EQ(path[1], "/nonexistent/from/env");
  auto registry = PluginRegistry::Load(path);
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(std::string(registry.status().message()),
            "plugin directory \"/nonexistent/from/config\" does not exist");
}

TEST(PluginSearchPath, EnvironmentDirectoryIsLoaded) {
  ScopedPluginPath env(FixtureDir("quota"));
  std::vector<std::string> path = PluginSearchPath({FixtureDir("two_storages")});
  ASSERT_GE(path.size(), 2u);
  // Without the default directory: its plugins are not this test's business.
  path.resize(2);
  auto registry = PluginRegistry::Load(path);
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_NE((*registry)->FindAlgorithm("quota"), nullptr);
  EXPECT_NE((*registry)->FindStorage("void_a"), nullptr);
  EXPECT_THAT((*registry)->dirs(), ElementsAreArray(path));
}

}  // namespace
}  // namespace limify
