// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP,
// but EVP allocates a context per digest; these run on the request path.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "engine/identity_hasher.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <new>

#include "absl/hash/hash.h"

namespace limify {
namespace {

constexpr size_t kBlock = 64;

std::atomic<uint64_t> next_hasher_id{1};

// One thread's memo of recent digests: direct-mapped, short identities only.
struct DigestCache {
  static constexpr size_t kSlots = 512;
  static constexpr size_t kMaxValue = 54;
  struct Slot {
    uint64_t hasher_id = 0;  // 0 = empty
    uint8_t size = 0;
    char value[kMaxValue];
    char hex[IdentityHasher::kHexLength];
  };
  Slot slots[kSlots];
};

void ToHex(const unsigned char* digest, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < IdentityHasher::kHexLength / 2; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
}

}  // namespace

IdentityHasher::IdentityHasher() : id_(next_hasher_id.fetch_add(1)) { SHA256_Init(&inner_); }

IdentityHasher::IdentityHasher(std::string_view secret)
    : id_(next_hasher_id.fetch_add(1)), keyed_(true) {
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
  if (value.size() > DigestCache::kMaxValue) {
    Digest(value, out);
    return;
  }
  // Allocated on a thread's first identity, so threads that never check pay
  // nothing for it.
  thread_local std::unique_ptr<DigestCache> cache;
  if (cache == nullptr) {
    cache.reset(new (std::nothrow) DigestCache);
    if (cache == nullptr) {
      Digest(value, out);
      return;
    }
  }
  const size_t h = absl::Hash<absl::string_view>()(absl::string_view(value.data(), value.size()));
  DigestCache::Slot& slot = cache->slots[h % DigestCache::kSlots];
  if (slot.hasher_id == id_ && slot.size == value.size() &&
      std::memcmp(slot.value, value.data(), value.size()) == 0) {
    std::memcpy(out, slot.hex, kHexLength);
    return;
  }
  Digest(value, out);
  slot.hasher_id = id_;
  slot.size = static_cast<uint8_t>(value.size());
  std::memcpy(slot.value, value.data(), value.size());
  std::memcpy(slot.hex, out, kHexLength);
}

void IdentityHasher::Digest(std::string_view value, char* out) const {
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
