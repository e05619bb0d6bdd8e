// The memory storage's table class, linked straight into the test to observe
// what the ABI does not show: how many entries it holds.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

// This binary's only copy of the table (the plugin has its own, hidden).
#include "plugins/storage/memory/memory_storage.cc"  // NOLINT(build/include)
#include "absl/strings/str_cat.h"
#include "tests/common/alloc_counter.h"
#include "tests/storage/storage_test_host.h"

namespace limify::testing {
namespace {

using memory::HostClock;
using memory::MemoryOptions;
using memory::MemoryStorage;

class MemoryTableTest : public ::testing::Test {
 protected:
  HostClock Clock() {
    const limify_storage_env env = clock_.Env();
    return {env.now_us, env.clock_ctx};
  }

  // Writes count+1 into each key (8-byte states) with `ttl_us`; or, when
  // `write` is false, only reads. Returns the counts seen.
  std::vector<int64_t> Step(MemoryStorage& table, const std::vector<std::string>& keys,
                            int64_t ttl_us = 60'000'000, bool write = true) {
    std::vector<limify_key> k;
    for (const std::string& key : keys) k.push_back({key.data(), key.size()});
    std::vector<size_t> sizes(keys.size(), sizeof(int64_t));
    std::vector<int64_t> seen(keys.size());
    const int32_t code = table.Execute(
        k, sizes, [&](void* const* states, int64_t, int* write_back, int64_t* ttl) {
          for (size_t i = 0; i < keys.size(); ++i) {
            std::memcpy(&seen[i], states[i], sizeof(int64_t));
            const int64_t next = seen[i] + 1;
            if (write) std::memcpy(states[i], &next, sizeof(next));
            ttl[i] = ttl_us;
          }
          *write_back = write ? 1 : 0;
          return LIMIFY_PLUGIN_OK;
        });
    EXPECT_EQ(code, LIMIFY_PLUGIN_OK);
    return seen;
  }
  int64_t Count(MemoryStorage& table, const std::string& key) {
    return Step(table, {key}, 0, /*write=*/false)[0];
  }

  ManualClock clock_;
};

TEST_F(MemoryTableTest, ShardCapacityIsMaxKeysOverShardsRoundedUp) {
  MemoryStorage defaults(MemoryOptions{}, Clock());
  EXPECT_EQ(defaults.shard_count(), 64u);
  EXPECT_EQ(defaults.shard_capacity(), 15625u);
  MemoryStorage odd({10, 4}, Clock());
  EXPECT_EQ(odd.shard_capacity(), 3u);
  MemoryStorage tiny({1, 8}, Clock());
  EXPECT_EQ(tiny.shard_capacity(), 1u);
}

TEST_F(MemoryTableTest, KeysSpreadOverAllShards) {
  MemoryStorage table({1000, 64}, Clock());
  std::set<size_t> used;
  for (int i = 0; i < 2000; ++i) {
    const size_t s = table.ShardIndex("spread-" + std::to_string(i));
    ASSERT_LT(s, 64u);
    used.insert(s);
  }
  EXPECT_EQ(used.size(), 64u);
  MemoryStorage one({1000, 1}, Clock());
  EXPECT_EQ(one.ShardIndex("anything"), 0u);
}

TEST_F(MemoryTableTest, StepWithoutWriteBackInsertsNothing) {
  MemoryStorage table({1000, 4}, Clock());
  Step(table, {"a", "b", "c"}, 1000, /*write=*/false);
  EXPECT_EQ(table.Size(), 0u);
  Step(table, {"a", "b", "c"});
  EXPECT_EQ(table.Size(), 3u);
}

TEST_F(MemoryTableTest, ApplyErrorInsertsNothing) {
  MemoryStorage table({1000, 4}, Clock());
  const std::string key = "k";
  const limify_key k{key.data(), key.size()};
  const size_t size = 8;
  const int32_t code = table.Execute({&k, 1}, {&size, 1},
                                     [](void* const*, int64_t, int* write_back, int64_t*) {
                                       *write_back = 1;  // even so: the code wins
                                       return int32_t{LIMIFY_PLUGIN_UNAVAILABLE};
                                     });
  EXPECT_EQ(code, LIMIFY_PLUGIN_UNAVAILABLE);
  EXPECT_EQ(table.Size(), 0u);
}

TEST_F(MemoryTableTest, FloodOfDistinctKeysStaysWithinMaxKeys) {
  constexpr size_t kMaxKeys = 1000;
  MemoryStorage table({kMaxKeys, 8}, Clock());
  for (size_t i = 0; i < 10 * kMaxKeys; ++i) {
    clock_.Advance(1);
    Step(table, {"flood-" + std::to_string(i)}, 3'600'000'000);
    if (i % 97 == 0) {
      ASSERT_LE(table.Size(), kMaxKeys) << "after " << i;
    }
  }
  // Every shard filled up (8 x 125 = max_keys) and stayed there.
  EXPECT_EQ(table.Size(), kMaxKeys);
  EXPECT_EQ(Count(table, "flood-0"), 0);
  EXPECT_EQ(Count(table, "flood-" + std::to_string(10 * kMaxKeys - 1)), 1);
}

TEST_F(MemoryTableTest, ExpiredEntriesAreSweptOnInsertOncePerSecond) {
  MemoryStorage table({1000, 1}, Clock());
  const int64_t t0 = clock_.now();
  for (int i = 0; i < 100; ++i) Step(table, {"short-" + std::to_string(i)}, 10);
  EXPECT_EQ(table.Size(), 100u);
  clock_.Set(t0 + 500'000);  // all expired, but the shard swept at t0
  Step(table, {"late"}, 10);
  EXPECT_EQ(table.Size(), 101u) << "no sweep within a second of the last";
  clock_.Set(t0 + 1'000'000);
  Step(table, {"later"}, 10);
  EXPECT_EQ(table.Size(), 1u) << "a sweep dropped every expired entry";
}

TEST_F(MemoryTableTest, FullShardEvictsTheEarliestExpiryInItsSample) {
  // 8 entries: the sample of 8 is the whole shard, so the choice is exact.
  MemoryStorage table({8, 1}, Clock());
  for (int i = 0; i < 8; ++i) {
    Step(table, {absl::StrCat("k", i)}, i == 5 ? 100 : 1000 + i);
  }
  Step(table, {"k8"}, 5000);
  EXPECT_EQ(table.Size(), 8u);
  EXPECT_EQ(Count(table, "k5"), 0) << "earliest expiry evicted";
  for (int i : {0, 1, 2, 3, 4, 6, 7, 8}) {
    EXPECT_EQ(Count(table, absl::StrCat("k", i)), 1) << i;
  }
}

TEST_F(MemoryTableTest, EvictionSparesTheKeysOfTheStepItself) {
  MemoryStorage table({2, 1}, Clock());
  Step(table, {"mine"}, 1000);
  Step(table, {"bystander"}, 100000);
  // "mine" is refreshed to expire first, then "new" needs room.
  Step(table, {"mine", "new"}, 10);
  EXPECT_EQ(table.Size(), 2u);
  EXPECT_EQ(Count(table, "mine"), 2);
  EXPECT_EQ(Count(table, "new"), 1);
  EXPECT_EQ(Count(table, "bystander"), 0);
}

TEST_F(MemoryTableTest, RemoveErasesEntries) {
  MemoryStorage table({1000, 4}, Clock());
  Step(table, {"a", "b", "c"});
  const std::string a = "a", c = "c";
  const limify_key keys[] = {{a.data(), a.size()}, {c.data(), c.size()}};
  table.Remove(keys);
  EXPECT_EQ(table.Size(), 1u);
}

TEST_F(MemoryTableTest, ExecuteOnExistingKeysAllocatesNothing) {
  MemoryStorage table({1000, 64}, Clock());
  const std::string a(80, 'a'), b(80, 'b');
  const limify_key keys[] = {{a.data(), a.size()}, {b.data(), b.size()}};
  const size_t sizes[] = {16, 24};
  auto apply = [](void* const* states, int64_t, int* write_back, int64_t* ttl) {
    for (int i = 0; i < 2; ++i) {
      int64_t v;
      std::memcpy(&v, states[i], sizeof(v));
      ++v;
      std::memcpy(states[i], &v, sizeof(v));
      ttl[i] = 1'000'000;
    }
    *write_back = 1;
    return int32_t{LIMIFY_PLUGIN_OK};
  };
  ASSERT_EQ(table.Execute(keys, sizes, apply), LIMIFY_PLUGIN_OK);
  const int64_t before = AllocationsOnThisThread();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(table.Execute(keys, sizes, apply), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(AllocationsOnThisThread(), before);
}

}  // namespace
}  // namespace limify::testing
