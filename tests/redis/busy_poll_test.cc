// When a reader may poll for its reply (busy_poll.h): only alone, only
// within its budget, and less and less often while polling goes unanswered.
#include "plugins/storage/redis/busy_poll.h"

#include <gtest/gtest.h>

#include <chrono>

namespace limify::redis {
namespace {

using Clock = BusyPollPolicy::Clock;
using std::chrono::microseconds;

// Lone waits that block at once, from now until the next that polls.
int WaitsThatBlockBeforeOnePolls(BusyPollPolicy& policy) {
  const Clock::time_point far = Clock::now() + std::chrono::seconds(10);
  int blocked = 0;
  while (policy.PollUntil(far) == Clock::time_point{}) {
    if (++blocked > 1000) break;
  }
  return blocked;
}

TEST(BusyPollTest, ALoneReaderPollsWithinItsBudgetAndNeverPastItsWait) {
  BusyPollPolicy policy(microseconds(100));
  const Clock::time_point before = Clock::now();
  const Clock::time_point until = policy.PollUntil(before + std::chrono::seconds(1));
  EXPECT_GE(until, before + microseconds(100));
  EXPECT_LE(until, Clock::now() + microseconds(100));
  const Clock::time_point soon = Clock::now() + microseconds(20);
  EXPECT_EQ(policy.PollUntil(soon), soon) << "polling ends with the wait";
}

TEST(BusyPollTest, NobodyPollsWithABudgetOfZero) {
  BusyPollPolicy off(microseconds(0));
  EXPECT_EQ(off.PollUntil(Clock::now() + std::chrono::seconds(1)), Clock::time_point{});
}

TEST(BusyPollTest, OneCpuGetsNoBudget) {
  EXPECT_EQ(UsableBusyPoll(100, 1), microseconds(0)) << "the poller would keep the server off the CPU";
  EXPECT_EQ(UsableBusyPoll(100, 2), microseconds(100));
  EXPECT_EQ(UsableBusyPoll(0, 8), microseconds(0));
}

TEST(BusyPollTest, NobodyPollsWhileAnotherCallIsInProgress) {
  BusyPollPolicy policy(microseconds(100));
  const Clock::time_point far = Clock::now() + std::chrono::seconds(1);
  const CallInProgress mine;
  EXPECT_TRUE(CallInProgress::Alone());
  EXPECT_NE(policy.PollUntil(far), Clock::time_point{});
  {
    const CallInProgress another;
    EXPECT_FALSE(CallInProgress::Alone());
    EXPECT_EQ(policy.PollUntil(far), Clock::time_point{});
  }
  EXPECT_TRUE(CallInProgress::Alone());
}

TEST(BusyPollTest, PollingInVainSkipsTwiceAsManyWaitsEachTimeUpTo128UntilAnswered) {
  BusyPollPolicy policy(microseconds(100));
  EXPECT_EQ(WaitsThatBlockBeforeOnePolls(policy), 0);
  for (int expected : {1, 2, 4, 8, 16, 32, 64, 128, 128}) {
    policy.Record(false);
    EXPECT_EQ(WaitsThatBlockBeforeOnePolls(policy), expected);
  }
  EXPECT_EQ(policy.in_vain(), 9u);
  policy.Record(true);
  EXPECT_EQ(policy.answered(), 1u);
  EXPECT_EQ(WaitsThatBlockBeforeOnePolls(policy), 0);
  policy.Record(false);
  EXPECT_EQ(WaitsThatBlockBeforeOnePolls(policy), 1) << "an answer starts the backoff over";
}

}  // namespace
}  // namespace limify::redis
