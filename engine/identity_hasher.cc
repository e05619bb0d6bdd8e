// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP,
// but EVP allocates a context per digest; these run on the request path.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/identity_hasher.h"

#include <cstring>

namespace limify {
namespace {

constexpr size_t kBlock = 64;

void ToHex(const unsigned char* digest, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < IdentityHasher::kHexLength / 2; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
}

}  // namespace

IdentityHasher::IdentityHasher() { SHA256_Init(&inner_); }

IdentityHasher::IdentityHasher(std::string_view secret) : keyed_(true) {
  // RFC 2104: precompute the padded key states once per configuration.
  unsigned char key[kBlock] = {};
  if (secret.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), key);
  } else {
    std::memcpy(key, secret.data(), secret.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = key[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, kBlock);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = key[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, kBlock);
}

void IdentityHasher::Hash(std::string_view value, char* out) const {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx = inner_;
  SHA256_Update(&ctx, value.data(), value.size());
  SHA256_Final(digest, &ctx);
  if (keyed_) {
    ctx = outer_;
    SHA256_Update(&ctx, digest, sizeof(digest));
    SHA256_Final(digest, &ctx);
  }
  ToHex(digest, out);
}

}  // namespace limify
