// Atomic under any concurrency: threads of one process and several
// processes (the worker program) hammer one key, and exactly the limit is
// allowed — never more, and none lost to a failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::sqlite_test {
namespace {

TEST(SqliteConcurrencyTest, ThreadsOfOneProcessAllowExactlyTheLimit) {
  TempDir dir;
  auto engine = MustCreate(
      Config(SqliteStorage(dir.File("limits.db"), R"("connections": 3)"),
             R"([{"id": "r", "path": "/r", "algorithm": "fixed_window", "rate": "300/minute"}])"));
  std::atomic<int> allowed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 60; ++i) {
        Decision d;
        // Peeks in between take pooled connections without the write lock.
        if (i % 4 == 0 && (!engine->Peek(Get("/r", "one"), &d).ok() || d.degraded)) ++failed;
        if (!engine->CheckKey("r", "one", 1, &d).ok() || d.degraded) {
          ++failed;
        } else if (d.allowed) {
          ++allowed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), 300);
}

// A pre-fork server creates the engine, then forks workers: each child
// opens its own connections and shares the limit with the parent.
TEST(SqliteConcurrencyTest, ChildrenForkedAfterCreateShareTheLimit) {
  TempDir dir;
  auto engine = MustCreate(
      Config(SqliteStorage(dir.File("limits.db")),
             R"([{"id": "r", "path": "/r", "algorithm": "fixed_window", "rate": "10/minute"}])"));
  ASSERT_TRUE(engine->SetClock(1'700'000'000'000'000).ok());
  Decision d;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(engine->CheckKey("r", "k", 1, &d).ok());
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int allowed = 0;
      for (int i = 0; i < 5; ++i) {
        Decision cd;
        if (!engine->CheckKey("r", "k", 1, &cd).ok() || cd.degraded) _exit(100);
        allowed += cd.allowed;
      }
      _exit(allowed);
    }
    children.push_back(pid);
  }
  int allowed = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 100) << "a child's check failed or was degraded";
    allowed += WEXITSTATUS(status);
  }
  EXPECT_EQ(allowed, 6);  // 10 minus the parent's 4, across both children
  ASSERT_TRUE(engine->CheckKey("r", "k", 1, &d).ok());  // the parent's connections still work
  EXPECT_FALSE(d.degraded);
  EXPECT_FALSE(d.allowed);
}

int64_t WallSecondsIntoMinute() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count() % 60;
}
int64_t WallMinute() {
  using namespace std::chrono;
  return duration_cast<minutes>(system_clock::now().time_since_epoch()).count();
}

// 4 processes x 4 threads, fixed window 500/minute on the system clock, one
// key, 4000 attempts: exactly 500 allowed.
TEST(SqliteConcurrencyTest, FourProcessesOfFourThreadsAllowExactlyTheLimit) {
  constexpr int kProcesses = 4, kThreads = 4, kChecksPerThread = 250;
  TempDir dir;
  const std::string db = dir.File("limits.db");  // created by the racing workers
  std::vector<std::unique_ptr<Child>> workers;
  for (int p = 0; p < kProcesses; ++p) {
    workers.push_back(std::make_unique<Child>(std::vector<std::string>{
        "hammer", db, std::to_string(kThreads), std::to_string(kChecksPerThread)}));
  }
  for (auto& w : workers) ASSERT_EQ(w->ReadLine(), "ready");

  // All attempts must fall into one window: start right after a minute
  // boundary when less than 6 s of the current minute are left.
  if (WallSecondsIntoMinute() >= 54) {
    while (WallSecondsIntoMinute() >= 54) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t minute = WallMinute();
  for (auto& w : workers) w->Write("g");
  int allowed = 0;
  for (auto& w : workers) {
    int a = -1, degraded = -1, errors = -1;
    const std::string line = w->ReadLine();
    ASSERT_EQ(std::sscanf(line.c_str(), "allowed %d degraded %d errors %d", &a, &degraded, &errors),
              3)
        << line;
    EXPECT_EQ(degraded, 0);
    EXPECT_EQ(errors, 0);
    allowed += a;
    const int status = w->Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  ASSERT_EQ(WallMinute(), minute) << "the run crossed a minute boundary (too slow a machine?)";
  EXPECT_EQ(allowed, 500);
}

}  // namespace
}  // namespace limify::sqlite_test
