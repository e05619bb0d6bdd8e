// Engine::CheckBatch on Redis (limify_storage.execute_batch: one pipelined
// round trip per server): the same decisions as one Check after another, on
// a server and on the cluster, for every algorithm, both paths, mixed rules
// and identities; errors stay with their item; a dead server gets the
// failure policy per item within the timeout. Engine::CheckKeyBatch, the same
// way, against CheckKey.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

// One rule per algorithm (long windows: nothing refills during the test),
// one with two limits, one too large for Lua (the generic path). Generous
// timeouts: these tests compare decisions, on a machine that may be busy.
std::string Config(const std::string& url, const std::string& prefix) {
  return absl::StrCat(R"({"storage": {"type": "redis", "url": ")", url,
                      R"(", "key_prefix": ")", prefix,
                      R"(", "command_timeout_ms": 2000, "connect_timeout_ms": 2000}, "rules": [
    {"id": "tb", "path": "/token_bucket", "rate": "3/hour"},
    {"id": "fw", "path": "/fixed_window", "algorithm": "fixed_window", "rate": "3/hour"},
    {"id": "sw", "path": "/sliding_window", "algorithm": "sliding_window", "rate": "3/hour"},
    {"id": "swc", "path": "/sliding_window_counter", "algorithm": "sliding_window_counter",
     "rate": "3/hour"},
    {"id": "gcra", "path": "/gcra", "algorithm": "gcra", "rate": "3/hour"},
    {"id": "two", "path": "/two", "rate": ["2/hour", "5/day"]},
    {"id": "big", "path": "/big", "rate": "1000000/week"}]})");
}

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

// Every rule, 6 identities, a path no rule matches, costs 1 and 2, each
// (rule, identity) several times so that later items see earlier ones.
std::vector<Request> MixedBatch(std::vector<std::string>* storage) {
  static const char* const kPaths[] = {"/token_bucket", "/fixed_window", "/sliding_window",
                                       "/sliding_window_counter", "/gcra", "/two", "/big",
                                       "/none"};
  storage->clear();
  for (int u = 0; u < 6; ++u) storage->push_back(UniqueName("batch-user"));
  std::vector<Request> batch;
  for (int round = 0; round < 4; ++round) {
    for (int p = 0; p < 8; ++p) {
      for (int u = 0; u < 6; u += 1 + (p % 2)) {
        Request r;
        r.method = "GET";
        r.path = kPaths[p];
        r.user_id = (*storage)[u];
        r.cost = (u + round) % 5 == 4 ? 2 : 1;
        batch.push_back(r);
      }
    }
  }
  return batch;
}

// Times are the server's, read a few milliseconds apart by the two engines.
void ExpectSameDecision(const Decision& batch, const Decision& single) {
  constexpr int64_t kToleranceUs = 2'000'000;
  EXPECT_EQ(batch.allowed, single.allowed);
  EXPECT_EQ(batch.matched, single.matched);
  EXPECT_FALSE(batch.degraded);
  EXPECT_FALSE(single.degraded);
  EXPECT_EQ(batch.limit, single.limit);
  EXPECT_EQ(batch.remaining, single.remaining);
  EXPECT_EQ(batch.period_us, single.period_us);
  EXPECT_NEAR(batch.reset_after_us, single.reset_after_us, kToleranceUs);
  EXPECT_NEAR(batch.retry_after_us, single.retry_after_us, kToleranceUs);
  EXPECT_EQ(batch.rule_id.view(), single.rule_id.view());
  EXPECT_EQ(batch.plan_id.view(), single.plan_id.view());
}

class EngineBatchTest : public ::testing::TestWithParam<bool /*cluster*/> {
 protected:
  std::string url() const { return ServerUrl(GetParam() ? "c1" : "main"); }
};

TEST_P(EngineBatchTest, ABatchDecidesLikeOneCheckAfterAnother) {
  auto batched = MakeEngine(Config(url(), UniqueName("batched") + ":"));
  auto single = MakeEngine(Config(url(), UniqueName("single") + ":"));
  ASSERT_NE(batched, nullptr);
  ASSERT_NE(single, nullptr);
  std::vector<std::string> users;
  const std::vector<Request> batch = MixedBatch(&users);
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  batched->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  int allowed = 0, denied = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "item " << i << " " << batch[i].path);
    Decision expected;
    ASSERT_TRUE(single->Check(batch[i], &expected).ok());
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    ExpectSameDecision(decisions[i], expected);
    if (decisions[i].matched) (decisions[i].allowed ? allowed : denied) += 1;
  }
  EXPECT_GT(allowed, 0);
  EXPECT_GT(denied, 0) << "the batch must reach the limits to mean anything";
}

TEST_P(EngineBatchTest, AnItemInErrorFailsAloneAndTheOthersAreDecided) {
  auto engine = MakeEngine(Config(url(), UniqueName("errors") + ":"));
  ASSERT_NE(engine, nullptr);
  std::vector<std::string> users;
  std::vector<Request> batch = MixedBatch(&users);
  batch.resize(16);
  batch[3].cost = 0;
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("item ", i));
    if (i == 3) {
      EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument) << statuses[i];
      continue;
    }
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_FALSE(decisions[i].degraded);
    if (decisions[i].matched) {
      EXPECT_TRUE(decisions[i].allowed) << "first sight of each key";
    }
  }
}

// CheckKeyBatch: each identity under one rule, as CheckKey one after another
// would decide it, every rule (algorithm) in turn; an empty identity fails
// alone; an unknown rule fails every item.
TEST_P(EngineBatchTest, AKeyBatchDecidesLikeOneCheckKeyAfterAnother) {
  auto batched = MakeEngine(Config(url(), UniqueName("keys-batched") + ":"));
  auto single = MakeEngine(Config(url(), UniqueName("keys-single") + ":"));
  ASSERT_NE(batched, nullptr);
  ASSERT_NE(single, nullptr);
  std::vector<std::string> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(UniqueName("job"));
  std::vector<std::string_view> identities;
  std::vector<int64_t> costs;
  for (int round = 0; round < 4; ++round) {
    for (size_t k = 0; k < keys.size(); ++k) {
      identities.push_back(keys[k]);
      costs.push_back((k + round) % 4 == 3 ? 2 : 1);
    }
  }
  identities[7] = "";
  for (const char* rule : {"tb", "fw", "sw", "swc", "gcra", "two", "big"}) {
    SCOPED_TRACE(rule);
    std::vector<Decision> decisions(identities.size());
    std::vector<absl::Status> statuses(identities.size());
    batched->CheckKeyBatch(rule, identities.data(), costs.data(), identities.size(),
                           decisions.data(), statuses.data());
    int allowed = 0, denied = 0;
    for (size_t i = 0; i < identities.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "item " << i);
      if (identities[i].empty()) {
        EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument) << statuses[i];
        continue;
      }
      Decision expected;
      ASSERT_TRUE(single->CheckKey(rule, identities[i], costs[i], &expected).ok());
      ASSERT_TRUE(statuses[i].ok()) << statuses[i];
      ExpectSameDecision(decisions[i], expected);
      (decisions[i].allowed ? allowed : denied) += 1;
    }
    EXPECT_GT(allowed, 0);
    if (std::string_view(rule) != "big") {
      EXPECT_GT(denied, 0) << "the batch must reach the limit";
    }
  }
  std::vector<Decision> decisions(2);
  std::vector<absl::Status> statuses(2);
  batched->CheckKeyBatch("nope", identities.data(), nullptr, 2, decisions.data(),
                         statuses.data());
  for (const absl::Status& status : statuses) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, EngineBatchTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Cluster" : "Standalone"; });

// A batch of 16 (native and generic) against a server that is dead, or
// alive but silent: every item gets failure_mode "closed", and the whole
// batch takes no longer than one check's timeout.
void ExpectDegradedWithinTheTimeout(LocalServer& server, bool pause) {
  constexpr int kTimeoutMs = 150;
  auto engine = MakeEngine(absl::StrCat(
      R"({"storage": {"type": "redis", "url": ")", server.url(), R"(", "command_timeout_ms": )",
      kTimeoutMs, R"(, "connect_timeout_ms": )", kTimeoutMs, R"(}, "failure_mode": "closed",)",
      R"( "circuit_breaker": false, "rules": [{"id": "r", "path": "/r", "rate": "5/hour"},)",
      R"( {"id": "big", "path": "/big", "rate": "1000000/week"}]})"));
  ASSERT_NE(engine, nullptr);
  std::vector<std::string> users;
  for (int u = 0; u < 16; ++u) users.push_back(UniqueName("down"));
  std::vector<Request> batch(users.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].method = "GET";
    batch[i].path = i % 4 == 0 ? "/big" : "/r";
    batch[i].user_id = users[i];
  }
  std::vector<Decision> decisions(batch.size());
  std::vector<absl::Status> statuses(batch.size());
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());  // connects
  if (pause) {
    server.Pause();
  } else {
    server.Kill();
  }
  const auto start = std::chrono::steady_clock::now();
  engine->CheckBatch(batch.data(), batch.size(), decisions.data(), statuses.data());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (pause) server.Resume();
  EXPECT_LT(elapsed, std::chrono::milliseconds(kTimeoutMs + 400))
      << "the batch shares one deadline";
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("item ", i));
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_FALSE(decisions[i].allowed) << "failure_mode \"closed\"";
    EXPECT_TRUE(decisions[i].degraded);
  }
}

TEST(EngineBatchFailureTest, ADeadServerGetsTheFailurePolicyPerItemWithinTheTimeout) {
  LocalServer server;
  ExpectDegradedWithinTheTimeout(server, /*pause=*/false);
}

TEST(EngineBatchFailureTest, ASilentServerGetsTheFailurePolicyPerItemWithinTheTimeout) {
  LocalServer server;
  ExpectDegradedWithinTheTimeout(server, /*pause=*/true);
}

}  // namespace
}  // namespace limify::testing
