// The memory storage through its ABI: the real limify_memory.so, loaded the
// way the engine loads it, driven by a counter "algorithm" written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "limify/plugin.h"
#include "plugins/storage/memory/memory_storage.h"
#include "tests/common/alloc_counter.h"
#include "tests/storage/storage_test_host.h"

namespace limify::testing {
namespace {

const limify_plugin_manifest* MemoryManifest() {
  static const limify_plugin_manifest* manifest = LoadPlugin("limify_memory.so");
  return manifest;
}

const limify_storage* Memory() {
  static const limify_storage* storage = FindStorage(MemoryManifest(), "memory");
  return storage;
}

// A counter algorithm for the generic path. The state of each key is an
// int64 count (the first 8 bytes; any further bytes stay zero). A step of
// `cost` is allowed when every key's count + cost <= limit; then every count
// grows by cost and is written back with ttl_us. One Counter per step.
struct Counter {
  int64_t limit = 10;
  int64_t cost = 1;
  int64_t ttl_us = 60'000'000;
  bool write = true;                     // false: decide, never write back
  int32_t fail_code = LIMIFY_PLUGIN_OK;  // set: apply fails with this code
  bool yield_inside = false;  // widen the read-to-write window (race tests)
  size_t n_keys = 0;                     // filled in by Step
  // Outputs of the step.
  std::vector<int64_t> seen;  // each key's count before the step
  bool tail_zero = true;      // bytes past the count were all zero
  int64_t now_us = -1;        // the time the storage passed
};

int32_t CounterApply(void* ctx, void* const* states, int64_t now_us,
                     int* write_back, int64_t* ttl_us, limify_verdict* out,
                     limify_plugin_error* err) {
  auto* c = static_cast<Counter*>(ctx);
  if (c->fail_code != LIMIFY_PLUGIN_OK) {
    TestHostApi()->set_error(err, c->fail_code, "counter: refused to run");
    return c->fail_code;
  }
  c->now_us = now_us;
  c->seen.assign(c->n_keys, 0);
  bool allowed = true;
  int64_t remaining = c->limit;
  for (size_t i = 0; i < c->n_keys; ++i) {
    std::memcpy(&c->seen[i], states[i], sizeof(int64_t));
    allowed = allowed && c->seen[i] + c->cost <= c->limit;
    remaining = std::min(remaining, c->limit - c->seen[i]);
  }
  if (c->yield_inside) std::this_thread::yield();
  if (allowed && c->write) {
    for (size_t i = 0; i < c->n_keys; ++i) {
      const int64_t count = c->seen[i] + c->cost;
      std::memcpy(states[i], &count, sizeof(count));
      ttl_us[i] = c->ttl_us;
    }
    *write_back = 1;
    remaining -= c->cost;
  }
  *out = limify_verdict{};
  out->struct_size = sizeof(limify_verdict);
  out->allowed = allowed ? 1u : 0u;
  out->limit = c->limit;
  out->remaining = remaining;
  return LIMIFY_PLUGIN_OK;
}

// Checks that the bytes past the count are zero (called on read-only steps).
void CheckTails(Counter& c, void* const* states, const std::vector<size_t>& sizes) {
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto* bytes = static_cast<const uint8_t*>(states[i]);
    for (size_t b = sizeof(int64_t); b < sizes[i]; ++b) {
      if (bytes[b] != 0) c.tail_zero = false;
    }
  }
}

class MemoryStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(Memory(), nullptr);
    ASSERT_EQ(Create("{}"), LIMIFY_PLUGIN_OK) << err_.message;
  }
  void TearDown() override { Destroy(); }

  void Destroy() {
    if (instance_ != nullptr) Memory()->destroy(instance_);
    instance_ = nullptr;
  }

  int32_t Create(const char* options) {
    Destroy();
    err_ = {};
    const limify_storage_env env = clock_.Env();
    return Memory()->create(options, &env, &instance_, &err_);
  }

  // One step over `keys` (state size 8 each unless `sizes` says otherwise).
  int32_t Step(void* instance, const std::vector<std::string>& keys, Counter& c,
               std::vector<size_t> sizes = {}, limify_verdict* verdict = nullptr) {
    if (sizes.empty()) sizes.assign(keys.size(), sizeof(int64_t));
    std::vector<limify_key> k;
    for (const std::string& key : keys) k.push_back({key.data(), key.size()});
    c.n_keys = keys.size();
    limify_storage_op op = {};
    op.struct_size = sizeof(op);
    op.mode = LIMIFY_MODE_CHECK;
    op.n_keys = k.size();
    op.keys = k.data();
    op.state_sizes = sizes.data();
    op.algorithm = "counter";
    op.cost = c.cost;
    // Wraps CounterApply to also check the zero tails.
    struct Ctx {
      Counter* c;
      const std::vector<size_t>* sizes;
    } ctx{&c, &sizes};
    op.apply = [](void* p, void* const* states, int64_t now, int* wb, int64_t* ttl,
                  limify_verdict* out, limify_plugin_error* err) -> int32_t {
      auto* x = static_cast<Ctx*>(p);
      CheckTails(*x->c, states, *x->sizes);
      return CounterApply(x->c, states, now, wb, ttl, out, err);
    };
    op.apply_ctx = &ctx;
    limify_verdict local{};
    return Memory()->execute(instance, &op, verdict != nullptr ? verdict : &local, &err_);
  }
  int32_t Step(const std::vector<std::string>& keys, Counter& c,
               std::vector<size_t> sizes = {}) {
    return Step(instance_, keys, c, std::move(sizes));
  }

  // The count stored for `key`, read without writing anything back.
  int64_t Count(const std::string& key, size_t size = sizeof(int64_t),
                void* instance = nullptr) {
    Counter c;
    c.write = false;
    EXPECT_EQ(Step(instance != nullptr ? instance : instance_, {key}, c, {size}),
              LIMIFY_PLUGIN_OK);
    EXPECT_TRUE(c.tail_zero);
    return c.seen.empty() ? -1 : c.seen[0];
  }

  // Writes `count` steps of cost 1 on `key`.
  void Bump(const std::string& key, int times = 1, int64_t ttl_us = 60'000'000) {
    for (int i = 0; i < times; ++i) {
      Counter c;
      c.limit = 1'000'000;
      c.ttl_us = ttl_us;
      ASSERT_EQ(Step({key}, c), LIMIFY_PLUGIN_OK) << err_.message;
    }
  }

  int32_t Remove(const std::vector<std::string>& keys) {
    std::vector<limify_key> k;
    for (const std::string& key : keys) k.push_back({key.data(), key.size()});
    return Memory()->remove(instance_, k.data(), k.size(), &err_);
  }

  ManualClock clock_;
  void* instance_ = nullptr;
  limify_plugin_error err_;
};

// Keys that land in pairwise distinct shards of an instance with `shards`
// shards. The plugin and this binary share libabsl's per-process hash seed,
// so a table built here places keys exactly as the plugin does.
std::vector<std::string> KeysInDistinctShards(size_t n, uint32_t shards) {
  memory::MemoryStorage probe({1000, shards}, {});
  std::vector<std::string> keys;
  std::set<size_t> used;
  for (int i = 0; keys.size() < n; ++i) {
    std::string key = "key-" + std::to_string(i);
    if (used.insert(probe.ShardIndex(key)).second) keys.push_back(key);
  }
  return keys;
}

// Runs `work` on a helper thread; a deadlock fails the test (and aborts the
// binary, since the stuck threads cannot be joined) instead of hanging it.
void RunWithDeadline(std::function<void()> work, std::chrono::seconds limit) {
  auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
  auto done = std::make_shared<bool>(false);
  std::thread([work, state, done] {
    work();
    std::lock_guard<std::mutex> lock(state->first);
    *done = true;
    state->second.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(state->first);
  if (!state->second.wait_for(lock, limit, [&] { return *done; })) {
    std::fprintf(stderr, "deadlock: work did not finish within %llds\n",
                 static_cast<long long>(limit.count()));
    std::abort();
  }
}

// ---------------------------------------------------------------- manifest

TEST(MemoryPluginTest, ManifestDeclaresOneMemoryStorageUsingTheHostClock) {
  const limify_plugin_manifest* m = MemoryManifest();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->magic, LIMIFY_PLUGIN_MAGIC);
  EXPECT_EQ(m->abi_major, LIMIFY_PLUGIN_ABI_MAJOR);
  EXPECT_EQ(m->struct_size, sizeof(limify_plugin_manifest));
  EXPECT_STREQ(m->name, "limify_memory");
  EXPECT_STREQ(m->version, "0.1.0");
  EXPECT_EQ(m->n_algorithms, 0u);
  ASSERT_EQ(m->n_storages, 1u);
  const limify_storage* s = m->storages[0];
  EXPECT_EQ(s->struct_size, sizeof(limify_storage));
  EXPECT_STREQ(s->name, "memory");
  EXPECT_EQ(s->flags, LIMIFY_STORAGE_USES_HOST_CLOCK);
  EXPECT_NE(s->create, nullptr);
  EXPECT_NE(s->destroy, nullptr);
  EXPECT_NE(s->execute, nullptr);
  EXPECT_NE(s->remove, nullptr);
  EXPECT_NE(s->key_count, nullptr) << "ABI 1.1: the memory storage counts its keys";
}

// ----------------------------------------------------------------- options

TEST_F(MemoryStorageTest, AcceptsValidOptions) {
  for (const char* options :
       {"{}", "{\"max_keys\": 5}", "{\"shards\": 1}", "{\"shards\": 4096}",
        "{\"max_keys\": 1, \"shards\": 2}", " {\"max_keys\": 10000000000} "}) {
    EXPECT_EQ(Create(options), LIMIFY_PLUGIN_OK) << options << ": " << err_.message;
    EXPECT_NE(instance_, nullptr);
  }
  EXPECT_EQ(Create(nullptr), LIMIFY_PLUGIN_OK) << "NULL options mean defaults";
}

TEST_F(MemoryStorageTest, RejectsBadOptionsWithAMessageNamingTheOption) {
  struct Case {
    const char* options;
    const char* message;
  };
  const Case cases[] = {
      {R"({"max_keys": "abc"})", R"(max_keys: expected a positive integer, got "abc")"},
      {R"({"max_keys": 0})", "max_keys: expected a positive integer, got 0"},
      {R"({"max_keys": -5})", "max_keys: expected a positive integer, got -5"},
      {R"({"max_keys": 1.5})", "max_keys: expected a positive integer, got 1.5"},
      {R"({"max_keys": 1e6})", "max_keys: expected a positive integer, got 1000000.0"},
      {R"({"max_keys": null})", "max_keys: expected a positive integer, got null"},
      {R"({"shards": 3})", "shards: expected a power of two from 1 to 4096, got 3"},
      {R"({"shards": 0})", "shards: expected a power of two from 1 to 4096, got 0"},
      {R"({"shards": 8192})", "shards: expected a power of two from 1 to 4096, got 8192"},
      {R"({"shards": "64"})", R"(shards: expected a power of two from 1 to 4096, got "64")"},
      {R"({"shards": true})", "shards: expected a power of two from 1 to 4096, got true"},
      {R"({"colour": "red"})", "colour: unknown option (expected max_keys, shards)"},
      {R"({"type": "memory"})", "type: unknown option (expected max_keys, shards)"},
      {"[1, 2]", "options: expected a JSON object, got [1,2]"},
      {"42", "options: expected a JSON object, got 42"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Create(c.options), LIMIFY_PLUGIN_INVALID_ARGUMENT) << c.options;
    EXPECT_EQ(err_.code, LIMIFY_PLUGIN_INVALID_ARGUMENT) << c.options;
    EXPECT_EQ(err_.message, c.message) << c.options;
    EXPECT_EQ(instance_, nullptr) << c.options;
  }
}

TEST_F(MemoryStorageTest, RejectsMalformedJsonWithTheParseError) {
  for (const char* options : {"{\"max_keys\": ", "", "{max_keys: 1}"}) {
    EXPECT_EQ(Create(options), LIMIFY_PLUGIN_INVALID_ARGUMENT) << options;
    EXPECT_EQ(err_.message.rfind("options: malformed JSON (", 0), 0u) << err_.message;
    EXPECT_NE(err_.message.find("parse error"), std::string::npos) << err_.message;
    EXPECT_EQ(instance_, nullptr);
  }
}

TEST_F(MemoryStorageTest, RequiresTheHostClock) {
  Destroy();
  EXPECT_EQ(Memory()->create("{}", nullptr, &instance_, &err_),
            LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(err_.message, "create: the memory storage needs the host clock (env->now_us)");
  limify_storage_env env = clock_.Env();
  env.now_us = nullptr;
  EXPECT_EQ(Memory()->create("{}", &env, &instance_, &err_), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(instance_, nullptr);
}

// ------------------------------------------------------------------- state

TEST_F(MemoryStorageTest, MissingKeyStartsZeroed) {
  Counter c;
  ASSERT_EQ(Step({"fresh"}, c, {40}), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(c.seen, std::vector<int64_t>{0});
  EXPECT_TRUE(c.tail_zero) << "all 40 bytes of a new state are zero";
}

TEST_F(MemoryStorageTest, ApplyReceivesTheHostClockTime) {
  clock_.Set(123'456'789);
  Counter c;
  ASSERT_EQ(Step({"k"}, c), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(c.now_us, 123'456'789);
}

TEST_F(MemoryStorageTest, StatePersistsBetweenExecutes) {
  for (int64_t expected = 0; expected < 5; ++expected) {
    Counter c;
    ASSERT_EQ(Step({"k"}, c), LIMIFY_PLUGIN_OK);
    EXPECT_EQ(c.seen[0], expected);
  }
  // Large (out-of-line) states persist too.
  for (int64_t expected = 0; expected < 3; ++expected) {
    Counter c;
    ASSERT_EQ(Step({"big"}, c, {100}), LIMIFY_PLUGIN_OK);
    EXPECT_EQ(c.seen[0], expected);
    EXPECT_TRUE(c.tail_zero);
  }
}

TEST_F(MemoryStorageTest, VerdictComesFromApply) {
  Counter c;
  c.limit = 2;
  limify_verdict v{};
  ASSERT_EQ(Step(instance_, {"k"}, c, {}, &v), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(v.allowed, 1u);
  EXPECT_EQ(v.remaining, 1);
  Counter d;
  d.limit = 2;
  d.cost = 2;
  ASSERT_EQ(Step(instance_, {"k"}, d, {}, &v), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(v.allowed, 0u);
  EXPECT_EQ(Count("k"), 1);
}

TEST_F(MemoryStorageTest, ApplyNotWritingBackInsertsNothing) {
  // With room for one key, inserting a second would evict the first.
  ASSERT_EQ(Create(R"({"max_keys": 1, "shards": 1})"), LIMIFY_PLUGIN_OK);
  Bump("kept");
  for (const char* other : {"b", "c", "d"}) {
    Counter c;
    c.write = false;
    ASSERT_EQ(Step({other}, c), LIMIFY_PLUGIN_OK);
    Counter refused;
    refused.cost = 100;  // over the limit: refused, not written
    ASSERT_EQ(Step({other}, refused), LIMIFY_PLUGIN_OK);
  }
  EXPECT_EQ(Count("kept"), 1) << "a step without write-back inserted a key";
}

TEST_F(MemoryStorageTest, StateExpiresAfterItsTtl) {
  const int64_t t0 = clock_.now();
  Bump("k", 3, /*ttl_us=*/1000);
  clock_.Set(t0 + 999);
  EXPECT_EQ(Count("k"), 3) << "one microsecond before the ttl the state is live";
  clock_.Set(t0 + 1000);
  EXPECT_EQ(Count("k"), 0) << "at now + ttl the state is gone";
  // An expired entry is missing: the next write starts from zero.
  Bump("k", 1, 1000);
  EXPECT_EQ(Count("k"), 1);
}

TEST_F(MemoryStorageTest, EachWriteRenewsTheTtl) {
  const int64_t t0 = clock_.now();
  Bump("k", 1, 1000);
  clock_.Set(t0 + 900);
  Bump("k", 1, 1000);  // now expires at t0 + 1900
  clock_.Set(t0 + 1899);
  EXPECT_EQ(Count("k"), 2);
  clock_.Set(t0 + 1900);
  EXPECT_EQ(Count("k"), 0);
}

TEST_F(MemoryStorageTest, ZeroTtlDropsTheState) {
  Bump("k", 2);
  Bump("k", 1, /*ttl_us=*/0);  // the algorithm says the state is fresh again
  EXPECT_EQ(Count("k"), 0);
  Bump("new", 1, 0);
  EXPECT_EQ(Count("new"), 0);
}

TEST_F(MemoryStorageTest, ExpiryFollowsAClockThatGoesBack) {
  const int64_t t0 = clock_.now();
  Bump("k", 1, 1000);
  clock_.Set(t0 - 5'000'000);
  EXPECT_EQ(Count("k"), 1) << "still live: its expiry is in the future";
  Bump("other", 1, 10);  // an insert after the clock went back must not break
  EXPECT_EQ(Count("other"), 1);
}

TEST_F(MemoryStorageTest, StateSizeChangeTreatsTheKeyAsMissing) {
  Bump("k", 3);
  Counter c;
  ASSERT_EQ(Step({"k"}, c, {16}), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(c.seen[0], 0) << "16-byte state for a key holding 8 bytes";
  EXPECT_TRUE(c.tail_zero);
  EXPECT_EQ(Count("k", 16), 1) << "the new state replaced the old one";
  EXPECT_EQ(Count("k", 8), 0) << "and the old size is now the stranger";
}

TEST_F(MemoryStorageTest, RemoveForgetsTheKeys) {
  Bump("a", 2);
  Bump("b", 2);
  Bump("c", 2);
  ASSERT_EQ(Remove({"a", "b", "never-stored"}), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(Count("a"), 0);
  EXPECT_EQ(Count("b"), 0);
  EXPECT_EQ(Count("c"), 2);
  EXPECT_EQ(Memory()->remove(instance_, nullptr, 0, &err_), LIMIFY_PLUGIN_OK);
}

// ---------------------------------------------------------------- key_count

TEST_F(MemoryStorageTest, KeyCountIsTheEntriesHeld) {
  int64_t count = -1;
  ASSERT_EQ(Memory()->key_count(instance_, &count, &err_), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 0);
  Bump("a", 1);
  Bump("b", 1);
  Bump("a", 1);
  ASSERT_EQ(Memory()->key_count(instance_, &count, &err_), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 2);
  ASSERT_EQ(Remove({"a"}), LIMIFY_PLUGIN_OK);
  ASSERT_EQ(Memory()->key_count(instance_, &count, &err_), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 1);
}

TEST_F(MemoryStorageTest, KeyCountIncludesExpiredKeysNotYetSwept) {
  const int64_t t0 = clock_.now();
  Bump("k", 1, /*ttl_us=*/1000);
  clock_.Set(t0 + 2000);  // expired, but nothing swept the shard since
  int64_t count = -1;
  ASSERT_EQ(Memory()->key_count(instance_, &count, &err_), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(count, 1);
}

TEST_F(MemoryStorageTest, KeyCountRejectsNullArguments) {
  int64_t count = 0;
  EXPECT_EQ(Memory()->key_count(nullptr, &count, &err_), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(Memory()->key_count(instance_, nullptr, &err_), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(err_.message.find("key_count"), std::string::npos) << err_.message;
}

TEST_F(MemoryStorageTest, InstancesShareNothing) {
  void* other = nullptr;
  const limify_storage_env env = clock_.Env();
  ASSERT_EQ(Memory()->create("{}", &env, &other, &err_), LIMIFY_PLUGIN_OK);
  Bump("k", 2);
  EXPECT_EQ(Count("k", 8, other), 0);
  Counter c;
  ASSERT_EQ(Step(other, {"k"}, c), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(Count("k", 8, other), 1);
  EXPECT_EQ(Count("k"), 2);
  Memory()->destroy(other);
}

// ------------------------------------------------------------ multi-key op

TEST_F(MemoryStorageTest, MultiKeyStepChangesAllKeysOrNone) {
  const std::vector<std::string> keys = KeysInDistinctShards(3, 64);
  Counter full;
  full.limit = 5;
  full.cost = 5;
  ASSERT_EQ(Step({keys[1]}, full), LIMIFY_PLUGIN_OK);  // keys[1] is at its limit
  Bump(keys[0]);
  Bump(keys[2]);

  Counter c;
  c.limit = 5;
  limify_verdict v{};
  ASSERT_EQ(Step(instance_, keys, c, {}, &v), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(v.allowed, 0u);
  EXPECT_EQ(c.seen, (std::vector<int64_t>{1, 5, 1}));
  EXPECT_EQ(Count(keys[0]), 1) << "refused: nothing changed";
  EXPECT_EQ(Count(keys[1]), 5);
  EXPECT_EQ(Count(keys[2]), 1);

  Counter ok;
  ok.limit = 5;
  ASSERT_EQ(Step({keys[0], keys[2], "brand-new"}, ok), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(Count(keys[0]), 2) << "allowed: every key changed";
  EXPECT_EQ(Count(keys[2]), 2);
  EXPECT_EQ(Count("brand-new"), 1);
}

TEST_F(MemoryStorageTest, ApplyErrorsPropagateUnchanged) {
  Bump("k");
  for (int32_t code : {LIMIFY_PLUGIN_UNAVAILABLE, LIMIFY_PLUGIN_INTERNAL,
                       LIMIFY_PLUGIN_INVALID_ARGUMENT}) {
    err_ = {};
    Counter c;
    c.fail_code = code;
    EXPECT_EQ(Step({"k", "missing"}, c), code);
    EXPECT_EQ(err_.code, code);
    EXPECT_EQ(err_.message, "counter: refused to run");
  }
  EXPECT_EQ(Count("k"), 1);
  EXPECT_EQ(Count("missing"), 0);
}

TEST_F(MemoryStorageTest, RejectsMalformedOps) {
  Counter c;
  EXPECT_EQ(Step({"same", "other", "same"}, c), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(err_.message, "execute: op repeats a key (each limit needs its own key)");
  EXPECT_EQ(Step({}, c), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(err_.message, "execute: op has no keys");
  limify_verdict v{};
  EXPECT_EQ(Memory()->execute(instance_, nullptr, &v, &err_), LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(err_.message, "execute: op is NULL");
}

// -------------------------------------------------------------- concurrency

TEST_F(MemoryStorageTest, ConcurrentStepsOnOneKeyAllowExactlyTheLimit) {
  // Several rounds, one hot key each, all threads released together, so the
  // steps race while the limit is still being consumed.
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  constexpr int kStepsPerRound = 250;  // 8 x 250 = 2000 tries for 1000 slots
  std::atomic<int64_t> allowed[kRounds] = {};
  std::atomic<int> ready{0};
  RunWithDeadline(
      [&] {
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
          threads.emplace_back([&] {
            ready.fetch_add(1);
            while (ready.load() < kThreads) std::this_thread::yield();
            const size_t size = 8;
            for (int r = 0; r < kRounds; ++r) {
              const std::string key = "hot-" + std::to_string(r);
              const limify_key k{key.data(), key.size()};
              for (int i = 0; i < kStepsPerRound; ++i) {
                Counter c;
                c.limit = 1000;
                c.n_keys = 1;
                c.yield_inside = true;
                limify_storage_op op = {};
                op.struct_size = sizeof(op);
                op.n_keys = 1;
                op.keys = &k;
                op.state_sizes = &size;
                op.cost = 1;
                op.apply = &CounterApply;
                op.apply_ctx = &c;
                limify_verdict v{};
                limify_plugin_error err;
                ASSERT_EQ(Memory()->execute(instance_, &op, &v, &err), LIMIFY_PLUGIN_OK);
                if (v.allowed) allowed[r].fetch_add(1);
              }
            }
          });
        }
        for (auto& th : threads) th.join();
      },
      std::chrono::seconds(60));
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(allowed[r].load(), 1000) << "round " << r;
    EXPECT_EQ(Count("hot-" + std::to_string(r)), 1000) << "round " << r;
  }
}

TEST_F(MemoryStorageTest, ConcurrentOverlappingMultiKeyStepsNeitherDeadlockNorLose) {
  // Few shards so that keys share shards and every op spans several.
  ASSERT_EQ(Create(R"({"shards": 4})"), LIMIFY_PLUGIN_OK);
  constexpr int kThreads = 8;
  constexpr int kStepsPerThread = 3000;
  constexpr int kKeys = 6;
  std::vector<std::string> names;
  for (int i = 0; i < kKeys; ++i) names.push_back("multi-" + std::to_string(i));

  // Thread t, step i: three overlapping keys, in an order that differs
  // between threads (ascending for even threads, descending for odd ones).
  auto keys_of = [&](int t, int i) {
    std::vector<std::string> keys = {names[(t + i) % kKeys], names[(t + i + 1) % kKeys],
                                     names[(t + i + 3) % kKeys]};
    if (t % 2 == 1) std::reverse(keys.begin(), keys.end());
    return keys;
  };
  std::vector<int64_t> expected(kKeys, 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kStepsPerThread; ++i) {
      for (const std::string& k : keys_of(t, i)) {
        ++expected[std::stoi(k.substr(k.find('-') + 1))];
      }
    }
  }

  std::atomic<int> failures{0};
  RunWithDeadline(
      [&] {
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
          threads.emplace_back([&, t] {
            for (int i = 0; i < kStepsPerThread; ++i) {
              const std::vector<std::string> keys = keys_of(t, i);
              std::vector<limify_key> k;
              for (const std::string& key : keys) k.push_back({key.data(), key.size()});
              const size_t sizes[3] = {8, 8, 8};
              Counter c;
              c.limit = INT64_MAX / 2;
              c.n_keys = 3;
              c.yield_inside = true;
              limify_storage_op op = {};
              op.struct_size = sizeof(op);
              op.n_keys = 3;
              op.keys = k.data();
              op.state_sizes = sizes;
              op.cost = 1;
              op.apply = &CounterApply;
              op.apply_ctx = &c;
              limify_verdict v{};
              limify_plugin_error err;
              if (Memory()->execute(instance_, &op, &v, &err) != LIMIFY_PLUGIN_OK ||
                  !v.allowed) {
                failures.fetch_add(1);
              }
            }
          });
        }
        for (auto& th : threads) th.join();
      },
      std::chrono::seconds(60));
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(Count(names[i]), expected[i]) << names[i];
  }
}

// ------------------------------------------------------------------ max_keys

TEST_F(MemoryStorageTest, FloodOfDistinctKeysEvictsTheEarliestExpiringOnes) {
  constexpr int kMaxKeys = 100;
  constexpr int kInserted = 10 * kMaxKeys;
  ASSERT_EQ(Create(R"({"max_keys": 100, "shards": 1})"), LIMIFY_PLUGIN_OK);
  // Same ttl, advancing clock: the earlier a key is inserted, the earlier it
  // expires. Nothing expires during the test.
  for (int i = 0; i < kInserted; ++i) {
    clock_.Advance(1);
    Bump("flood-" + std::to_string(i), 1, /*ttl_us=*/3'600'000'000);
  }
  int survivors = 0;
  int early_survivors = 0;
  for (int i = 0; i < kInserted; ++i) {
    const int64_t count = Count("flood-" + std::to_string(i));
    ASSERT_TRUE(count == 0 || count == 1) << count;
    survivors += count;
    if (i < kMaxKeys) early_survivors += count;
  }
  EXPECT_EQ(survivors, kMaxKeys) << "the table holds exactly max_keys keys";
  EXPECT_EQ(early_survivors, 0) << "the first max_keys keys were evicted";
  EXPECT_EQ(Count("flood-" + std::to_string(kInserted - 1)), 1) << "the newest key is kept";
}

TEST_F(MemoryStorageTest, EvictedIdentityStartsFresh) {
  ASSERT_EQ(Create(R"({"max_keys": 1, "shards": 1})"), LIMIFY_PLUGIN_OK);
  Counter at_limit;
  at_limit.limit = 3;
  at_limit.cost = 3;
  ASSERT_EQ(Step({"victim"}, at_limit), LIMIFY_PLUGIN_OK);
  clock_.Advance(1);
  Bump("newcomer");  // expires later than "victim": the victim goes
  Counter c;
  c.limit = 3;
  limify_verdict v{};
  ASSERT_EQ(Step(instance_, {"victim"}, c, {}, &v), LIMIFY_PLUGIN_OK);
  EXPECT_EQ(c.seen[0], 0);
  EXPECT_EQ(v.allowed, 1u);
}

// --------------------------------------------------------------- allocation

TEST_F(MemoryStorageTest, StepOnAnExistingKeyAllocatesNothing) {
  const std::string key = "existing-key-long-enough-to-live-on-the-heap-0123456789";
  const limify_key k{key.data(), key.size()};
  const size_t size = 16;
  Counter c;
  c.limit = 1'000'000;
  c.n_keys = 1;
  c.seen.reserve(1);
  limify_storage_op op = {};
  op.struct_size = sizeof(op);
  op.n_keys = 1;
  op.keys = &k;
  op.state_sizes = &size;
  op.cost = 1;
  op.apply = &CounterApply;
  op.apply_ctx = &c;
  limify_verdict v{};
  limify_plugin_error err;
  int64_t before = AllocationsOnThisThread();
  ASSERT_EQ(Memory()->execute(instance_, &op, &v, &err), LIMIFY_PLUGIN_OK);
  EXPECT_GT(AllocationsOnThisThread(), before) << "inserting a new key allocates "
                                                  "(proves the counter sees the plugin)";
  before = AllocationsOnThisThread();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Memory()->execute(instance_, &op, &v, &err), LIMIFY_PLUGIN_OK);
  }
  EXPECT_EQ(AllocationsOnThisThread(), before);
  EXPECT_EQ(c.seen[0], 100);
}

}  // namespace
}  // namespace limify::testing
