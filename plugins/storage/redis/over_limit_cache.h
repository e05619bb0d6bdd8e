// The over-limit cache of the redis storage (option "over_limit_cache", off
// by default): once Redis has answered that a step is blocked with a known
// retry_after, the same step is answered here, blocked, until then, without
// a round trip. A client hammering a limit it has hit then costs Redis
// nothing.
//
// It only ever blocks, and only while Redis would block too:
//  - an entry expires retry_after after the request was *sent*, which is no
//    later than Redis' own moment of allowing again (Redis decided after the
//    send, so its clock was at least that far);
//  - an entry answers only the same keys, algorithm and limits, and a cost
//    at least the one that was blocked (a block for cost c says nothing
//    about a smaller cost);
//  - remove() through this storage forgets the keys' entries, and a step in
//    flight during a remove is not remembered (a reset epoch);
//  - a retry_after of "never" (the cost exceeds the capacity) is not cached.
// What it cannot see: another process (or another engine) resetting the key
// in Redis. Until the cached retry_after passes, this process keeps
// answering "blocked" for it.
//
// Bounded: at most max_keys entries; when a shard is full, expired entries
// are swept, and if none expired the new block is simply not cached.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_OVER_LIMIT_CACHE_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_OVER_LIMIT_CACHE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "limify/plugin.h"

namespace limify::redis {

class OverLimitCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OverLimitCache(size_t max_keys);
  OverLimitCache(const OverLimitCache&) = delete;
  OverLimitCache& operator=(const OverLimitCache&) = delete;

  // The epoch to hand back to Remember for a step sent now.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

  // True when `op` is known to be blocked at `now`: `out` then holds the
  // remembered verdict with its waits shortened by the time since.
  bool Answer(const limify_storage_op& op, Clock::time_point now, limify_verdict* out);

  // Remembers Redis' verdict for `op`, sent at `sent` in `epoch`, when it is
  // a block with a known retry_after (anything else is ignored).
  void Remember(const limify_storage_op& op, Clock::time_point sent, uint64_t epoch,
                const limify_verdict& verdict);

  // Forgets the entries of a step whose first key is one of `keys`, and
  // starts a new epoch (steps in flight are not remembered).
  void Forget(const limify_key* keys, size_t n_keys);

  size_t size() const;

 private:
  struct Entry {
    Clock::time_point sent;   // when the blocked request was sent
    Clock::time_point until;  // sent + retry_after
    int64_t cost = 0;         // the blocked cost
    std::string shape;        // algorithm, limits and every key: what must match
    limify_verdict verdict{};
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // by the step's first key
  };
  static constexpr size_t kShards = 16;

  Shard& ShardOf(const std::string& first_key);
  static void Shape(const limify_storage_op& op, std::string* out);

  const size_t per_shard_;
  std::atomic<uint64_t> epoch_{0};
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_OVER_LIMIT_CACHE_H_
