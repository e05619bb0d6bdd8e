// SHA-256 and HMAC-SHA-256 against published test vectors.
#include "engine/identity_hasher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace limify {
namespace {

std::string HashOf(const IdentityHasher& hasher, std::string_view value) {
  char out[IdentityHasher::kHexLength];
  hasher.Hash(value, out);
  return std::string(out, sizeof(out));
}

TEST(IdentityHasherTest, Sha256MatchesFips180Vector) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad
  EXPECT_EQ(HashOf(IdentityHasher(), "abc"), "ba7816bf8f01cfea414140de5dae2223");
}

TEST(IdentityHasherTest, HmacMatchesRfc4231TestCase2) {
  IdentityHasher hasher("Jefe");
  EXPECT_EQ(HashOf(hasher, "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c7");
}

TEST(IdentityHasherTest, HmacWithKeyLongerThanABlockMatchesRfc4231TestCase6) {
  IdentityHasher hasher(std::string(131, '\xaa'));
  EXPECT_EQ(HashOf(hasher, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f");
}

TEST(IdentityHasherTest, SecretChangesEveryHash) {
  EXPECT_NE(HashOf(IdentityHasher(), "alice"), HashOf(IdentityHasher("s3cret-s3cret-s3cret"), "alice"));
}

TEST(IdentityHasherTest, EmbeddedNulIsPartOfTheIdentity) {
  IdentityHasher hasher;
  EXPECT_NE(HashOf(hasher, std::string_view("a\0b", 3)), HashOf(hasher, "a"));
}

TEST(IdentityHasherTest, ThreadCacheNeverMixesUpHashersOrValues) {
  // Interleave two keys over more identities than the cache holds, so slots
  // are reused and shared: every answer must still be the right one.
  IdentityHasher plain;
  IdentityHasher keyed("another-secret-value");
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) values.push_back(absl::StrCat("user-", i));
  values.push_back(std::string(200, 'x'));  // longer than what the cache keeps
  std::vector<std::string> first_plain, first_keyed;
  for (const std::string& v : values) {
    first_plain.push_back(HashOf(plain, v));
    first_keyed.push_back(HashOf(keyed, v));
    EXPECT_NE(first_plain.back(), first_keyed.back()) << v;
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_EQ(HashOf(keyed, values[i]), first_keyed[i]) << values[i];
      ASSERT_EQ(HashOf(plain, values[i]), first_plain[i]) << values[i];
    }
  }
  EXPECT_EQ(HashOf(plain, "abc"), "ba7816bf8f01cfea414140de5dae2223");
  EXPECT_EQ(HashOf(plain, "abc"), "ba7816bf8f01cfea414140de5dae2223");  // cached
}

TEST(IdentityHasherTest, CacheComparesWholeValuesNotPrefixes) {
  IdentityHasher hasher;
  const std::string a = HashOf(hasher, "alice");
  EXPECT_NE(HashOf(hasher, "alic"), a);
  EXPECT_NE(HashOf(hasher, "alicf"), a);
  EXPECT_EQ(HashOf(hasher, "alice"), a);
}

}  // namespace
}  // namespace limify
