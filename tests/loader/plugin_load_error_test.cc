// IsPluginLoadError: the marker that lets the C API tell a plugin that could
// not be loaded (LIMIFY_PLUGIN_ERROR) from a configuration error
// (LIMIFY_CONFIG_ERROR) and from other failed preconditions, through
// Engine::Create, CreateFromFile and Reload.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/plugin_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

using ::limify::testing::FixtureDir;
using ::limify::testing::FixtureFile;
using ::limify::testing::ScopedPluginPath;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string WithPluginPaths(const std::string& dir) {
  return absl::StrCat(R"({"plugin_paths": [")", dir,
                      R"("], "rules": [{"id": "a", "path": "/a", "rate": "1/second"}]})");
}

TEST(IsPluginLoadError, MarksOnlyWhatPluginLoadErrorMade) {
  absl::Status load = PluginLoadError("x.so: broken");
  EXPECT_EQ(load.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(load.message(), "x.so: broken");
  EXPECT_TRUE(IsPluginLoadError(load));
  EXPECT_FALSE(IsPluginLoadError(absl::FailedPreconditionError("x.so: broken")));
  EXPECT_FALSE(IsPluginLoadError(absl::InvalidArgumentError("rules[0]")));
  EXPECT_FALSE(IsPluginLoadError(absl::OkStatus()));
}

TEST(IsPluginLoadError, SurvivesAMessagePrefix) {
  absl::Status prefixed = WithMessagePrefix(PluginLoadError("broken"), "cfg.json: ");
  EXPECT_EQ(prefixed.message(), "cfg.json: broken");
  EXPECT_EQ(prefixed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(prefixed));
  EXPECT_TRUE(WithMessagePrefix(absl::OkStatus(), "x").ok());
}

TEST(IsPluginLoadError, EngineCreateMarksABrokenConfiguredPlugin) {
  for (const char* fixture : {"bad_magic", "wrong_major", "null_slot", "not_elf",
                              "missing_entry", "duplicate_name", "short_manifest"}) {
    absl::Status status = Engine::Create(WithPluginPaths(FixtureDir(fixture))).status();
    EXPECT_TRUE(IsPluginLoadError(status)) << fixture << ": " << status;
  }
}

TEST(IsPluginLoadError, EngineCreateMarksABrokenEnvironmentDirectory) {
  ScopedPluginPath env("/nonexistent/from/env");
  absl::Status status =
      Engine::Create(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/second"}]})").status();
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("/nonexistent/from/env"));
}

TEST(IsPluginLoadError, ConfigErrorsAreNotPluginErrors) {
  for (const std::string& config :
       {std::string("{"), std::string(R"({"rules": [{"id": "a", "rate": "1/s"}]})"),
        WithPluginPaths("/nonexistent/limify"),
        std::string(R"({"storage": {"type": "etcd"}, "rules": []})"),
        std::string(R"({"rules": [{"id": "a", "path": "/a", "algorithm": "nope", "rate": "1/s"}]})")}) {
    absl::Status status = Engine::Create(config).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << config << ": " << status;
    EXPECT_FALSE(IsPluginLoadError(status)) << config;
  }
}

TEST(IsPluginLoadError, OtherFailedPreconditionsAreNotPluginErrors) {
  auto engine = Engine::Create(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/second"}]})");
  ASSERT_TRUE(engine.ok()) << engine.status();
  absl::Status clock = (*engine)->SetClock(5);
  EXPECT_EQ(clock.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsPluginLoadError(clock));
}

TEST(IsPluginLoadError, ReloadKeepsTheMarker) {
  auto engine = Engine::Create(R"({"rules": [{"id": "a", "path": "/a", "rate": "1/second"}]})");
  ASSERT_TRUE(engine.ok()) << engine.status();
  absl::Status status = (*engine)->Reload(WithPluginPaths(FixtureDir("null_slot")));
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
}

TEST(IsPluginLoadError, CreateFromFileKeepsTheMarkerAndNamesTheFile) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "limify_plugin_load_error.json").string();
  {
    std::ofstream out(path);
    out << WithPluginPaths(FixtureDir("bad_magic"));
  }
  absl::Status status = Engine::CreateFromFile(path).status();
  std::remove(path.c_str());
  EXPECT_TRUE(IsPluginLoadError(status)) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(path + ": "));
  EXPECT_THAT(std::string(status.message()), HasSubstr(FixtureFile("bad_magic", "bad_magic.so")));
}

}  // namespace
}  // namespace limify
