// ExecuteBatch: many checks in one pipelined round trip per server, with the
// same decisions as one Execute after another; what the pipeline cannot
// settle (NOSCRIPT, the generic path) is sent again alone.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

using redis::ReplyPtr;
using redis::RedisStorage;

// On the cluster, or on a server of the test's own: these tests count script
// calls, which a SCRIPT FLUSH by a test running beside them would change.
class BatchTest : public ::testing::TestWithParam<bool /*cluster*/> {
 protected:
  void SetUp() override {
    if (!GetParam()) solo_ = std::make_unique<LocalServer>();
  }
  std::string Url() const { return GetParam() ? ServerUrl("c1") : solo_->url(); }
  std::vector<int> Ports() const {
    if (!GetParam()) return {solo_->port()};
    return {ServerPort("c1"), ServerPort("c2"), ServerPort("c3")};
  }

 private:
  std::unique_ptr<LocalServer> solo_;
};

TEST_P(BatchTest, ABatchDecidesLikeOneCheckAfterAnother) {
  auto storage = MakeCore(Options(Url()));
  // 12 identities (spread over the cluster's nodes), each checked 4 times in
  // one batch against 3 per hour: allowed, allowed, allowed, denied. One
  // identity's limit is too large for Lua, so it takes the generic path.
  std::vector<Rule> rules;
  for (int r = 0; r < 12; ++r) {
    const char* algorithm = r % 3 == 0 ? "fixed_window" : r % 3 == 1 ? "gcra" : "sliding_window";
    rules.push_back(MakeRule(algorithm, {Spec(3, kHour), Spec(50, kDay)}, UniqueName("batch")));
  }
  rules.push_back(MakeRule("token_bucket", {Spec(1'000'000, 7 * kDay)}, UniqueName("batch-big")));
  std::vector<LimitApplication> apps(rules.size() * 4);
  std::vector<limify_storage_op> ops;
  for (int round = 0; round < 4; ++round) {
    for (size_t r = 0; r < rules.size(); ++r) {
      ops.push_back(MakeOp(rules[r], &apps[ops.size()], 1, false));
    }
  }
  // Every script cached on every server the rules live on (a peek writes
  // nothing), so pass 0 meets no NOSCRIPT.
  for (const Rule& rule : rules) ASSERT_EQ(Step(*storage, rule, 1, /*peek=*/true).code, 0);
  const uint64_t generic_before = storage->counters().generic.load();
  // Every script gone: the whole pipeline answers NOSCRIPT once; then fine.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      for (int port : Ports()) RedisCli(port, "SCRIPT FLUSH");
      for (Rule& rule : rules) {  // fresh identities for the second pass
        rule = MakeRule(rule.algorithm_name, rule.specs, UniqueName("batch2"));
      }
      ops.clear();
      for (int round = 0; round < 4; ++round) {
        for (size_t r = 0; r < rules.size(); ++r) {
          ops.push_back(MakeOp(rules[r], &apps[ops.size()], 1, false));
        }
      }
    }
    const uint64_t batches_before = storage->counters().native_batches.load();
    const std::vector<StepResult> results = Batch(*storage, ops);
    // Pass 0: each identity's checks share a script call (on the cluster,
    // where each identity has a slot of its own; standalone, each script's
    // checks share one). Pass 1 answers NOSCRIPT: each check is sent alone.
    EXPECT_EQ(storage->counters().native_batches.load() - batches_before,
              pass == 1 ? 0u : GetParam() ? 12u : 3u);
    for (size_t i = 0; i < ops.size(); ++i) {
      const size_t round = i / rules.size(), r = i % rules.size();
      SCOPED_TRACE(::testing::Message() << "pass " << pass << " rule " << r << " round " << round);
      ASSERT_EQ(results[i].code, LIMIFY_PLUGIN_OK) << results[i].error;
      const limify_verdict& out = results[i].verdict;
      if (r == rules.size() - 1) {
        EXPECT_TRUE(out.allowed);
        EXPECT_EQ(out.remaining, 1'000'000 - 1 - static_cast<int64_t>(round));
      } else {
        EXPECT_EQ(out.allowed, round < 3 ? 1u : 0u);
        EXPECT_EQ(out.remaining, round < 3 ? 2 - static_cast<int64_t>(round) : 0);
        EXPECT_EQ(out.binding_limit, 0u);
      }
    }
  }
  EXPECT_EQ(storage->counters().generic.load() - generic_before, 8u);
  EXPECT_GE(storage->counters().script_loads.load(), 1u);
}

// The batch form decides each check exactly as a call of its own at the same
// instant: verdicts, stored states and expiries, every algorithm, several
// limits, costs and peeks.
TEST_P(BatchTest, TheBatchFormGivesTheVerdictsAndStatesOfOneCallEach) {
  auto storage = MakeCore(Options(Url()));
  RedisStorage::Hooks hooks;
  hooks.has_now = true;
  // A minute ahead of the server's clock, so that no state expires meanwhile.
  hooks.now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count() +
                 kMinute + 123'456;
  struct Move {
    int64_t cost;
    bool peek;
  };
  const std::vector<Move> moves = {{1, false}, {2, false}, {1, true}, {3, false},
                                   {2, false}, {1, true},  {9, false}, {1, false}};
  for (const std::string& algorithm : AllAlgorithms()) {
    SCOPED_TRACE(algorithm);
    const std::vector<limify_limit_spec> specs = {Spec(6, kMinute), Spec(8, kHour)};
    // One rule with two limits and one with one, each twice: batched and alone.
    Rule batched[2] = {MakeRule(algorithm, specs, UniqueName("bf-" + algorithm)),
                       MakeRule(algorithm, {Spec(5, kSecond)}, UniqueName("bf1-" + algorithm))};
    Rule alone[2] = {MakeRule(algorithm, specs, UniqueName("al-" + algorithm)),
                     MakeRule(algorithm, {Spec(5, kSecond)}, UniqueName("al1-" + algorithm))};
    for (int r = 0; r < 2; ++r) {
      ASSERT_EQ(Step(*storage, batched[r], 1, true, &hooks).code, 0);  // scripts cached
    }
    std::vector<LimitApplication> apps(2 * moves.size());
    std::vector<limify_storage_op> ops;
    for (const Move& m : moves) {
      for (int r = 0; r < 2; ++r) ops.push_back(MakeOp(batched[r], &apps[ops.size()], m.cost, m.peek));
    }
    const uint64_t batches_before = storage->counters().native_batches.load();
    const std::vector<StepResult> got = Batch(*storage, ops, &hooks);
    EXPECT_EQ(storage->counters().native_batches.load() - batches_before, GetParam() ? 2u : 1u);
    for (size_t i = 0; i < ops.size(); ++i) {
      const Move& m = moves[i / 2];
      const StepResult want = Step(*storage, alone[i % 2], m.cost, m.peek, &hooks);
      SCOPED_TRACE(::testing::Message() << "check " << i);
      ASSERT_TRUE(SameResult(want, got[i])) << "want " << want << "\n got " << got[i];
    }
    for (int r = 0; r < 2; ++r) {
      for (size_t k = 0; k < batched[r].keys.size(); ++k) {
        EXPECT_EQ(GetRaw(*storage, batched[r].keys[k]), GetRaw(*storage, alone[r].keys[k]));
        EXPECT_EQ(ExpireTimeMs(*storage, batched[r].keys[k]),
                  ExpireTimeMs(*storage, alone[r].keys[k]));
      }
    }
  }
}

// A check that fails inside a batch's script call (its key holds a list)
// gets its own error; the others in the call are decided once each, and
// nothing is sent again.
TEST(BatchFormTest, OneFailingCheckFailsAloneAndNoCheckIsChargedTwice) {
  LocalServer server;
  auto storage = MakeCore(Options(server.url()));
  const Rule good = MakeRule("fixed_window", {Spec(5, kHour)}, UniqueName("bad-neighbour"));
  const Rule bad = MakeRule("fixed_window", {Spec(5, kHour)}, UniqueName("bad"));
  ASSERT_EQ(Step(*storage, good, 1, /*peek=*/true).code, 0);  // script cached
  ReplyPtr reply;
  std::string error;
  const std::string bad_key = storage->options().key_prefix + bad.keys[0];
  ASSERT_EQ(storage->Command(bad_key, {"RPUSH", bad_key, "not a state"}, &reply, &error),
            LIMIFY_PLUGIN_OK)
      << error;
  LimitApplication apps[3];
  const std::vector<limify_storage_op> ops = {MakeOp(good, &apps[0], 1, false),
                                              MakeOp(bad, &apps[1], 1, false),
                                              MakeOp(good, &apps[2], 1, false)};
  const uint64_t batches_before = storage->counters().native_batches.load();
  const std::vector<StepResult> got = Batch(*storage, ops);
  EXPECT_EQ(storage->counters().native_batches.load() - batches_before, 1u);
  ASSERT_EQ(got[0].code, LIMIFY_PLUGIN_OK) << got[0].error;
  EXPECT_EQ(got[0].verdict.remaining, 4);
  EXPECT_EQ(got[1].code, LIMIFY_PLUGIN_INTERNAL);
  EXPECT_NE(got[1].error.find("WRONGTYPE"), std::string::npos) << got[1].error;
  ASSERT_EQ(got[2].code, LIMIFY_PLUGIN_OK) << got[2].error;
  EXPECT_EQ(got[2].verdict.remaining, 3);
  // Two checks were charged, once each.
  EXPECT_EQ(Step(*storage, good, 1).verdict.remaining, 2);
}

// More checks than one call takes go out as several calls of the batch form
// in one pipeline, in order: exactly the limit is allowed.
TEST(BatchFormTest, ALargeBatchIsSplitIntoCallsAndStaysExact) {
  LocalServer server;
  auto storage = MakeCore(Options(server.url()));
  const Rule rule = MakeRule("gcra", {Spec(150, kHour, 150)}, UniqueName("large"));
  ASSERT_EQ(Step(*storage, rule, 1, /*peek=*/true).code, 0);  // script cached
  std::vector<LimitApplication> apps(200);
  std::vector<limify_storage_op> ops;
  for (size_t i = 0; i < apps.size(); ++i) ops.push_back(MakeOp(rule, &apps[i], 1, false));
  const uint64_t batches_before = storage->counters().native_batches.load();
  const std::vector<StepResult> got = Batch(*storage, ops);
  EXPECT_EQ(storage->counters().native_batches.load() - batches_before, 4u);  // 64+64+64+8
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "check " << i);
    ASSERT_EQ(got[i].code, LIMIFY_PLUGIN_OK) << got[i].error;
    EXPECT_EQ(got[i].verdict.allowed, i < 150 ? 1u : 0u);
    if (i < 150) {
      EXPECT_EQ(got[i].verdict.remaining, 149 - static_cast<int64_t>(i));
    }
  }
}

// Through the ABI: an invalid op gets its own error; the valid ones around
// it are decided together, in batch order.
TEST(BatchFormTest, ThePluginAnswersAnInvalidOpAloneAndTheOthers) {
  ASSERT_NE(RedisPlugin()->execute_batch, nullptr);
  PluginStorage plugin(Options(ServerUrl("main")));
  ASSERT_TRUE(plugin.ok()) << plugin.create_error();
  const Rule rule = MakeRule("fixed_window", {Spec(2, kMinute)}, UniqueName("batch-abi"));
  LimitApplication apps[4];
  std::vector<limify_storage_op> ops;
  for (LimitApplication& app : apps) ops.push_back(MakeOp(rule, &app, 1, false));
  ops[1].cost = 0;  // invalid: CheckStorageOp refuses it
  StepResult call;
  const std::vector<StepResult> got = plugin.Batch(ops, &call);
  EXPECT_EQ(call.code, LIMIFY_PLUGIN_OK) << call.error;
  EXPECT_EQ(got[1].code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(got[1].error.find("cost"), std::string::npos) << got[1].error;
  // The three valid ops of a limit of 2, in batch order: allowed, allowed, denied.
  for (size_t i : {0, 2, 3}) ASSERT_EQ(got[i].code, LIMIFY_PLUGIN_OK) << got[i].error;
  EXPECT_EQ(got[0].verdict.allowed, 1u);
  EXPECT_EQ(got[0].verdict.remaining, 1);
  EXPECT_EQ(got[2].verdict.allowed, 1u);
  EXPECT_EQ(got[2].verdict.remaining, 0);
  EXPECT_EQ(got[3].verdict.allowed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Servers, BatchTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Cluster" : "Standalone"; });

}  // namespace
}  // namespace limify::testing
