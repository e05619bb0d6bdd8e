// PluginRegistry::Load against the fixture plugins of tests/fixtures: one
// test per way a plugin can break the contract, the good third-party plugin,
// and how long libraries stay loaded.
#include "engine/plugin_registry.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/plugin_error.h"
#include "engine/plugin_validation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/loader/fixture_paths.h"

namespace limify {
namespace {

using ::limify::testing::FixtureDir;
using ::limify::testing::FixtureFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Loads one fixture directory and returns the status it was refused with.
absl::Status LoadError(std::string_view fixture_case) {
  absl::StatusOr<std::unique_ptr<PluginRegistry>> registry =
      PluginRegistry::Load({FixtureDir(fixture_case)});
  EXPECT_FALSE(registry.ok()) << fixture_case << " was not refused";
  if (registry.ok()) return absl::OkStatus();
  EXPECT_TRUE(IsPluginLoadError(registry.status())) << registry.status();
  return registry.status();
}

// Is the library at `path` mapped into this process right now?
bool IsLoaded(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle != nullptr) dlclose(handle);
  return handle != nullptr;
}

// ---------------------------------------------------------------- refusals

TEST(PluginRegistryRefuses, FileTheLoaderCannotOpenWithTheLoadersReason) {
  absl::Status s = LoadError("not_elf");
  std::string file = FixtureFile("not_elf", "garbage.so");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), StartsWith(file + ": cannot be loaded: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("invalid ELF header"));
}

TEST(PluginRegistryRefuses, LibraryWithAnUndefinedSymbolAtLoadTime) {
  // RTLD_NOW: lazily bound, this library would load and fail at first use.
  absl::Status s = LoadError("undefined_symbol");
  std::string file = FixtureFile("undefined_symbol", "undefined_symbol.so");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), StartsWith(file + ": cannot be loaded: "));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("undefined symbol: limify_fixture_function_nobody_defines"));
}

TEST(PluginRegistryRefuses, LibraryWithoutTheEntrySymbol) {
  absl::Status s = LoadError("missing_entry");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("missing_entry", "missing_entry.so") +
                ": not a limify plugin: no \"limify_plugin_entry\" symbol");
}

TEST(PluginRegistryRefuses, EntryThatReturnsNull) {
  absl::Status s = LoadError("null_manifest");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("null_manifest", "null_manifest.so") +
                ": \"limify_plugin_entry\" returned NULL: the plugin refused "
                "to load");
}

TEST(PluginRegistryRefuses, ManifestWithWrongMagic) {
  absl::Status s = LoadError("bad_magic");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("bad_magic", "bad_magic.so") +
                ": not a limify plugin: manifest magic is 0x59464D4C, "
                "expected 0x4C4D4659");
}

TEST(PluginRegistryRefuses, OtherAbiMajorVersionNamingBothVersions) {
  absl::Status s = LoadError("wrong_major");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("wrong_major", "wrong_major.so") +
                absl::StrCat(": plugin ABI version ", LIMIFY_PLUGIN_ABI_MAJOR + 1,
                             ".0 is incompatible with the engine's ABI version ",
                             LIMIFY_PLUGIN_ABI_MAJOR, ".", LIMIFY_PLUGIN_ABI_MINOR,
                             " (major versions differ)"));
}

TEST(PluginRegistryRefuses, ManifestShorterThanV1) {
  absl::Status s = LoadError("short_manifest");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("short_manifest", "short_manifest.so") +
                absl::StrCat(": manifest struct_size ",
                             offsetof(limify_plugin_manifest, n_algorithms),
                             " is smaller than the ", kManifestV1Size,
                             " bytes of a v1.0 manifest"));
}

TEST(PluginRegistryRefuses, AlgorithmWithANullRequiredFunctionNamingTheSlot) {
  absl::Status s = LoadError("null_slot");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("null_slot", "null_slot.so") +
                ": algorithm \"null_slot\": required function \"step\" is NULL");
}

TEST(PluginRegistryRefuses, AlgorithmWithAnInvalidName) {
  absl::Status s = LoadError("bad_name");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            FixtureFile("bad_name", "bad_name.so") +
                ": algorithm name \"Bad Name!\" is invalid: expected [a-z0-9_]+");
}

TEST(PluginRegistryRefuses, NameProvidedByTwoFilesNamingBoth) {
  absl::Status s = LoadError("duplicate_name");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            "algorithm \"twin\" is provided by both " +
                FixtureFile("duplicate_name", "twin_a.so") + " and " +
                FixtureFile("duplicate_name", "twin_b.so"));
}

TEST(PluginRegistryRefuses, NameProvidedByFilesInTwoDirectories) {
  // A second directory offering the same plugin (a symlink to it here)
  // clashes, and the message names both paths.
  std::string dir =
      (std::filesystem::path(::testing::TempDir()) / "limify_second_quota")
          .lexically_normal()
          .string();
  std::string link = dir + "/limify_quota.so";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_symlink(FixtureFile("quota", "limify_quota.so"), link);
  auto registry = PluginRegistry::Load({FixtureDir("quota"), dir});
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(registry.status()));
  EXPECT_EQ(std::string(registry.status().message()),
            "algorithm \"quota\" is provided by both " +
                FixtureFile("quota", "limify_quota.so") + " and " + link);
  std::filesystem::remove_all(dir);
}

TEST(PluginRegistryRefuses, MissingDirectoryNamingIt) {
  auto registry = PluginRegistry::Load({"/nonexistent/limify/plugins"});
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(registry.status()));
  EXPECT_EQ(std::string(registry.status().message()),
            "plugin directory \"/nonexistent/limify/plugins\" does not exist");
}

TEST(PluginRegistryRefuses, PathThatIsAFileNotADirectory) {
  std::string file = FixtureFile("quota", "limify_quota.so");
  auto registry = PluginRegistry::Load({file});
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(registry.status()));
  EXPECT_EQ(std::string(registry.status().message()),
            "plugin directory \"" + file + "\" is not a directory");
}

TEST(PluginRegistryRefuses, WholeLoadWhenOneDirectoryIsBroken) {
  // quota is sound, null_slot is not: nothing is half-loaded.
  auto registry =
      PluginRegistry::Load({FixtureDir("quota"), FixtureDir("null_slot")});
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(std::string(registry.status().message()),
              HasSubstr(FixtureFile("null_slot", "null_slot.so")));
  EXPECT_FALSE(IsLoaded(FixtureFile("quota", "limify_quota.so")));
  EXPECT_FALSE(IsLoaded(FixtureFile("null_slot", "null_slot.so")));
}

// ------------------------------------------------------------ good plugins

TEST(PluginRegistryLoads, ThirdPartyCAlgorithmAndStepsItThroughItsVtable) {
  auto registry = PluginRegistry::Load({FixtureDir("quota")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  const limify_algorithm* quota = (*registry)->FindAlgorithm("quota");
  ASSERT_NE(quota, nullptr);
  EXPECT_THAT((*registry)->AlgorithmNames(), ElementsAre("quota"));
  EXPECT_THAT((*registry)->StorageNames(), IsEmpty());

  limify_limit_spec spec = {sizeof(spec), 0, 3, 1'000'000, 0};
  ASSERT_EQ(quota->state_size(&spec), 16u);
  unsigned char state[16] = {};
  limify_verdict v = {};
  v.struct_size = sizeof(v);
  limify_plugin_error err;
  ASSERT_EQ(quota->step(&spec, state, sizeof(state), 5'000'000, 1, 0, &v, &err),
            LIMIFY_PLUGIN_OK);
  EXPECT_EQ(v.allowed, 1u);
  EXPECT_EQ(v.remaining, 2);
  EXPECT_EQ(v.reset_after_us, 1'000'000);
}

TEST(PluginRegistryLoads, StoragesAndListsNamesSorted) {
  auto registry =
      PluginRegistry::Load({FixtureDir("two_storages"), FixtureDir("quota")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  // The plugin lists void_b first.
  EXPECT_THAT((*registry)->StorageNames(), ElementsAre("void_a", "void_b"));
  EXPECT_THAT((*registry)->AlgorithmNames(), ElementsAre("quota"));
  const limify_storage* storage = (*registry)->FindStorage("void_a");
  ASSERT_NE(storage, nullptr);
  EXPECT_STREQ(storage->name, "void_a");
  EXPECT_EQ((*registry)->FindStorage("quota"), nullptr);
  EXPECT_EQ((*registry)->FindAlgorithm("void_a"), nullptr);
  EXPECT_EQ((*registry)->FindAlgorithm("nope"), nullptr);
}

TEST(PluginRegistryLoads, DescribesEveryLoadedFileInLoadOrder) {
  auto registry =
      PluginRegistry::Load({FixtureDir("two_storages"), FixtureDir("quota")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  const auto& plugins = (*registry)->plugins();
  ASSERT_EQ(plugins.size(), 2u);
  EXPECT_EQ(plugins[0].file, FixtureFile("two_storages", "two_storages.so"));
  EXPECT_EQ(plugins[0].name, "two_storages");
  EXPECT_EQ(plugins[0].version, "0.0.0");
  EXPECT_EQ(plugins[0].abi_major, LIMIFY_PLUGIN_ABI_MAJOR);
  EXPECT_EQ(plugins[0].abi_minor, LIMIFY_PLUGIN_ABI_MINOR);
  EXPECT_THAT(plugins[0].storages, ElementsAre("void_b", "void_a"));  // manifest order
  EXPECT_THAT(plugins[0].algorithms, IsEmpty());
  EXPECT_EQ(plugins[1].file, FixtureFile("quota", "limify_quota.so"));
  EXPECT_EQ(plugins[1].name, "quota");
  EXPECT_EQ(plugins[1].version, "1.0.0");
  EXPECT_THAT(plugins[1].algorithms, ElementsAre("quota"));
}

TEST(PluginRegistryLoads, PluginErrorsThroughTheHostApi) {
  // The plugin calls host->set_error; the host copies the text.
  auto registry = PluginRegistry::Load({FixtureDir("two_storages")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  const limify_storage* storage = (*registry)->FindStorage("void_b");
  ASSERT_NE(storage, nullptr);
  limify_plugin_error err;
  limify_verdict v = {};
  int32_t code = storage->execute(nullptr, nullptr, &v, &err);
  absl::Status s = PluginStatus(code, err, "storage \"void_b\"");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(s.message()), "storage \"void_b\": void storage keeps nothing");
}

TEST(PluginRegistryLoads, NothingFromNoDirectories) {
  auto registry = PluginRegistry::Load({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT((*registry)->AlgorithmNames(), IsEmpty());
  EXPECT_THAT((*registry)->dirs(), IsEmpty());
}

TEST(PluginRegistryLoads, SameDirectoryListedTwiceOnce) {
  std::string dir = FixtureDir("quota");
  auto registry = PluginRegistry::Load({dir, dir + "/", dir + "/../quota"});
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT((*registry)->dirs(), ElementsAre(dir));
}

// ------------------------------------------------------- library lifetime

TEST(PluginRegistryLifetime, LibraryStaysLoadedUntilTheRegistryIsDestroyed) {
  std::string file = FixtureFile("quota", "limify_quota.so");
  ASSERT_FALSE(IsLoaded(file));
  auto registry = PluginRegistry::Load({FixtureDir("quota")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_TRUE(IsLoaded(file));
  registry->reset();
  EXPECT_FALSE(IsLoaded(file));
}

TEST(PluginRegistryLifetime, RefusedLibraryIsUnloaded) {
  // The entry was called, so the library was open when validation refused it.
  EXPECT_FALSE(LoadError("null_slot").ok());
  EXPECT_FALSE(IsLoaded(FixtureFile("null_slot", "null_slot.so")));
}

TEST(PluginRegistryLifetime, PluginSymbolsStayOutOfTheGlobalNamespace) {
  // RTLD_LOCAL: one plugin's symbols cannot satisfy another's references.
  auto registry = PluginRegistry::Load({FixtureDir("quota")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ(dlsym(RTLD_DEFAULT, LIMIFY_PLUGIN_ENTRY_SYMBOL), nullptr);
}

TEST(PluginRegistryLifetime, TwoRegistriesShareALibraryIndependently) {
  auto first = PluginRegistry::Load({FixtureDir("quota")});
  auto second = PluginRegistry::Load({FixtureDir("quota")});
  ASSERT_TRUE(first.ok() && second.ok());
  first->reset();
  const limify_algorithm* quota = (*second)->FindAlgorithm("quota");
  ASSERT_NE(quota, nullptr);
  limify_limit_spec spec = {sizeof(spec), 0, 1, 1'000'000, 0};
  limify_plugin_error err;
  EXPECT_EQ(quota->validate(&spec, &err), LIMIFY_PLUGIN_OK);
}

TEST(PluginRegistryLifetime, KeepsWorkingAfterManyLoadDestroyCycles) {
  limify_limit_spec spec = {sizeof(spec), 0, 2, 1'000'000, 0};
  for (int i = 0; i < 200; ++i) {
    auto registry =
        PluginRegistry::Load({FixtureDir("quota"), FixtureDir("two_storages")});
    ASSERT_TRUE(registry.ok()) << "cycle " << i << ": " << registry.status();
    const limify_algorithm* quota = (*registry)->FindAlgorithm("quota");
    ASSERT_NE(quota, nullptr) << "cycle " << i;
    unsigned char state[16] = {};
    limify_verdict v = {};
    v.struct_size = sizeof(v);
    limify_plugin_error err;
    ASSERT_EQ(quota->step(&spec, state, sizeof(state), i, 1, 0, &v, &err),
              LIMIFY_PLUGIN_OK);
    ASSERT_EQ(v.remaining, 1) << "cycle " << i;
    // A refused Load in between must not disturb the next one.
    ASSERT_FALSE(PluginRegistry::Load({FixtureDir("bad_magic")}).ok());
  }
  EXPECT_FALSE(IsLoaded(FixtureFile("quota", "limify_quota.so")));
}

}  // namespace
}  // namespace limify
