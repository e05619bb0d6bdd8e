// The 3-master cluster: slots as the server computes them, keys on the node
// that owns their slot, and a slot migrated while checks run (ASK, TRYAGAIN,
// MOVED) without a failed check or a lost count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "plugins/storage/redis/cluster_slots.h"
#include "tests/redis/redis_harness.h"
#include "tests/redis/redis_test_env.h"

namespace limify::testing {
namespace {

const std::vector<std::string> kNodes = {"c1", "c2", "c3"};

int ServerSlot(int port, const std::string& key) {
  return std::stoi(RedisCli(port, "CLUSTER KEYSLOT '" + key + "'"));
}

// The node (c1..c3) whose CLUSTER SLOTS says it owns `slot`.
std::string Owner(int slot) {
  for (const std::string& node : kNodes) {
    const int port = ServerPort(node);
    std::istringstream lines(RedisCli(port, "CLUSTER SLOTS"));
    std::vector<std::string> words;
    for (std::string w; lines >> w;) words.push_back(w);
    // Each range: start end host port id (masters here have no replicas).
    for (size_t i = 0; i + 4 < words.size(); i += 5) {
      if (std::stoi(words[i]) <= slot && slot <= std::stoi(words[i + 1])) {
        const int owner_port = std::stoi(words[i + 3]);
        for (const std::string& n : kNodes) {
          if (ServerPort(n) == owner_port) return n;
        }
      }
    }
  }
  return "";
}

TEST(RedisClusterTest, KeySlotAgreesWithTheServer) {
  std::mt19937 rng(3);
  const int port = ServerPort("c1");
  for (int i = 0; i < 40; ++i) {
    std::string key = "limify:{rule" + std::to_string(rng()) + "|p|user|" +
                      std::to_string(rng()) + "}:gcra:" + std::to_string(i);
    if (i % 4 == 0) key = "plain" + std::to_string(rng());
    EXPECT_EQ(redis::KeySlot(key), ServerSlot(port, key)) << key;
  }
}

TEST(RedisClusterTest, KeysLandOnTheNodeThatOwnsTheirSlot) {
  auto storage = MakeCore(Options(ServerUrl("c1")));
  std::set<std::string> owners;
  for (int i = 0; i < 12; ++i) {
    const Rule rule =
        MakeRule("token_bucket", {Spec(5, kMinute), Spec(50, kDay)}, UniqueName("land"));
    const StepResult r = Step(*storage, rule, 1);
    ASSERT_EQ(r.code, LIMIFY_PLUGIN_OK) << r.error;
    EXPECT_TRUE(storage->IsCluster());
    const std::string owner = Owner(redis::KeySlot(rule.keys[0]));
    owners.insert(owner);
    for (const std::string& node : kNodes) {
      for (const std::string& key : rule.keys) {
        // The owner has it; the others redirect to the owner.
        const std::string reply = RedisCli(ServerPort(node), "EXISTS '" + key + "'");
        if (node == owner) {
          EXPECT_EQ(reply, "1") << key << " on " << node;
        } else {
          EXPECT_EQ(reply.rfind("MOVED ", 0), 0u) << key << " on " << node << ": " << reply;
        }
      }
    }
  }
  EXPECT_GE(owners.size(), 2u) << "12 random tags all on one node?";
}

// Moves `slot` from its owner to another master, key by key, as
// redis-cli --cluster reshard does.
void MigrateSlot(int slot, const std::string& from, const std::string& to) {
  const int src = ServerPort(from), dst = ServerPort(to);
  const std::string src_id = RedisCli(src, "CLUSTER MYID"), dst_id = RedisCli(dst, "CLUSTER MYID");
  const std::string s = std::to_string(slot);
  ASSERT_EQ(RedisCli(dst, "CLUSTER SETSLOT " + s + " IMPORTING " + src_id), "OK");
  ASSERT_EQ(RedisCli(src, "CLUSTER SETSLOT " + s + " MIGRATING " + dst_id), "OK");
  for (int round = 0; round < 100; ++round) {
    std::istringstream keys(RedisCli(src, "CLUSTER GETKEYSINSLOT " + s + " 1"));
    std::string key;
    if (!(keys >> key)) break;
    // One key at a time, with pauses, so checks meet the slot half-moved.
    RedisCli(src, "MIGRATE 127.0.0.1 " + std::to_string(dst) + " '' 0 5000 KEYS '" + key + "'");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const std::string& node : {to, from}) {
    ASSERT_EQ(RedisCli(ServerPort(node), "CLUSTER SETSLOT " + s + " NODE " + dst_id), "OK");
  }
  for (const std::string& node : kNodes) {
    if (node != to && node != from) RedisCli(ServerPort(node), "CLUSTER SETSLOT " + s + " NODE " + dst_id);
  }
}

TEST(RedisClusterTest, ASlotMigratedWhileChecksRunLosesNothing) {
  auto native = MakeCore(Options(ServerUrl("c1")));
  auto generic = MakeCore(Options(ServerUrl("c2"), "\"native\": false"));
  const std::string tag = UniqueName("migrate");
  // Two rules in one slot: three keys for the native path, one for the generic.
  const Rule multi = MakeRule("fixed_window", {Spec(100000, kDay), Spec(90000, kDay),
                                               Spec(80000, kDay)}, tag);
  Rule single = MakeRule("fixed_window", {Spec(100000, kDay)}, tag);
  single.keys[0] += ":generic";
  single.key_refs[0] = limify_key{single.keys[0].data(), single.keys[0].size()};
  const int slot = redis::KeySlot(multi.keys[0]);
  ASSERT_EQ(redis::KeySlot(single.keys[0]), slot);
  ASSERT_EQ(Step(*native, multi, 1).code, LIMIFY_PLUGIN_OK);
  ASSERT_EQ(Step(*generic, single, 1).code, LIMIFY_PLUGIN_OK);
  const std::string from = Owner(slot);
  const std::string to = from == "c1" ? "c2" : "c1";

  std::atomic<bool> stop{false};
  std::atomic<int> native_ok{1}, generic_ok{1}, failures{0};
  std::string first_failure;
  std::mutex failure_mu;
  auto run = [&](redis::RedisStorage* storage, const Rule* rule, std::atomic<int>* ok) {
    while (!stop.load()) {
      const StepResult r = Step(*storage, *rule, 1);
      if (r.code == LIMIFY_PLUGIN_OK && r.verdict.allowed) {
        ok->fetch_add(1);
      } else {
        failures.fetch_add(1);
        std::lock_guard<std::mutex> lock(failure_mu);
        if (first_failure.empty()) first_failure = r.error;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back(run, native.get(), &multi, &native_ok);
  threads.emplace_back(run, generic.get(), &single, &generic_ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  MigrateSlot(slot, from, to);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop.store(true);
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(Owner(slot), to);
  const auto& c1 = native->counters();
  const auto& c2 = generic->counters();
  EXPECT_GT(c1.moved + c1.asks + c1.tryagains + c2.moved + c2.asks + c2.tryagains, 0u);
  // Every allowed check is counted, on the new owner.
  auto count_of = [&](const std::string& key) {
    const std::string bytes = GetRaw(*native, key);
    int64_t count = -1;
    if (bytes.size() == 16) std::memcpy(&count, bytes.data() + 8, 8);
    return count;
  };
  for (const std::string& key : multi.keys) EXPECT_EQ(count_of(key), native_ok.load()) << key;
  EXPECT_EQ(count_of(single.keys[0]), generic_ok.load());
  EXPECT_EQ(RedisCli(ServerPort(to), "EXISTS '" + multi.keys[0] + "'"), "1");
}

}  // namespace
}  // namespace limify::testing
