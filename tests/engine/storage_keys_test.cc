// The documented key format, and its hash tag.
#include "engine/storage_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace limify {
namespace {

TEST(StorageKeysTest, BuildsOneKeyPerLimitInTheDocumentedFormat) {
  KeyTemplate tmpl;
  tmpl.prefix = "limify:{items|pro|";
  tmpl.suffixes = {"}:token_bucket:10/1s", "}:token_bucket:1000/1d:b50"};
  StorageKeys keys;
  keys.Build(tmpl, "user", "9f86d081884c7d659a2feaa0c55ad015");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(std::string(keys.keys()[0].data, keys.keys()[0].size),
            "limify:{items|pro|user|9f86d081884c7d659a2feaa0c55ad015}:token_bucket:10/1s");
  EXPECT_EQ(std::string(keys.keys()[1].data, keys.keys()[1].size),
            "limify:{items|pro|user|9f86d081884c7d659a2feaa0c55ad015}:token_bucket:1000/1d:b50");
}

TEST(StorageKeysTest, KeysOfOneRuleShareTheirClusterHashTag) {
  KeyTemplate tmpl;
  tmpl.prefix = "limify:{r|default|";
  tmpl.suffixes = {"}:gcra:1/1s", "}:gcra:9/1m"};
  StorageKeys keys;
  keys.Build(tmpl, "ip", "00112233445566778899aabbccddeeff");
  auto tag = [](const limify_key& k) {
    std::string s(k.data, k.size);
    size_t open = s.find('{');
    return s.substr(open + 1, s.find('}', open) - open - 1);
  };
  EXPECT_EQ(tag(keys.keys()[0]), "r|default|ip|00112233445566778899aabbccddeeff");
  EXPECT_EQ(tag(keys.keys()[0]), tag(keys.keys()[1]));
}

TEST(StorageKeysTest, RebuildingReusesTheBufferWithoutStalePointers) {
  KeyTemplate long_tmpl{"limify:{" + std::string(600, 'r') + "|p|", {"}:a:1/1s", "}:a:2/1s"}};
  KeyTemplate short_tmpl{"limify:{s|p|", {"}:a:1/1s"}};
  StorageKeys keys;
  keys.Build(long_tmpl, "user", "x");
  keys.Build(short_tmpl, "user", "y");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(std::string(keys.keys()[0].data, keys.keys()[0].size), "limify:{s|p|user|y}:a:1/1s");
}

}  // namespace
}  // namespace limify
