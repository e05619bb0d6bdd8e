// SHA-256 and HMAC-SHA-256 against published test vectors.
#include "engine/identity_hasher.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace limify
