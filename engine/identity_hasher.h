// Hashes identities before they reach storage, so no raw user id, API key or
// IP address is ever stored: SHA-256 by default, HMAC-SHA-256 when a secret
// is configured (then a leaked storage cannot be brute-forced offline).
//
// The key keeps the first 128 bits of the digest as 32 lowercase hex
// characters: collision-resistant far beyond any identity population, and
// fixed-length whatever the identity holds (NUL, ':', '{', 10 KB...).
//
// Real traffic repeats identities, and SHA-256 is most of a check's cost on
// the memory storage, so each thread remembers the digests of the short
// identities it hashed last (compared byte for byte, never by a weaker hash).
#ifndef LIMIFY_ENGINE_IDENTITY_HASHER_H_
#define LIMIFY_ENGINE_IDENTITY_HASHER_H_

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace limify {

class IdentityHasher {
 public:
  static constexpr size_t kHexLength = 32;

  // Plain SHA-256.
  IdentityHasher();
  // HMAC-SHA-256 keyed with `secret`.
  explicit IdentityHasher(std::string_view secret);

  // Writes kHexLength hex characters of the digest of `value` to `out`.
  // Allocates nothing; thread-safe.
  void Hash(std::string_view value, char* out) const;

 private:
  void Digest(std::string_view value, char* out) const;

  uint64_t id_;  // tells this key's digests from other hashers' in the thread cache
  bool keyed_ = false;
  SHA256_CTX inner_;  // state after the HMAC inner pad (or a fresh context)
  SHA256_CTX outer_;  // state after the HMAC outer pad
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_IDENTITY_HASHER_H_
