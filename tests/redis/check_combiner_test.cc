// CheckCombiner's turns, with a send function of the test's own: who goes
// alone, who is combined, who times out, and that no turn is ever lost.
#include "plugins/storage/redis/check_combiner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace limify::testing {
namespace {

using redis::CheckCombiner;
using Turn = CheckCombiner::Turn;
using std::chrono::milliseconds;

CheckCombiner::Clock::time_point In(milliseconds ms) { return CheckCombiner::Clock::now() + ms; }

// Records every call it is asked to send, and its deadline, and decides
// each check in it.
struct Recorder {
  std::mutex mu;
  std::vector<std::vector<int>> calls;  // the checks' ids, per call
  std::vector<CheckCombiner::Clock::time_point> deadlines;  // per call
  bool decide = true;

  CheckCombiner::Send AsSend() {
    return [this](CheckCombiner::Entry* const* entries, size_t n,
                  CheckCombiner::Clock::time_point deadline) {
      std::vector<int> ids;
      for (size_t i = 0; i < n; ++i) {
        ids.push_back(*static_cast<int*>(entries[i]->check));
        entries[i]->decided = decide;
      }
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(ids);
      deadlines.push_back(deadline);
    };
  }
};

Turn EnterBy(CheckCombiner& combiner, int* id, CheckCombiner::Clock::time_point deadline) {
  CheckCombiner::Entry entry;
  entry.check = id;
  entry.deadline = deadline;
  return combiner.Enter(&entry);
}

Turn EnterWithId(CheckCombiner& combiner, int* id, milliseconds budget = milliseconds(5000)) {
  return EnterBy(combiner, id, In(budget));
}

// Takes the combiner's one turn, queues checks 1..n from threads of their
// own behind it, runs `while_held`, gives the turn back and returns the
// queued checks' turns.
std::vector<Turn> QueueBehindTheTurn(CheckCombiner& combiner, size_t n,
                                     const std::function<void()>& while_held = [] {}) {
  int holder = 0;
  EXPECT_EQ(EnterWithId(combiner, &holder), Turn::kAlone);
  std::vector<int> ids(n);
  std::vector<Turn> turns(n, Turn::kAlone);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) {
    ids[i] = static_cast<int>(i) + 1;
    threads.emplace_back([&, i] { turns[i] = EnterWithId(combiner, &ids[i]); });
  }
  while (combiner.queued() < n) std::this_thread::sleep_for(milliseconds(1));
  while_held();
  combiner.Leave();
  for (auto& t : threads) t.join();
  return turns;
}

TEST(CheckCombinerTest, ALoneCheckGoesAloneAndSendsNothing) {
  Recorder recorder;
  CheckCombiner combiner(2, 64, recorder.AsSend());
  int id = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(EnterWithId(combiner, &id), Turn::kAlone);
    combiner.Leave();
  }
  EXPECT_TRUE(recorder.calls.empty());
  EXPECT_EQ(combiner.combined_calls(), 0u);
}

TEST(CheckCombinerTest, ChecksThatArriveWhileTheTurnsAreTakenGoTogether) {
  Recorder recorder;
  CheckCombiner combiner(1, 64, recorder.AsSend());
  const std::vector<Turn> turns = QueueBehindTheTurn(combiner, 5, [&] {
    EXPECT_TRUE(recorder.calls.empty()) << "nothing is sent while the only turn is held";
  });
  ASSERT_EQ(recorder.calls.size(), 1u);
  EXPECT_EQ(std::set<int>(recorder.calls[0].begin(), recorder.calls[0].end()),
            (std::set<int>{1, 2, 3, 4, 5}));
  for (Turn t : turns) EXPECT_EQ(t, Turn::kDecided);
  EXPECT_EQ(combiner.combined_calls(), 1u);
  int id = 0;
  EXPECT_EQ(EnterWithId(combiner, &id), Turn::kAlone) << "the turn came back";
}

TEST(CheckCombinerTest, ACallTakesAtMostMaxTogether) {
  Recorder recorder;
  CheckCombiner combiner(1, 4, recorder.AsSend());
  QueueBehindTheTurn(combiner, 10);
  std::set<int> sent;
  for (const auto& call : recorder.calls) {
    EXPECT_LE(call.size(), 4u);
    for (int id : call) EXPECT_TRUE(sent.insert(id).second) << "check " << id << " sent twice";
  }
  EXPECT_EQ(sent.size(), 10u);
  EXPECT_EQ(recorder.calls.size(), 3u);  // 4 + 4 + 2
}

TEST(CheckCombinerTest, UndecidedChecksAreToldToGoAlone) {
  Recorder recorder;
  recorder.decide = false;
  CheckCombiner combiner(1, 64, recorder.AsSend());
  for (Turn t : QueueBehindTheTurn(combiner, 3)) EXPECT_EQ(t, Turn::kUndecided);
}

TEST(CheckCombinerTest, ACheckWhoseDeadlinePassesInTheQueueIsNeverSent) {
  Recorder recorder;
  CheckCombiner combiner(1, 64, recorder.AsSend());
  int holder = 0;
  ASSERT_EQ(EnterWithId(combiner, &holder), Turn::kAlone);
  int late = 7;
  const auto start = CheckCombiner::Clock::now();
  EXPECT_EQ(EnterWithId(combiner, &late, milliseconds(20)), Turn::kTimedOut);
  const auto waited = CheckCombiner::Clock::now() - start;
  EXPECT_GE(waited, milliseconds(20));
  EXPECT_LT(waited, milliseconds(500));
  combiner.Leave();
  EXPECT_TRUE(recorder.calls.empty());
  EXPECT_EQ(EnterWithId(combiner, &holder), Turn::kAlone) << "no turn was lost";
}

// The leader's call runs within the leader's deadline; a check due sooner
// is not taken into it, so no check is answered after its own deadline.
TEST(CheckCombinerTest, ACallKeepsItsLeadersDeadlineAndTakesNoCheckDueSooner) {
  Recorder recorder;
  CheckCombiner combiner(1, 64, recorder.AsSend());
  int holder = 0;
  ASSERT_EQ(EnterWithId(combiner, &holder), Turn::kAlone);
  int ids[3] = {1, 2, 3};  // the leader-to-be, one due sooner, one due later
  const CheckCombiner::Clock::time_point deadlines[3] = {In(milliseconds(5000)),
                                                         In(milliseconds(3000)),
                                                         In(milliseconds(9000))};
  Turn turns[3];
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 3; ++i) {  // queued in this order
    threads.emplace_back([&, i] { turns[i] = EnterBy(combiner, &ids[i], deadlines[i]); });
    while (combiner.queued() < i + 1) std::this_thread::sleep_for(milliseconds(1));
  }
  combiner.Leave();
  for (auto& t : threads) t.join();
  ASSERT_EQ(recorder.calls.size(), 2u);
  EXPECT_EQ(recorder.calls[0], (std::vector<int>{1, 3}));
  EXPECT_EQ(recorder.deadlines[0], deadlines[0]);
  EXPECT_EQ(recorder.calls[1], (std::vector<int>{2}));
  EXPECT_EQ(recorder.deadlines[1], deadlines[1]) << "the check due sooner led a call of its own";
  for (Turn t : turns) EXPECT_EQ(t, Turn::kDecided);
}

// Checks of one call are woken one after another: every one of them is
// back soon after the call, none waits for a poll (a second) because its
// wake-up came before it was done.
TEST(CheckCombinerTest, EveryCheckOfACallIsBackSoonAfterTheCall) {
  std::atomic<int64_t> sent_ns{0};
  CheckCombiner combiner(
      1, 64, [&](CheckCombiner::Entry* const* entries, size_t n, CheckCombiner::Clock::time_point) {
        for (size_t i = 0; i < n; ++i) entries[i]->decided = true;
        sent_ns = CheckCombiner::Clock::now().time_since_epoch().count();
      });
  constexpr size_t kChecks = 12;
  for (int round = 0; round < 40; ++round) {
    std::vector<int64_t> back_ns(kChecks);
    std::vector<int> ids(kChecks);
    std::vector<Turn> turns(kChecks);
    int holder = 0;
    ASSERT_EQ(EnterWithId(combiner, &holder), Turn::kAlone);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < kChecks; ++i) {
      threads.emplace_back([&, i] {
        turns[i] = EnterWithId(combiner, &ids[i]);
        back_ns[i] = CheckCombiner::Clock::now().time_since_epoch().count();
      });
    }
    while (combiner.queued() < kChecks) std::this_thread::sleep_for(milliseconds(1));
    combiner.Leave();
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < kChecks; ++i) {
      EXPECT_EQ(turns[i], Turn::kDecided);
      EXPECT_LT(std::chrono::nanoseconds(back_ns[i] - sent_ns), milliseconds(300))
          << "round " << round << ": check " << i << " came back late";
    }
  }
}

TEST(CheckCombinerTest, ASendThatThrowsLeavesItsChecksToGoAloneAndGivesTheTurnBack) {
  CheckCombiner combiner(
      1, 64, [](CheckCombiner::Entry* const*, size_t, CheckCombiner::Clock::time_point) {
        throw std::runtime_error("send failed");
      });
  for (Turn t : QueueBehindTheTurn(combiner, 3)) EXPECT_EQ(t, Turn::kUndecided);
  int id = 0;
  EXPECT_EQ(EnterWithId(combiner, &id), Turn::kAlone) << "the turn came back";
}

// Many threads, short and long deadlines, a send that takes a while: every
// check gets one answer, none is sent after it timed out or twice, and
// every turn comes back.
TEST(CheckCombinerTest, UnderContentionNoCheckIsLostOrSentTwiceAndNoTurnLeaks) {
  std::mutex mu;
  std::set<int> sent;
  std::atomic<int> duplicates{0};
  CheckCombiner combiner(
      2, 8, [&](CheckCombiner::Entry* const* entries, size_t n, CheckCombiner::Clock::time_point) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::lock_guard<std::mutex> lock(mu);
        for (size_t i = 0; i < n; ++i) {
          if (!sent.insert(*static_cast<int*>(entries[i]->check)).second) duplicates++;
          entries[i]->decided = true;
        }
      });
  constexpr int kThreads = 32, kEach = 300;
  std::atomic<int> alone{0}, decided{0}, timed_out{0}, undecided{0};
  std::vector<std::set<int>> timed_out_ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand rng(t);
      for (int i = 0; i < kEach; ++i) {
        int id = t * kEach + i;
        const milliseconds budget(rng() % 4 == 0 ? 0 : rng() % 3);
        switch (EnterWithId(combiner, &id, budget)) {
          case Turn::kAlone:
            alone++;
            std::this_thread::sleep_for(std::chrono::microseconds(100));
            combiner.Leave();
            break;
          case Turn::kDecided:
            decided++;
            break;
          case Turn::kUndecided:
            undecided++;
            break;
          case Turn::kTimedOut:
            timed_out++;
            timed_out_ids[t].insert(id);
            break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(alone + decided + timed_out + undecided, kThreads * kEach);
  EXPECT_EQ(undecided.load(), 0);
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(static_cast<int>(sent.size()), decided.load());
  for (const auto& ids : timed_out_ids) {
    for (int id : ids) EXPECT_EQ(sent.count(id), 0u) << "check " << id << " timed out but was sent";
  }
  EXPECT_GT(decided.load(), 0) << "some checks were combined";
  EXPECT_GT(combiner.combined_calls(), 0u);
  int id = -1;
  EXPECT_EQ(EnterWithId(combiner, &id), Turn::kAlone);
  EXPECT_EQ(EnterWithId(combiner, &id), Turn::kAlone) << "both turns came back";
}

}  // namespace
}  // namespace limify::testing
