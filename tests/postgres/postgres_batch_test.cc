// execute_batch (plugin ABI 1.2): a batch gives the same decisions, and
// leaves the same states, as the same ops run one by one through execute.
// The batch mixes every algorithm, rules of one to three limits, several
// ops on one key (which must take effect in batch order), peeks, denials,
// more ops than one pipeline slice, and a third-party algorithm (generic
// path), at a time passed in so that both runs decide at the same instants.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include <pqxx/binarystring>
#include <pqxx/transaction>

#include "tests/postgres/postgres_harness.h"
#include "tests/postgres/postgres_test_env.h"

namespace limify::testing {
namespace {

using postgres::PostgresStorage;

constexpr int64_t kStart = 4'102'444'800'000'000;  // 2100-01-01, in Unix microseconds

struct BatchOp {
  size_t rule;  // index into the rules
  int64_t cost;
  bool peek;
};

// The ops of `rules`, one StepResult each, through ExecuteBatch in one call.
std::vector<StepResult> RunBatch(PostgresStorage& storage, const std::vector<Rule>& rules,
                                 const std::vector<BatchOp>& batch,
                                 const PostgresStorage::Hooks* hooks = nullptr) {
  std::deque<LimitApplication> apps(batch.size());  // the ops point into these
  std::vector<limify_storage_op> ops;
  std::vector<StepResult> results(batch.size());
  std::vector<limify_plugin_error> errors(batch.size());
  std::vector<const limify_storage_op*> op_ptrs;
  std::vector<limify_verdict*> outs;
  std::vector<limify_plugin_error*> errs;
  ops.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    ops.push_back(MakeOp(rules[batch[i].rule], &apps[i], batch[i].cost, batch[i].peek));
    results[i].verdict.struct_size = sizeof results[i].verdict;
    op_ptrs.push_back(&ops.back());
    outs.push_back(&results[i].verdict);
    errs.push_back(&errors[i]);
  }
  std::vector<int32_t> codes(batch.size(), -1);
  storage.ExecuteBatch(op_ptrs.data(), op_ptrs.size(), outs.data(), codes.data(), errs.data(),
                       hooks);
  for (size_t i = 0; i < batch.size(); ++i) {
    results[i].code = codes[i];
    if (codes[i] != LIMIFY_PLUGIN_OK) results[i].error = errors[i].message;
  }
  return results;
}

TEST(PostgresBatchTest, ABatchDecidesAsTheSameChecksOneByOne) {
  auto storage = MakeCore(Options(ServerUrl()));
  std::mt19937_64 rng(5);
  // Each rule twice, with identical limits: one copy checked one by one,
  // the other in batches.
  std::vector<Rule> one_by_one, batched;
  std::vector<std::string> algorithms = AllAlgorithms();
  algorithms.push_back("quota");
  const std::string tag = UniqueName("batch");
  for (const std::string& algorithm : algorithms) {
    for (size_t n_limits = 1; n_limits <= 3; ++n_limits) {
      std::vector<limify_limit_spec> specs;
      for (size_t k = 0; k < n_limits; ++k) {
        specs.push_back(Spec(2 + static_cast<int64_t>(rng() % 6), kSecond * (1 + rng() % 10)));
      }
      const std::string name = algorithm + std::to_string(n_limits);
      one_by_one.push_back(MakeRule(algorithm, specs, tag + "_a_" + name));
      batched.push_back(MakeRule(algorithm, specs, tag + "_b_" + name));
    }
  }
  int64_t now = kStart;
  size_t allowed = 0, denied = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<BatchOp> batch;
    for (int i = 0; i < 150; ++i) {
      batch.push_back(BatchOp{rng() % batched.size(), 1 + static_cast<int64_t>(rng() % 3),
                              rng() % 8 == 0});
    }
    PostgresStorage::Hooks hooks;
    hooks.has_now = true;
    hooks.now_us = now;
    const uint64_t native_before = storage->counters().native.load();
    const std::vector<StepResult> got = RunBatch(*storage, batched, batch, &hooks);
    size_t native_ops = 0;
    for (const BatchOp& op : batch) native_ops += batched[op.rule].algorithm_name != "quota";
    EXPECT_EQ(storage->counters().native.load() - native_before, native_ops);
    for (size_t i = 0; i < batch.size(); ++i) {
      const StepResult want =
          Step(*storage, one_by_one[batch[i].rule], batch[i].cost, batch[i].peek, &hooks);
      SCOPED_TRACE(::testing::Message() << "round " << round << " op " << i << " rule "
                                        << batched[batch[i].rule].keys[0]);
      ASSERT_EQ(want.code, LIMIFY_PLUGIN_OK) << want.error;
      ASSERT_TRUE(SameResult(want, got[i])) << "one by one " << want << "\n batched " << got[i];
      (want.verdict.allowed ? allowed : denied) += 1;
    }
    now += 700'000;
  }
  // The scenario denied as well as allowed.
  EXPECT_GT(allowed, 0u);
  EXPECT_GT(denied, 0u);
  // Every key ends in the same state and expiry.
  for (size_t r = 0; r < batched.size(); ++r) {
    for (size_t k = 0; k < batched[r].keys.size(); ++k) {
      std::string a, b;
      int64_t a_expires = 0, b_expires = 0;
      const bool a_exists = ReadRow(one_by_one[r].keys[k], &a, &a_expires);
      const bool b_exists = ReadRow(batched[r].keys[k], &b, &b_expires);
      EXPECT_EQ(a_exists, b_exists) << batched[r].keys[k];
      EXPECT_EQ(a, b) << batched[r].keys[k];
      EXPECT_EQ(a_expires, b_expires) << batched[r].keys[k];
    }
  }
}

TEST(PostgresBatchTest, AnOpThatTimesOutFailsAloneAndTheConnectionServesOn) {
  constexpr int kTimeoutMs = 300;
  auto storage = MakeCore("{\"url\": \"" + ServerUrl() + "\", \"statement_timeout_ms\": " +
                          std::to_string(kTimeoutMs) +
                          ", \"connect_timeout_ms\": 2000, \"sweep_interval_ms\": 0, "
                          "\"pool_size\": 1}");
  const std::string tag = UniqueName("batch_lock");
  std::vector<Rule> rules;
  for (const char* name : {"a", "locked", "b"}) {
    rules.push_back(MakeRule("fixed_window", {Spec(10, kHour)}, tag + "_" + name));
  }
  ASSERT_EQ(Step(*storage, rules[1], 1).code, LIMIFY_PLUGIN_OK);  // the row to lock
  auto holder = Connect();
  pqxx::work lock(*holder);
  lock.exec_params("SELECT 1 FROM limify.state WHERE key = $1 FOR UPDATE",
                   pqxx::binarystring(rules[1].keys[0]));
  const std::vector<StepResult> got = RunBatch(*storage, rules, {{0, 1, false}, {1, 1, false},
                                                                 {2, 1, false}});
  EXPECT_EQ(got[0].code, LIMIFY_PLUGIN_OK) << got[0];
  EXPECT_EQ(got[1].code, LIMIFY_PLUGIN_TIMEOUT) << got[1];
  EXPECT_EQ(got[2].code, LIMIFY_PLUGIN_OK) << got[2];
  EXPECT_EQ(got[0].verdict.remaining, 9);
  EXPECT_EQ(got[2].verdict.remaining, 9);
  lock.abort();
  // The one connection of the pool was kept and serves the next batch; the
  // op that timed out consumed nothing.
  const uint64_t connects = storage->Connects();
  const std::vector<StepResult> after = RunBatch(*storage, rules, {{1, 1, false}, {0, 1, false}});
  ASSERT_EQ(after[0].code, LIMIFY_PLUGIN_OK) << after[0];
  ASSERT_EQ(after[1].code, LIMIFY_PLUGIN_OK) << after[1];
  EXPECT_EQ(after[0].verdict.remaining, 8);
  EXPECT_EQ(after[1].verdict.remaining, 8);
  EXPECT_EQ(storage->Connects(), connects);
}

TEST(PostgresBatchTest, ThePluginAnswersAnInvalidOpAloneAndTheOthers) {
  ASSERT_NE(PostgresPlugin()->execute_batch, nullptr);
  void* instance = nullptr;
  limify_storage_env env{};
  env.struct_size = sizeof env;
  limify_plugin_error create_err;
  ASSERT_EQ(PostgresPlugin()->create(Options(ServerUrl()).c_str(), &env, &instance, &create_err),
            LIMIFY_PLUGIN_OK)
      << create_err.message;
  const Rule rule = MakeRule("fixed_window", {Spec(2, kMinute)}, UniqueName("batch_abi"));
  std::deque<LimitApplication> apps(4);
  std::vector<limify_storage_op> ops;
  for (size_t i = 0; i < 4; ++i) ops.push_back(MakeOp(rule, &apps[i], 1, false));
  ops[1].cost = 0;  // invalid: CheckStorageOp refuses it
  std::vector<limify_verdict> verdicts(4);
  std::vector<limify_plugin_error> errors(4);
  std::vector<const limify_storage_op*> op_ptrs;
  std::vector<limify_verdict*> outs;
  std::vector<limify_plugin_error*> errs;
  for (size_t i = 0; i < 4; ++i) {
    verdicts[i].struct_size = sizeof verdicts[i];
    op_ptrs.push_back(&ops[i]);
    outs.push_back(&verdicts[i]);
    errs.push_back(&errors[i]);
  }
  std::vector<int32_t> codes(4, -1);
  limify_plugin_error err;
  EXPECT_EQ(PostgresPlugin()->execute_batch(instance, op_ptrs.data(), 4, outs.data(),
                                            codes.data(), errs.data(), &err),
            LIMIFY_PLUGIN_OK)
      << err.message;
  EXPECT_EQ(codes[1], LIMIFY_PLUGIN_INVALID_ARGUMENT);
  // The three valid ops of a limit of 2, in batch order: allowed, allowed, denied.
  EXPECT_EQ(codes[0], LIMIFY_PLUGIN_OK) << errors[0].message;
  EXPECT_EQ(codes[2], LIMIFY_PLUGIN_OK) << errors[2].message;
  EXPECT_EQ(codes[3], LIMIFY_PLUGIN_OK) << errors[3].message;
  EXPECT_EQ(verdicts[0].allowed, 1);
  EXPECT_EQ(verdicts[0].remaining, 1);
  EXPECT_EQ(verdicts[2].allowed, 1);
  EXPECT_EQ(verdicts[2].remaining, 0);
  EXPECT_EQ(verdicts[3].allowed, 0);
  PostgresPlugin()->destroy(instance);
}

}  // namespace
}  // namespace limify::testing
