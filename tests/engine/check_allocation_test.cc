// A check on an identity whose state exists allocates nothing, on the whole
// request path: route, identity, plan, keys, storage step, decision.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/common/alloc_counter.h"

namespace limify {
namespace {

constexpr char kConfig[] = R"({"clock": "manual", "rules": [
  {"id": "items-of-the-catalogue-v2", "method": ["GET", "POST"], "path": "/api/**/items/*", "rate": ["100/second", "100000/day"],
   "plans": {"professional-tier": "1000/second"}},
  {"id": "search", "path": "/search", "algorithm": "sliding_window", "rate": "50/minute"}]})";

TEST(CheckAllocationTest, ChecksOnExistingStateAllocateNothing) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(kConfig);
  ASSERT_TRUE(engine.ok()) << engine.status();
  Request items;
  items.method = "GET";
  items.path = "/api/v1/items/42?verbose=1";
  items.user_id = "user-with-a-long-enough-identifier";
  Request pro = items;
  pro.plan = "professional-tier";  // ids longer than a string's inline buffer
  Request search;
  search.method = "get";
  search.path = "/search";
  search.client_ip = "203.0.113.7";
  Decision d;
  for (const Request* r : {&items, &pro, &search}) ASSERT_TRUE((*engine)->Check(*r, &d).ok());
  ASSERT_TRUE((*engine)->CheckKey("search", "tenant-1", 1, &d).ok());

  const int64_t before = testing::AllocationsOnThisThread();
  for (int i = 0; i < 20; ++i) {
    Decision fresh;  // a host typically fills a new decision per request
    ASSERT_TRUE((*engine)->Check(items, &fresh).ok());
    ASSERT_TRUE((*engine)->Check(pro, &fresh).ok());
    ASSERT_EQ(fresh.plan_id, "professional-tier");
    ASSERT_TRUE((*engine)->Peek(search, &d).ok());
    ASSERT_TRUE((*engine)->Check(search, &d).ok());
    ASSERT_EQ(d.rule_id, "search");
    ASSERT_TRUE((*engine)->CheckKey("search", "tenant-1", 1, &d).ok());
  }
  EXPECT_EQ(testing::AllocationsOnThisThread() - before, 0);
  EXPECT_TRUE(d.matched);
}

TEST(CheckAllocationTest, CounterSeesAllocations) {
  const int64_t before = testing::AllocationsOnThisThread();
  auto engine = Engine::Create(kConfig);  // building an engine allocates
  ASSERT_TRUE(engine.ok());
  EXPECT_GT(testing::AllocationsOnThisThread() - before, 0);
}

}  // namespace
}  // namespace limify
