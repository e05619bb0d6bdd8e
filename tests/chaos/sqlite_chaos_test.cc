// SQLite locked by another process under load: every check waits for the
// lock only until busy_timeout_ms, then the failure policy decides; the
// breaker opens so that only a few checks wait at all, closes once the lock
// is gone, and no decision is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "tests/chaos/chaos_checks.h"
#include "tests/chaos/chaos_load.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::chaos {
namespace {

using std::chrono::milliseconds;

constexpr int kBusyTimeoutMs = 100;
constexpr int kThreads = 4;

TEST(SqliteChaosTest, LockedByAnotherProcessUnderLoadOnlyAFewCallsWait) {
  sqlite_test::TempDir dir;
  const std::string db = dir.File("limits.db");
  absl::StatusOr<std::unique_ptr<Engine>> created = Engine::Create(absl::StrCat(
      R"({"storage": {"type": "sqlite", "path": ")", db, R"(", "busy_timeout_ms": )",
      kBusyTimeoutMs, "}, ", PolicyAndRules(), "}"));
  ASSERT_TRUE(created.ok()) << created.status();
  Engine& engine = **created;
  Load load(engine, kThreads, kBusyTimeoutMs / 2);
  ASSERT_TRUE(WaitUntil([&] { return load.normal() >= 50; }, milliseconds(5000)));

  const auto outage = std::chrono::steady_clock::now();
  uint64_t normal_before = 0;
  {
    // The locker takes the write lock between two checks (it does not wait
    // for it), then holds it until its stdin closes.
    load.Pause();
    sqlite_test::Child locker({"lock", db});
    ASSERT_EQ(locker.ReadLine(), "locked");
    load.Resume();
    EXPECT_TRUE(WaitUntil([&] { return BreakerState(engine) != 0; }, milliseconds(2000)))
        << "the breaker opens";
    std::this_thread::sleep_until(outage + milliseconds(1500));
    normal_before = load.normal();
  }  // the locker exits and its lock goes with it
  const int64_t outage_ms = std::chrono::duration_cast<milliseconds>(
                                std::chrono::steady_clock::now() - outage)
                                .count();
  EXPECT_TRUE(WaitUntil(
      [&] { return load.normal() > normal_before + 20 && BreakerState(engine) == 0; },
      milliseconds(5000)))
      << "normal decisions resume once the lock is gone";
  load.Stop();

  const Load::Totals totals = load.totals();
  ExpectThePolicyHeld(engine, totals, kBusyTimeoutMs);
  EXPECT_LE(totals.slow, FailureBudget(kThreads, outage_ms))
      << "checks that waited for the lock (" << totals.calls << " calls in all)";
}

}  // namespace
}  // namespace limify::chaos
