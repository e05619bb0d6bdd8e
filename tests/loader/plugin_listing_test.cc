// ListPlugins: what a configuration would load, on the same search path as
// Engine::Create, and how its errors are told apart.
#include "engine/plugin_listing.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/plugin_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "limify/plugin.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

using ::limify::testing::FixtureDir;
using ::limify::testing::FixtureFile;
using ::limify::testing::ScopedPluginPath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string WithPluginPaths(const std::string& dir) {
  return absl::StrCat(R"({"plugin_paths": [")", dir, R"("], "rules": []})");
}

const PluginInfo* Find(const std::vector<PluginInfo>& plugins, std::string_view name) {
  for (const PluginInfo& p : plugins) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TEST(ListPlugins, WithoutConfigListsTheDefaultDirectory) {
  ScopedPluginPath env(std::nullopt);
  auto plugins = ListPlugins("");
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  const PluginInfo* memory = Find(*plugins, "limify_memory");
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->file, std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/limify_memory.so");
  EXPECT_EQ(memory->abi, absl::StrCat(LIMIFY_PLUGIN_ABI_MAJOR, ".", LIMIFY_PLUGIN_ABI_MINOR));
  EXPECT_THAT(memory->storages, ElementsAre("memory"));
  EXPECT_THAT(memory->algorithms, IsEmpty());
  EXPECT_FALSE(memory->version.empty());
  for (const PluginInfo& p : *plugins) {
    EXPECT_THAT(p.file, ::testing::StartsWith(LIMIFY_BUILD_PLUGIN_DIR)) << p.file;
  }
}

TEST(ListPlugins, ConfiguredDirectoriesComeFirstThenTheEnvironment) {
  ScopedPluginPath env(FixtureDir("two_storages"));
  auto plugins = ListPlugins(WithPluginPaths(FixtureDir("quota")));
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  ASSERT_GE(plugins->size(), 2u);
  const PluginInfo& quota = (*plugins)[0];
  EXPECT_EQ(quota.name, "quota");
  EXPECT_EQ(quota.version, "1.0.0");
  EXPECT_EQ(quota.file, FixtureFile("quota", "limify_quota.so"));
  EXPECT_THAT(quota.algorithms, ElementsAre("quota"));
  EXPECT_THAT(quota.storages, IsEmpty());
  EXPECT_EQ((*plugins)[1].name, "two_storages");
  EXPECT_THAT((*plugins)[1].storages, ElementsAre("void_b", "void_a"));
  EXPECT_NE(Find(*plugins, "limify_memory"), nullptr) << "then the default directory";
}

TEST(ListPlugins, ReportsTheAbiThePluginWasBuiltAgainst) {
  ScopedPluginPath env(std::nullopt);
  auto plugins = ListPlugins(WithPluginPaths(
      FixtureDir("abi10_storage")));
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  const PluginInfo* old = Find(*plugins, "abi10_storage");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->abi, absl::StrCat(LIMIFY_PLUGIN_ABI_MAJOR, ".0"));
}

TEST(ListPlugins, ConfigErrorsAreInvalidArgumentWithTheJsonPath) {
  absl::Status bad_field = ListPlugins(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/fortnight"}]})").status();
  EXPECT_EQ(bad_field.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_field.message()), HasSubstr("rules[0].rate"));
  EXPECT_FALSE(IsPluginLoadError(bad_field));

  absl::Status missing_dir = ListPlugins(WithPluginPaths("/nonexistent/limify")).status();
  EXPECT_EQ(missing_dir.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing_dir.message()),
              HasSubstr("plugin_paths[0]: directory \"/nonexistent/limify\""));
  EXPECT_FALSE(IsPluginLoadError(missing_dir));

  EXPECT_EQ(ListPlugins("{not json").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ListPlugins, LoadFailuresArePluginLoadErrors) {
  absl::Status status = ListPlugins(WithPluginPaths(FixtureDir("bad_magic"))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(FixtureFile("bad_magic", "bad_magic.so")));

  ScopedPluginPath env("/nonexistent/from/env");
  absl::Status env_status = ListPlugins("").status();
  EXPECT_TRUE(IsPluginLoadError(env_status)) << env_status;
}

}  // namespace
}  // namespace limify
