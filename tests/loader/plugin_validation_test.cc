// ValidateManifest on manifests built in memory: the checks no fixture file
// covers (storages, NULL arrays and entries, short vtables, NULL names) and
// the growth rules (newer minor versions and longer structs are accepted).
#include "engine/plugin_validation.h"

#include <cstddef>

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/plugin_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace limify {
namespace {

constexpr char kFile[] = "/p/x.so";

int32_t Validate(const limify_limit_spec*, limify_plugin_error*) { return 0; }
size_t StateSize(const limify_limit_spec*) { return 0; }
int32_t Step(const limify_limit_spec*, void*, size_t, int64_t, int64_t, int,
             limify_verdict*, limify_plugin_error*) {
  return 0;
}
int32_t Create(const char*, const limify_storage_env*, void**,
               limify_plugin_error*) {
  return 0;
}
void Destroy(void*) {}
int32_t Execute(void*, const limify_storage_op*, limify_verdict*,
                limify_plugin_error*) {
  return 0;
}
int32_t Remove(void*, const limify_key*, size_t, limify_plugin_error*) {
  return 0;
}

// A sound manifest with one algorithm "algo" and one storage "store"; each
// test breaks one thing.
struct Plugin {
  Plugin() = default;
  Plugin(const Plugin&) = delete;  // the arrays point into this object
  Plugin& operator=(const Plugin&) = delete;

  limify_algorithm algorithm = {sizeof(limify_algorithm), 0, "algo",
                                &Validate, &StateSize, &Step};
  limify_storage storage = {sizeof(limify_storage), 0, "store", &Create,
                            &Destroy, &Execute, &Remove, nullptr, nullptr};
  const limify_algorithm* algorithms[1] = {&algorithm};
  const limify_storage* storages[1] = {&storage};
  limify_plugin_manifest manifest = {
      LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
      sizeof(limify_plugin_manifest), 0, "p", "1.0.0",
      1, algorithms, 1, storages};

  absl::Status Check() const { return ValidateManifest(&manifest, kFile); }
};

void ExpectRefused(const absl::Status& s, const std::string& reason) {
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsPluginLoadError(s)) << s;
  EXPECT_EQ(std::string(s.message()), absl::StrCat(kFile, ": ", reason));
}

TEST(ValidateManifest, AcceptsASoundManifest) {
  Plugin p;
  EXPECT_TRUE(p.Check().ok()) << p.Check();
}

TEST(ValidateManifest, AcceptsANewerMinorVersionWithLongerStructs) {
  // Minor versions append fields; the host reads only the v1.0 ones.
  Plugin p;
  p.manifest.abi_minor = LIMIFY_PLUGIN_ABI_MINOR + 3;
  p.manifest.struct_size += 16;
  p.algorithm.struct_size += 8;
  p.storage.struct_size += 8;
  EXPECT_TRUE(p.Check().ok()) << p.Check();
}

int32_t KeyCount(void*, int64_t* out, limify_plugin_error*) {
  *out = 999;
  return 0;
}

TEST(ValidateManifest, AcceptsAV10StorageThatEndsBeforeKeyCount) {
  Plugin p;
  p.manifest.abi_minor = 0;
  p.storage.struct_size = kStorageV1Size;
  EXPECT_TRUE(p.Check().ok()) << p.Check();
  static_assert(kStorageV1Size < kStorageKeyCountSize);
  static_assert(kStorageKeyCountSize < kStorageExecuteBatchSize);
  static_assert(kStorageExecuteBatchSize == sizeof(limify_storage));
}

TEST(StorageKeyCount, IsReadOnlyWhenTheStructSizeCoversIt) {
  Plugin p;
  p.storage.key_count = &KeyCount;
  EXPECT_EQ(StorageKeyCount(&p.storage), &KeyCount);
  // A 1.0 plugin: whatever lies past its struct is not its key_count.
  p.storage.struct_size = kStorageV1Size;
  EXPECT_EQ(StorageKeyCount(&p.storage), nullptr);
  p.storage.struct_size = kStorageKeyCountSize - 1;
  EXPECT_EQ(StorageKeyCount(&p.storage), nullptr);
}

TEST(StorageKeyCount, IsOptionalInA11Storage) {
  Plugin p;  // key_count left NULL
  EXPECT_TRUE(p.Check().ok()) << p.Check();
  EXPECT_EQ(StorageKeyCount(&p.storage), nullptr);
}

TEST(ValidateManifest, AcceptsAPluginThatProvidesNothing) {
  Plugin p;
  p.manifest.n_algorithms = 0;
  p.manifest.algorithms = nullptr;
  p.manifest.n_storages = 0;
  p.manifest.storages = nullptr;
  EXPECT_TRUE(p.Check().ok()) << p.Check();
}

TEST(ValidateManifest, RefusesNullManifest) {
  ExpectRefused(ValidateManifest(nullptr, kFile),
                "\"limify_plugin_entry\" returned NULL: the plugin refused to "
                "load");
}

TEST(ValidateManifest, RefusesNullAlgorithmsArrayWithNonzeroCount) {
  Plugin p;
  p.manifest.n_algorithms = 2;
  p.manifest.algorithms = nullptr;
  ExpectRefused(p.Check(),
                "manifest lists 2 algorithms but its algorithms array is NULL");
}

TEST(ValidateManifest, RefusesNullStoragesArrayWithNonzeroCount) {
  Plugin p;
  p.manifest.storages = nullptr;
  ExpectRefused(p.Check(),
                "manifest lists 1 storages but its storages array is NULL");
}

TEST(ValidateManifest, RefusesNullAlgorithmEntry) {
  Plugin p;
  p.algorithms[0] = nullptr;
  ExpectRefused(p.Check(), "algorithms[0] is NULL");
}

TEST(ValidateManifest, RefusesNullStorageEntry) {
  Plugin p;
  p.storages[0] = nullptr;
  ExpectRefused(p.Check(), "storages[0] is NULL");
}

TEST(ValidateManifest, RefusesAlgorithmShorterThanV1) {
  Plugin p;
  p.algorithm.struct_size = 16;
  ExpectRefused(p.Check(),
                absl::StrCat("algorithms[0]: struct_size 16 is smaller than the ",
                             kAlgorithmV1Size, " bytes of a v1.0 algorithm"));
}

TEST(ValidateManifest, RefusesStorageShorterThanV1) {
  Plugin p;
  p.storage.struct_size = 0;
  ExpectRefused(p.Check(),
                absl::StrCat("storages[0]: struct_size 0 is smaller than the ",
                             kStorageV1Size, " bytes of a v1.0 storage"));
}

TEST(ValidateManifest, RefusesNullName) {
  Plugin p;
  p.algorithm.name = nullptr;
  ExpectRefused(p.Check(), "algorithms[0]: name is NULL");
}

TEST(ValidateManifest, RefusesInvalidStorageNameEscapingIt) {
  Plugin p;
  p.storage.name = "Store\n";
  ExpectRefused(p.Check(),
                "storage name \"Store\\n\" is invalid: expected [a-z0-9_]+");
}

TEST(ValidateManifest, RefusesEachNullAlgorithmFunctionNamingIt) {
  Plugin p;
  p.algorithm.validate = nullptr;
  ExpectRefused(p.Check(),
                "algorithm \"algo\": required function \"validate\" is NULL");
  Plugin q;
  q.algorithm.state_size = nullptr;
  ExpectRefused(q.Check(),
                "algorithm \"algo\": required function \"state_size\" is NULL");
}

TEST(ValidateManifest, RefusesEachNullStorageFunctionNamingIt) {
  for (const char* slot : {"create", "destroy", "execute", "remove"}) {
    Plugin p;
    std::string s = slot;
    if (s == "create") p.storage.create = nullptr;
    if (s == "destroy") p.storage.destroy = nullptr;
    if (s == "execute") p.storage.execute = nullptr;
    if (s == "remove") p.storage.remove = nullptr;
    ExpectRefused(p.Check(), absl::StrCat("storage \"store\": required function \"",
                                          slot, "\" is NULL"));
  }
}

TEST(IsValidPluginName, AcceptsLowercaseDigitsAndUnderscore) {
  EXPECT_TRUE(IsValidPluginName("token_bucket"));
  EXPECT_TRUE(IsValidPluginName("gcra2"));
  EXPECT_FALSE(IsValidPluginName(""));
  EXPECT_FALSE(IsValidPluginName("Token"));
  EXPECT_FALSE(IsValidPluginName("token-bucket"));
  EXPECT_FALSE(IsValidPluginName("a b"));
}

}  // namespace
}  // namespace limify
