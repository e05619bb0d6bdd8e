// ExecuteBatch: many checks in one pipelined round trip per server, with the
// same decisions as one Execute after another; what the pipeline cannot
// settle (NOSCRIPT, the generic path) is sent again alone.
#include <gtest/gtest.h>

#include <vector>

#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

class BatchTest : public ::testing::TestWithParam<bool /*cluster*/> {};

TEST_P(BatchTest, ABatchDecidesLikeOneCheckAfterAnother) {
  auto storage = MakeCore(Options(ServerUrl(GetParam() ? "c1" : "main")));
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
  const uint64_t generic_before = storage->counters().generic.load();
  // Every script gone: the whole pipeline answers NOSCRIPT once; then fine.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      for (const char* node : {"main", "c1", "c2", "c3"}) {
        RedisCli(ServerPort(node), "SCRIPT FLUSH");
      }
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
    std::vector<limify_verdict> outs(ops.size());
    for (auto& v : outs) v.struct_size = sizeof v;
    std::vector<const limify_storage_op*> op_ptrs;
    for (const auto& op : ops) op_ptrs.push_back(&op);
    std::vector<limify_verdict*> out_ptrs;
    for (auto& v : outs) out_ptrs.push_back(&v);
    std::vector<int32_t> codes(ops.size(), -1);
    std::vector<limify_plugin_error> errors(ops.size());
    std::vector<limify_plugin_error*> errs;
    for (auto& e : errors) errs.push_back(&e);
    storage->ExecuteBatch(op_ptrs.data(), ops.size(), out_ptrs.data(), codes.data(), errs.data());
    for (size_t i = 0; i < ops.size(); ++i) {
      const size_t round = i / rules.size(), r = i % rules.size();
      SCOPED_TRACE(::testing::Message() << "pass " << pass << " rule " << r << " round " << round);
      ASSERT_EQ(codes[i], LIMIFY_PLUGIN_OK) << errors[i].message;
      if (r == rules.size() - 1) {
        EXPECT_TRUE(outs[i].allowed);
        EXPECT_EQ(outs[i].remaining, 1'000'000 - 1 - static_cast<int64_t>(round));
      } else {
        EXPECT_EQ(outs[i].allowed, round < 3 ? 1u : 0u);
        EXPECT_EQ(outs[i].remaining, round < 3 ? 2 - static_cast<int64_t>(round) : 0);
        EXPECT_EQ(outs[i].binding_limit, 0u);
      }
    }
  }
  EXPECT_EQ(storage->counters().generic.load() - generic_before, 8u);
  EXPECT_GE(storage->counters().script_loads.load(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Servers, BatchTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Cluster" : "Standalone"; });

}  // namespace
}  // namespace limify::testing
