#include "plugins/storage/memory/memory_storage.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace limify::memory {
namespace {

// Sized for the common case (a rule has a few limits, states are small) so
// that a step allocates nothing.
constexpr size_t kInlineKeys = 8;
constexpr size_t kInlineScratch = 256;
constexpr int64_t kSweepIntervalUs = 1'000'000;
constexpr size_t kEvictionSample = 8;

absl::string_view View(const limify_key& key) { return {key.data, key.size}; }

int64_t ExpiryAt(int64_t now_us, int64_t ttl_us) {
  if (now_us > std::numeric_limits<int64_t>::max() - ttl_us) {
    return std::numeric_limits<int64_t>::max();
  }
  return now_us + ttl_us;
}

bool IsOpKey(absl::string_view key, absl::Span<const limify_key> op_keys) {
  for (const limify_key& k : op_keys) {
    if (View(k) == key) return true;
  }
  return false;
}

}  // namespace

// Locks the distinct shards of a set of keys in ascending order (a global
// order, so overlapping multi-key steps cannot deadlock); unlocks on scope
// exit, also when apply throws.
class MemoryStorage::ShardLocks {
 public:
  ShardLocks(Shard* shards, absl::Span<const uint32_t> shard_of)
      ABSL_NO_THREAD_SAFETY_ANALYSIS : shards_(shards),
                                       order_(shard_of.begin(), shard_of.end()) {
    std::sort(order_.begin(), order_.end());
    order_.erase(std::unique(order_.begin(), order_.end()), order_.end());
    for (uint32_t s : order_) shards_[s].mu.Lock();
  }
  ~ShardLocks() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      shards_[*it].mu.Unlock();
    }
  }
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;

 private:
  Shard* shards_;
  absl::InlinedVector<uint32_t, kInlineKeys> order_;
};

MemoryStorage::MemoryStorage(const MemoryOptions& options, HostClock clock)
    : clock_(clock),
      shard_count_(options.shards),
      shard_bits_(std::countr_zero(options.shards)),
      shard_capacity_(options.max_keys / options.shards +
                      (options.max_keys % options.shards != 0 ? 1 : 0)),
      shards_(std::make_unique<Shard[]>(options.shards)) {}

MemoryStorage::~MemoryStorage() = default;

MemoryStorage::HashedKey MemoryStorage::Hashed(const limify_key& key) const {
  const absl::string_view view = View(key);
  return {view, KeyHash{}(view)};
}

size_t MemoryStorage::ShardOf(size_t hash) const {
  // The top bits: the map places entries by the low bits of the same (per
  // process seeded) hash, so the two choices stay independent.
  static_assert(sizeof(size_t) == 8, "64-bit hashes");
  if (shard_bits_ == 0) return 0;
  return hash >> (64 - shard_bits_);
}

size_t MemoryStorage::ShardIndex(absl::string_view key) const {
  return ShardOf(KeyHash{}(key));
}

size_t MemoryStorage::Size() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  size_t total = 0;
  for (size_t s = 0; s < shard_count_; ++s) {
    shards_[s].mu.Lock();
    total += shards_[s].map.size();
    shards_[s].mu.Unlock();
  }
  return total;
}

int32_t MemoryStorage::Execute(absl::Span<const limify_key> keys,
                               absl::Span<const size_t> state_sizes,
                               ApplyFn apply) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const size_t n = keys.size();
  // Everything a step needs per key, in one inline array: a step on existing
  // keys allocates nothing and initializes one array, not one per field.
  struct KeyWork {
    HashedKey hashed;
    uint32_t shard;
    Entry* found;  // the key's entry, live or not (null when absent)
    bool live;     // unexpired and of the right size: apply works in place
  };
  absl::InlinedVector<KeyWork, kInlineKeys> work(n);
  absl::InlinedVector<uint32_t, kInlineKeys> shard_of(n);
  for (size_t i = 0; i < n; ++i) {
    work[i].hashed = Hashed(keys[i]);
    work[i].shard = shard_of[i] = static_cast<uint32_t>(ShardOf(work[i].hashed.hash));
  }
  ShardLocks locks(shards_.get(), shard_of);
  // Read under the locks: steps on one key then see non-decreasing time.
  const int64_t now = clock_.Now();

  size_t scratch_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    KeyWork& w = work[i];
    auto& map = shards_[w.shard].map;
    auto it = map.find(w.hashed);
    w.found = it != map.end() ? &it->second : nullptr;
    w.live = w.found != nullptr && w.found->expires_us > now &&
             w.found->state.size() == state_sizes[i];
    if (!w.live) scratch_bytes += state_sizes[i];
  }
  // Missing or expired keys start from zeroed (fresh) states.
  absl::InlinedVector<uint8_t, kInlineScratch> scratch(scratch_bytes, 0);
  void* states[kInlineKeys];
  absl::InlinedVector<void*, kInlineKeys> more_states;  // only past kInlineKeys keys
  void** state_ptrs = states;
  if (n > kInlineKeys) {
    more_states.resize(n);
    state_ptrs = more_states.data();
  }
  for (size_t i = 0, offset = 0; i < n; ++i) {
    if (work[i].live) {
      state_ptrs[i] = work[i].found->state.data();
    } else {
      state_ptrs[i] = scratch.data() + offset;
      offset += state_sizes[i];
    }
  }

  int write_back = 0;
  int64_t ttls[kInlineKeys] = {};
  absl::InlinedVector<int64_t, kInlineKeys> more_ttls(n > kInlineKeys ? n : 0, 0);
  int64_t* ttl_us = n > kInlineKeys ? more_ttls.data() : ttls;
  const int32_t code = apply(state_ptrs, now, &write_back, ttl_us);
  if (code != LIMIFY_PLUGIN_OK || write_back == 0) return code;

  // Keys that have an entry first: updating or erasing an entry in place does
  // not move the others, so the `found` pointers stay valid through this
  // loop. A ttl of 0 means the state is already fresh: drop it.
  for (size_t i = 0; i < n; ++i) {
    KeyWork& w = work[i];
    if (w.found == nullptr) continue;
    if (ttl_us[i] <= 0) {
      shards_[w.shard].map.erase(w.hashed);
      continue;
    }
    if (!w.live) {
      const auto* bytes = static_cast<const uint8_t*>(state_ptrs[i]);
      w.found->state.assign(bytes, bytes + state_sizes[i]);
    }
    w.found->expires_us = ExpiryAt(now, ttl_us[i]);
  }
  // Then the absent keys: inserting may sweep, evict or rehash a shard, which
  // invalidates `found` (no longer used) but not the scratch states.
  for (size_t i = 0; i < n; ++i) {
    if (work[i].found != nullptr || ttl_us[i] <= 0) continue;
    Insert(shards_[work[i].shard], View(keys[i]),
           static_cast<const uint8_t*>(state_ptrs[i]), state_sizes[i],
           ExpiryAt(now, ttl_us[i]), now, keys);
  }
  return LIMIFY_PLUGIN_OK;
}

void MemoryStorage::Remove(absl::Span<const limify_key> keys)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  absl::InlinedVector<HashedKey, kInlineKeys> hashed(keys.size());
  absl::InlinedVector<uint32_t, kInlineKeys> shard_of(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    hashed[i] = Hashed(keys[i]);
    shard_of[i] = static_cast<uint32_t>(ShardOf(hashed[i].hash));
  }
  ShardLocks locks(shards_.get(), shard_of);
  for (size_t i = 0; i < keys.size(); ++i) {
    shards_[shard_of[i]].map.erase(hashed[i]);
  }
}

void MemoryStorage::Insert(Shard& shard, absl::string_view key,
                           const uint8_t* state, size_t size,
                           int64_t expires_us, int64_t now_us,
                           absl::Span<const limify_key> op_keys) {
  MaybeSweep(shard, now_us);
  // A full shard is swept at most once per interval (a sweep is O(shard)):
  // in between, eviction samples, and an expired entry in the sample has the
  // earliest expiry, so it goes first.
  if (shard.map.size() >= shard_capacity_) EvictOne(shard, op_keys);
  Entry& entry = shard.map[std::string(key)];
  entry.expires_us = expires_us;
  entry.state.assign(state, state + size);
}

void MemoryStorage::MaybeSweep(Shard& shard, int64_t now_us) {
  // Sweep when the interval has passed, and also when the clock went back
  // (manual clock, system clock step) rather than wait for it to catch up.
  // Overflow (the first sweep, from INT64_MIN) counts as "passed".
  int64_t elapsed = 0;
  if (!__builtin_sub_overflow(now_us, shard.last_sweep_us, &elapsed) &&
      elapsed >= 0 && elapsed < kSweepIntervalUs) {
    return;
  }
  shard.last_sweep_us = now_us;
  absl::erase_if(shard.map,
                 [now_us](const auto& kv) { return kv.second.expires_us <= now_us; });
}

void MemoryStorage::EvictOne(Shard& shard, absl::Span<const limify_key> op_keys) {
  auto& map = shard.map;
  if (map.empty()) return;
  // Resume at the entry after the previous sample: successive evictions walk
  // the whole table (in hash order, i.e. unrelated to insertion order).
  auto it = shard.eviction_cursor.empty() ? map.end()
                                          : map.find(shard.eviction_cursor);
  if (it == map.end()) it = map.begin();
  auto victim = map.end();
  auto spared = map.end();  // best candidate among the op's own keys
  const size_t sample = std::min(kEvictionSample, map.size());
  for (size_t k = 0; k < sample; ++k, ++it) {
    if (it == map.end()) it = map.begin();
    auto& best = IsOpKey(it->first, op_keys) ? spared : victim;
    if (best == map.end() || it->second.expires_us < best->second.expires_us) {
      best = it;
    }
  }
  if (it == map.end()) it = map.begin();
  shard.eviction_cursor.assign(it->first);
  map.erase(victim != map.end() ? victim : spared);
}

}  // namespace limify::memory
