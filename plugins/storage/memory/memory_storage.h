// The memory storage's table: rate-limit state per key, in this process.
//
// Layout. Keys are spread by hash over `shards` shards. Each shard is an
// absl::flat_hash_map<std::string, Entry> behind its own mutex, on its own
// cache line. A key is hashed once: the top bits pick the shard, the map
// probes with the same hash. Lookups are heterogeneous (no std::string is
// built), so checking an existing key allocates nothing; a state of up to 24
// bytes lives inline in its entry.
//
// Atomicity. Execute and Remove lock the distinct shards of their keys in
// ascending shard order (so two multi-key operations cannot deadlock) and
// hold them for the whole read-apply-write of all the keys.
//
// Expiry. Every write stores expires_us = now + ttl_us (a ttl of 0 means the
// state is already fresh: the key is dropped). An entry whose expiry is
// <= now is treated exactly like a missing key (zero state). Expired
// entries are swept lazily, without a background thread: a shard erases all
// its expired entries when a new key is inserted into it and at least one
// second of host-clock time has passed since its last sweep.
//
// The max_keys bound (volatile-ttl eviction, as in Redis). Each shard holds
// at most ceil(max_keys / shards) entries, so a flood of distinct identities
// cannot exhaust memory (the total bound is that capacity times `shards`,
// i.e. max_keys rounded up to a multiple of `shards`). Inserting into a full
// shard first sweeps it if the sweep interval has passed (a sweep costs
// O(shard), so not on every insert of a flood); if it is still full, evicts,
// among a sample of 8 entries taken from the shard's iteration order
// (resuming where the previous sample stopped, so every entry gets sampled
// in turn), the one with the earliest expiry, which is an expired entry if
// the sample holds one. Keys of the step itself are spared when the sample
// allows it. Consequence: an evicted identity starts fresh (full capacity),
// so max_keys should exceed the number of identities active within the
// longest ttl; under such a flood limits are relaxed, never wrongly refused.
#ifndef LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_STORAGE_H_
#define LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "limify/plugin.h"
#include "plugins/storage/memory/memory_options.h"

namespace limify::memory {

// The host's clock, as lent in limify_storage_env.
struct HostClock {
  int64_t (*now_us)(void* ctx) = nullptr;
  void* ctx = nullptr;
  int64_t Now() const { return now_us(ctx); }
};

// The shard lock. Not absl::Mutex: Debian's libabsl is built without NDEBUG,
// so absl::Mutex::Lock runs deadlock detection under one process-wide
// spinlock (measured: 23 ns instead of 6 ns per uncontended lock, and locks
// of independent shards serialized). The shards' lock order is fixed by
// construction (ascending index), so that detection would buy nothing.
// Annotated so that ABSL_GUARDED_BY is still checked by clang.
class ABSL_LOCKABLE ShardMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class MemoryStorage {
 public:
  // The generic-path step: receives one state pointer per key (each
  // state_sizes[i] bytes, zero for a missing key) and the time; modifies the
  // states only when it sets *write_back, and then fills ttl_us[i]. Returns a
  // limify_plugin_code, passed on unchanged.
  using ApplyFn = absl::FunctionRef<int32_t(
      void* const* states, int64_t now_us, int* write_back, int64_t* ttl_us)>;

  MemoryStorage(const MemoryOptions& options, HostClock clock);
  MemoryStorage(const MemoryStorage&) = delete;
  MemoryStorage& operator=(const MemoryStorage&) = delete;
  ~MemoryStorage();

  // One atomic step over `keys`, which must be distinct. Reads the clock once.
  int32_t Execute(absl::Span<const limify_key> keys,
                  absl::Span<const size_t> state_sizes, ApplyFn apply);

  // Forgets `keys`, atomically.
  void Remove(absl::Span<const limify_key> keys);

  // Introspection, for tests and diagnostics.
  size_t shard_count() const { return shard_count_; }
  size_t shard_capacity() const { return shard_capacity_; }
  size_t ShardIndex(absl::string_view key) const;
  size_t Size() const;  // entries held, expired ones included

 private:
  struct Entry {
    int64_t expires_us = 0;
    absl::InlinedVector<uint8_t, 24> state;
  };

  // A lookup key with its hash, computed once per step.
  struct HashedKey {
    absl::string_view key;
    size_t hash;
  };
  // Transparent: the map hashes std::string (on insert) and HashedKey.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(absl::string_view key) const {
      return absl::Hash<absl::string_view>{}(key);
    }
    size_t operator()(const HashedKey& key) const { return key.hash; }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(absl::string_view a, absl::string_view b) const { return a == b; }
    bool operator()(absl::string_view a, const HashedKey& b) const { return a == b.key; }
    bool operator()(const HashedKey& a, absl::string_view b) const { return a.key == b; }
  };
  using Map = absl::flat_hash_map<std::string, Entry, KeyHash, KeyEq>;

  // 64 = the cache line on the targets we build for; keeps two shards'
  // mutexes from sharing a line.
  struct alignas(64) Shard {
    ShardMutex mu;
    Map map ABSL_GUARDED_BY(mu);
    int64_t last_sweep_us ABSL_GUARDED_BY(mu) = INT64_MIN;
    std::string eviction_cursor ABSL_GUARDED_BY(mu);  // where sampling resumes
  };

  class ShardLocks;

  HashedKey Hashed(const limify_key& key) const;
  size_t ShardOf(size_t hash) const;

  void Insert(Shard& shard, absl::string_view key, const uint8_t* state,
              size_t size, int64_t expires_us, int64_t now_us,
              absl::Span<const limify_key> op_keys)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void MaybeSweep(Shard& shard, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void EvictOne(Shard& shard, absl::Span<const limify_key> op_keys)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  const HostClock clock_;
  const size_t shard_count_;
  const int shard_bits_;  // log2(shard_count_)
  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace limify::memory

#endif  // LIMIFY_PLUGINS_STORAGE_MEMORY_MEMORY_STORAGE_H_
