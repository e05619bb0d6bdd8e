// Engine::CheckBatch: every item is decided exactly as Check would decide it
// (same decisions, metrics, errors), whether the storage takes the batch in
// one call (memory's execute_batch) or the engine loops over a storage that
// has none (an ABI 1.1 plugin).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/plugin_error.h"
#include "engine/plugin_validation.h"
#include "nlohmann/json.hpp"

namespace limify {
namespace {

using Json = nlohmann::json;

// Two rules (one with two limits and plans) and paths no rule matches.
constexpr char kMemoryConfig[] = R"({
  "storage": {"type": "memory"}, "clock": "manual",
  "rules": [
    {"id": "a", "path": "/a", "rate": "3/minute"},
    {"id": "b", "path": "/b", "algorithm": "fixed_window", "rate": ["2/second", "4/minute"],
     "plans": {"pro": "5/second"}}
  ]
})";

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

// A mixed batch: rules a and b and no rule, three identities, a plan, costs
// 1 and 2, the same identity many times (so later items see earlier ones).
std::vector<Request> MixedBatch() {
  static const char* const kPaths[] = {"/a", "/b", "/none", "/b"};
  static const char* const kUsers[] = {"alice", "bob", "carol"};
  std::vector<Request> batch;
  for (int i = 0; i < 36; ++i) {
    Request r;
    r.method = "GET";
    r.path = kPaths[i % 4];
    r.user_id = kUsers[(i / 4) % 3];
    if (i % 7 == 3) r.plan = "pro";
    r.cost = i % 5 == 4 ? 2 : 1;
    batch.push_back(r);
  }
  return batch;
}

void ExpectSameDecision(const Decision& batch, const Decision& single) {
  EXPECT_EQ(batch.allowed, single.allowed);
  EXPECT_EQ(batch.matched, single.matched);
  EXPECT_EQ(batch.degraded, single.degraded);
  EXPECT_EQ(batch.limit, single.limit);
  EXPECT_EQ(batch.remaining, single.remaining);
  EXPECT_EQ(batch.period_us, single.period_us);
  EXPECT_EQ(batch.reset_after_us, single.reset_after_us);
  EXPECT_EQ(batch.retry_after_us, single.retry_after_us);
  EXPECT_EQ(batch.rule_id.view(), single.rule_id.view());
  EXPECT_EQ(batch.plan_id.view(), single.plan_id.view());
}

Json Stats(const Engine& engine) {
  absl::StatusOr<std::string> text = engine.Stats(StatsFormat::kJson);
  EXPECT_TRUE(text.ok()) << text.status();
  return Json::parse(text.ok() ? *text : "{}");
}

uint64_t Decisions(const Engine& engine) {
  uint64_t total = 0;
  const Json stats = Stats(engine);
  for (const Json& row : stats["decisions"]) {
    total += row["allowed"].get<uint64_t>() + row["denied"].get<uint64_t>();
  }
  return total;
}

// The storage vtable a plugin file declares (the first storage).
const limify_storage* StorageOf(const std::string& file) {
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  if (handle == nullptr) return nullptr;
  auto entry = reinterpret_cast<limify_plugin_entry_fn>(dlsym(handle, LIMIFY_PLUGIN_ENTRY_SYMBOL));
  const limify_plugin_manifest* manifest = entry != nullptr ? entry(HostApi()) : nullptr;
  return manifest != nullptr && manifest->n_storages > 0 ? manifest->storages[0] : nullptr;
}

TEST(EngineBatchTest, MemoryDeclaresExecuteBatchAnAbi11StorageDoesNot) {
  const limify_storage* memory = StorageOf(std::string(LIMIFY_BUILD_PLUGIN_DIR) + "/limify_memory.so");
  ASSERT_NE(memory, nullptr);
  EXPECT_NE(StorageExecuteBatch(memory), nullptr);
  const limify_storage* old = StorageOf(std::string(LIMIFY_TEST_PLUGIN_DIR) +
                                        "/switchable_storage/switchable_storage.so");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(StorageExecuteBatch(old), nullptr);
}

int32_t FakeBatch(void*, const limify_storage_op* const*, size_t, limify_verdict* const*,
                  int32_t*, limify_plugin_error* const*, limify_plugin_error*) {
  return LIMIFY_PLUGIN_INTERNAL;
}

TEST(EngineBatchTest, ExecuteBatchIsReadOnlyWhenTheStructSizeCoversIt) {
  limify_storage storage{};
  storage.execute_batch = &FakeBatch;
  storage.struct_size = sizeof(limify_storage);
  EXPECT_EQ(StorageExecuteBatch(&storage), &FakeBatch);
  // A 1.1 plugin: whatever lies past its struct is not its execute_batch.
  storage.struct_size = kStorageKeyCountSize;
  EXPECT_EQ(StorageExecuteBatch(&storage), nullptr);
  static_assert(kStorageKeyCountSize < kStorageExecuteBatchSize);
  static_assert(kStorageExecuteBatchSize == sizeof(limify_storage));
}

TEST(EngineBatchTest, ABatchDecidesLikeOneCheckAfterAnother) {
  auto batched = MakeEngine(kMemoryConfig);
  auto single = MakeEngine(kMemoryConfig);
  ASSERT_NE(batched, nullptr);
  ASSERT_NE(single, nullptr);
  const std::vector<Request> batch = MixedBatch();
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::vector<Decision> decisions(batch.size());
    std::vector<absl::Status> statuses(batch.size());
    batched->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
    int allowed = 0, denied = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      SCOPED_TRACE(absl::StrCat("item ", i));
      Decision expected;
      ASSERT_TRUE(single->Check(batch[i], &expected).ok());
      ASSERT_TRUE(statuses[i].ok()) << statuses[i];
      ExpectSameDecision(decisions[i], expected);
      (decisions[i].allowed ? allowed : denied) += decisions[i].matched ? 1 : 0;
    }
    EXPECT_GT(allowed, 0);
    EXPECT_GT(denied, 0) << "the batch must reach the limits to mean anything";
    ASSERT_TRUE(batched->AdvanceClock(700'000).ok());
    ASSERT_TRUE(single->AdvanceClock(700'000).ok());
  }
  EXPECT_EQ(Decisions(*batched), Decisions(*single));
}

TEST(EngineBatchTest, AnItemInErrorFailsAloneAndTheOthersAreDecided) {
  auto engine = MakeEngine(kMemoryConfig);
  ASSERT_NE(engine, nullptr);
  std::vector<Request> batch = MixedBatch();
  batch.resize(8);
  batch[2].cost = 0;
  batch[5].cost = -3;
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  uint64_t decided = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("item ", i));
    if (i == 2 || i == 5) {
      EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(statuses[i].message().find("cost must be >= 1"), std::string::npos) << statuses[i];
      continue;
    }
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_TRUE(decisions[i].allowed);
    ++decided;
  }
  EXPECT_EQ(Decisions(*engine), decided) << "each decided item is counted once (unmatched too)";
  EXPECT_EQ(Stats(*engine)["errors"], 2) << "each failed item is counted as an error";
}

TEST(EngineBatchTest, AnEmptyBatchDoesNothing) {
  auto engine = MakeEngine(kMemoryConfig);
  ASSERT_NE(engine, nullptr);
  engine->CheckBatch(nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(Decisions(*engine), 0u);
}

// ---- A storage without execute_batch that fails on command ---------------

class Switch {
 public:
  Switch() {
    const std::string path =
        std::string(LIMIFY_TEST_PLUGIN_DIR) + "/switchable_storage/switchable_storage.so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(handle_, nullptr) << "create an engine on it first: " << dlerror();
    if (handle_ == nullptr) return;
    fail_with_ = reinterpret_cast<void (*)(int32_t)>(dlsym(handle_, "switchable_storage_fail_with"));
    calls_ = reinterpret_cast<uint64_t (*)()>(dlsym(handle_, "switchable_storage_calls"));
    fail_with_(0);
  }
  ~Switch() {
    if (handle_ == nullptr) return;
    fail_with_(0);
    dlclose(handle_);
  }
  void FailWith(int32_t code) { fail_with_(code); }
  uint64_t calls() { return calls_(); }

 private:
  void* handle_ = nullptr;
  void (*fail_with_)(int32_t) = nullptr;
  uint64_t (*calls_)() = nullptr;
};

std::string SwitchableConfig(const std::string& failure_mode) {
  return absl::StrCat(
      R"({"storage": {"type": "switchable"}, "clock": "manual", "plugin_paths": [")",
      LIMIFY_TEST_PLUGIN_DIR, R"(/switchable_storage"], "failure_mode": ")", failure_mode,
      R"(", "circuit_breaker": {"failure_threshold": 3, "recovery_timeout_ms": 200},)",
      R"( "rules": [{"id": "s", "path": "/s", "rate": "2/minute"}]})");
}

std::vector<Request> Users(size_t n) {
  static const char* const kUsers[] = {"u0", "u1", "u2", "u3"};
  std::vector<Request> batch(n);
  for (size_t i = 0; i < n; ++i) {
    batch[i].method = "GET";
    batch[i].path = "/s";
    batch[i].user_id = kUsers[i % 4];
  }
  return batch;
}

TEST(EngineBatchTest, AStorageWithoutExecuteBatchIsCalledOncePerItem) {
  auto engine = MakeEngine(SwitchableConfig("closed"));
  ASSERT_NE(engine, nullptr);
  Switch storage;
  const std::vector<Request> batch = Users(12);  // 3 per user against 2/minute
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  const uint64_t before = storage.calls();
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  EXPECT_EQ(storage.calls() - before, batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_EQ(decisions[i].allowed, i < 8) << "item " << i;
    EXPECT_FALSE(decisions[i].degraded);
  }
}

TEST(EngineBatchTest, AFailingStorageGetsTheFailurePolicyPerItemAndTheBreakerOpens) {
  auto engine = MakeEngine(SwitchableConfig("open"));
  ASSERT_NE(engine, nullptr);
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  const std::vector<Request> batch = Users(10);
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  const uint64_t before = storage.calls();
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << "a storage failure is never an error: " << statuses[i];
    EXPECT_TRUE(decisions[i].allowed) << "failure_mode \"open\"";
    EXPECT_TRUE(decisions[i].degraded);
  }
  // Admission is decided before the steps run, so the whole batch reaches
  // the storage; the next batch is short-circuited.
  EXPECT_EQ(storage.calls() - before, batch.size());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  EXPECT_EQ(storage.calls() - before, batch.size()) << "the breaker opened";
  const Json stats = Stats(*engine);
  EXPECT_EQ(stats["circuit_breaker"]["state"], 1);
  EXPECT_EQ(stats["circuit_breaker"]["short_circuited"], batch.size());
  EXPECT_EQ(Decisions(*engine), 2 * batch.size());
}

}  // namespace
}  // namespace limify
