// See over_limit_cache.h.
#include "plugins/storage/redis/over_limit_cache.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

namespace limify::redis {
namespace {

void AppendInt(std::string* out, int64_t v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

OverLimitCache::OverLimitCache(size_t max_keys)
    : per_shard_(std::max<size_t>(1, max_keys / kShards)), shards_(new Shard[kShards]) {}

OverLimitCache::Shard& OverLimitCache::ShardOf(const std::string& first_key) {
  return shards_[std::hash<std::string>{}(first_key) % kShards];
}

// Everything a remembered verdict depends on besides the cost and the time.
void OverLimitCache::Shape(const limify_storage_op& op, std::string* out) {
  out->clear();
  if (op.algorithm != nullptr) out->append(op.algorithm);
  out->push_back('\0');
  AppendInt(out, op.specs != nullptr ? 1 : 0);
  for (size_t i = 0; i < op.n_keys; ++i) {
    if (op.specs != nullptr) {
      AppendInt(out, op.specs[i].limit);
      AppendInt(out, op.specs[i].period_us);
      AppendInt(out, op.specs[i].burst);
    }
    AppendInt(out, static_cast<int64_t>(op.state_sizes[i]));
    AppendInt(out, static_cast<int64_t>(op.keys[i].size));
    out->append(op.keys[i].data, op.keys[i].size);
  }
}

bool OverLimitCache::Answer(const limify_storage_op& op, Clock::time_point now,
                            limify_verdict* out) {
  thread_local std::string key, shape;
  key.assign(op.keys[0].data, op.keys[0].size);
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return false;
  const Entry& e = it->second;
  if (now >= e.until) {
    shard.entries.erase(it);
    return false;
  }
  if (op.cost < e.cost) return false;
  Shape(op, &shape);
  if (shape != e.shape) return false;
  const int64_t elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - e.sent).count();
  *out = e.verdict;
  out->allowed = 0;
  out->retry_after_us = std::max<int64_t>(1, e.verdict.retry_after_us - elapsed_us);
  out->reset_after_us = std::max<int64_t>(out->retry_after_us,
                                          e.verdict.reset_after_us - elapsed_us);
  return true;
}

void OverLimitCache::Remember(const limify_storage_op& op, Clock::time_point sent,
                              uint64_t epoch, const limify_verdict& verdict) {
  // Only a block with a known, finite wait.
  if (verdict.allowed != 0 || verdict.retry_after_us <= 0) return;
  std::string key(op.keys[0].data, op.keys[0].size);
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  // A remove() ran while this step was in flight: its answer may predate it.
  if (epoch != epoch_.load(std::memory_order_acquire)) return;
  if (shard.entries.size() >= per_shard_ && shard.entries.find(key) == shard.entries.end()) {
    const Clock::time_point now = Clock::now();
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      it = now >= it->second.until ? shard.entries.erase(it) : std::next(it);
    }
    if (shard.entries.size() >= per_shard_) return;  // full of live blocks: not cached
  }
  Entry& e = shard.entries[std::move(key)];
  e.sent = sent;
  e.until = sent + std::chrono::microseconds(verdict.retry_after_us);
  e.cost = op.cost;
  Shape(op, &e.shape);
  e.verdict = verdict;
  e.verdict.struct_size = sizeof(limify_verdict);
}

void OverLimitCache::Forget(const limify_key* keys, size_t n_keys) {
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  std::string key;
  for (size_t i = 0; i < n_keys; ++i) {
    key.assign(keys[i].data, keys[i].size);
    Shard& shard = ShardOf(key);
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.entries.erase(key);
  }
}

size_t OverLimitCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].entries.size();
  }
  return total;
}

}  // namespace limify::redis
