// Engine::SetErrorListener: which errors reach the listener and with what
// message, that its exceptions are swallowed, the grace period when it is
// replaced, and the calls it and the plan provider may not make.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"

namespace limify {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

std::string ManualConfig(const std::string& rules) {
  return absl::StrCat(R"({"clock": "manual", "rules": )", rules, "}");
}

constexpr char kRules[] = R"([{"id": "items", "path": "/items/**", "rate": "1/minute",
    "plans": {"pro": "3/minute"}}])";

Request Get(std::string_view path, std::string_view user = "alice") {
  Request r;
  r.method = "GET";
  r.path = path;
  r.user_id = user;
  return r;
}

// Records every status it is given (thread-safe).
class Recorder {
 public:
  ErrorListener Listener() {
    return [this](const absl::Status& s) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(s);
    };
  }
  std::vector<absl::Status> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<absl::Status> seen_;
};

std::string UnavailableStorageConfig(const char* mode, const char* breaker = "true") {
  return absl::StrCat(R"({"storage": {"type": "unavailable"}, "plugin_paths": [")",
                      LIMIFY_TEST_PLUGIN_DIR, R"(/unavailable_storage"], "failure_mode": ")", mode,
                      R"(", "circuit_breaker": )", breaker, R"(, "rules": [{"id": "s", "path": "/s", "rate": "5/second"}]})");
}

TEST(ErrorListenerTest, HearsStorageErrorsTheFailurePolicyHides) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/s"), &d).ok());
  EXPECT_TRUE(d.degraded);
  ASSERT_EQ(recorder.seen().size(), 1u);
  const absl::Status error = recorder.seen()[0];
  EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(error.message()),
              AllOf(HasSubstr("storage \"unavailable\""), HasSubstr("check of rule \"s\""),
                    HasSubstr("connection refused"), HasSubstr("failure_mode \"open\" allowed")));
}

TEST(ErrorListenerTest, HearsAPeekDeniedByAClosedPolicy) {
  auto engine = MakeEngine(UnavailableStorageConfig("closed"));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  Decision d;
  ASSERT_TRUE(engine->Peek(Get("/s"), &d).ok());
  EXPECT_FALSE(d.allowed);
  ASSERT_EQ(recorder.seen().size(), 1u);
  EXPECT_THAT(std::string(recorder.seen()[0].message()),
              AllOf(HasSubstr("peek of rule \"s\""), HasSubstr("\"closed\" denied")));
}

TEST(ErrorListenerTest, HearsEveryErrorACallReturns) {
  auto engine = MakeEngine(ManualConfig(kRules));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  Decision d;
  Request bad = Get("/items/1");
  bad.cost = 0;
  std::vector<absl::Status> returned = {
      engine->Check(bad, &d), engine->Peek(bad, &d), engine->CheckKey("nope", "x", 1, &d),
      engine->CheckKey("items", "", 1, &d), engine->ResetKey("nope", "x"),
      engine->ResetKey("items", "")};
  for (const absl::Status& s : returned) EXPECT_FALSE(s.ok());
  EXPECT_EQ(recorder.seen(), returned);
}

TEST(ErrorListenerTest, HearsResetStorageFailures) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  absl::Status status = engine->Reset(Get("/s"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("storage \"unavailable\""), HasSubstr("reset of rule \"s\"")));
  EXPECT_EQ(recorder.seen(), std::vector<absl::Status>{status});
}

TEST(ErrorListenerTest, HearsAnAlgorithmErrorOnceNamingTheAlgorithm) {
  auto engine = MakeEngine(absl::StrCat(
      R"({"clock": "manual", "failure_mode": "open", "plugin_paths": [")", LIMIFY_TEST_PLUGIN_DIR,
      R"(/faulty_counter"], "rules": [{"id": "f", "path": "/f", "algorithm": "faulty_counter",
      "rate": "7/second"}]})"));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  Decision d;
  absl::Status status = engine->Check(Get("/f"), &d);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("algorithm \"faulty_counter\""));
  EXPECT_EQ(recorder.seen(), std::vector<absl::Status>{status});
}

TEST(ErrorListenerTest, HearsNothingWhenAllGoesWell) {
  auto engine = MakeEngine(ManualConfig(kRules));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  Decision d;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());  // denied too
  ASSERT_TRUE(engine->Peek(Get("/other"), &d).ok());
  ASSERT_TRUE(engine->CheckKey("items", "k", 1, &d).ok());
  ASSERT_TRUE(engine->Reset(Get("/items/1")).ok());
  EXPECT_TRUE(recorder.seen().empty());
}

TEST(ErrorListenerTest, AnEmptyListenerRemovesIt) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  ASSERT_TRUE(engine->SetErrorListener(nullptr).ok());
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/s"), &d).ok());
  EXPECT_TRUE(recorder.seen().empty());
}

TEST(ErrorListenerTest, ExceptionsFromTheListenerAreSwallowed) {
  auto engine = MakeEngine(UnavailableStorageConfig("closed"));
  ASSERT_TRUE(engine
                  ->SetErrorListener([](const absl::Status&) {
                    throw std::runtime_error("listener bug");
                  })
                  .ok());
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/s"), &d).ok());
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.degraded);
  EXPECT_EQ(engine->Reset(Get("/s")).code(), absl::StatusCode::kUnavailable);
}

TEST(ErrorListenerTest, ReplacingWaitsForTheCallInFlight) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  std::atomic<bool> started{false}, finished{false};
  ASSERT_TRUE(engine
                  ->SetErrorListener([&](const absl::Status&) {
                    started.store(true);
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    finished.store(true);
                  })
                  .ok());
  std::thread checker([&] {
    Decision d;
    (void)engine->Check(Get("/s"), &d);
  });
  while (!started.load()) std::this_thread::yield();
  ASSERT_TRUE(engine->SetErrorListener(nullptr).ok());
  EXPECT_TRUE(finished.load()) << "SetErrorListener returned while the old listener ran";
  checker.join();
}

// Runs `work` on a helper thread; a deadlock aborts instead of hanging.
void RunWithDeadline(std::function<void()> work) {
  auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
  auto done = std::make_shared<bool>(false);
  std::thread([work, state, done] {
    work();
    std::lock_guard<std::mutex> lock(state->first);
    *done = true;
    state->second.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(state->first);
  if (!state->second.wait_for(lock, std::chrono::seconds(20), [&] { return *done; })) {
    std::fprintf(stderr, "deadlock: work did not finish within 20 s\n");
    std::abort();
  }
}

TEST(ErrorListenerTest, TheListenerCannotReplaceItselfButMayReload) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  absl::Status replace, reload, provider;
  ASSERT_TRUE(engine
                  ->SetErrorListener([&](const absl::Status&) {
                    replace = engine->SetErrorListener(nullptr);
                    reload = engine->Reload(UnavailableStorageConfig("open"));
                    provider = engine->SetPlanProvider(nullptr);
                  })
                  .ok());
  RunWithDeadline([&] {
    Decision d;
    (void)engine->Check(Get("/s"), &d);
  });
  EXPECT_EQ(replace.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(replace.message()), HasSubstr("error listener"));
  EXPECT_TRUE(reload.ok()) << reload;
  EXPECT_TRUE(provider.ok()) << provider;
}

TEST(ErrorListenerTest, ThePlanProviderCannotSetTheListener) {
  auto engine = MakeEngine(ManualConfig(kRules));
  absl::Status set;
  ASSERT_TRUE(engine
                  ->SetPlanProvider([&](const Request&, std::string_view) {
                    set = engine->SetErrorListener(nullptr);
                    return std::string("pro");
                  })
                  .ok());
  Decision d;
  RunWithDeadline([&] { (void)engine->Check(Get("/items/1"), &d); });
  EXPECT_EQ(d.plan_id, "pro");
  EXPECT_EQ(set.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(set.message()), HasSubstr("plan provider"));
  EXPECT_TRUE(engine->SetErrorListener(nullptr).ok()) << "fine from outside";
}

TEST(ErrorListenerTest, AnotherEnginesListenerMaySetThisOne) {
  auto a = MakeEngine(UnavailableStorageConfig("open"));
  auto b = MakeEngine(ManualConfig(kRules));
  absl::Status set;
  ASSERT_TRUE(a->SetErrorListener([&](const absl::Status&) {
                 set = b->SetErrorListener(nullptr);
               }).ok());
  RunWithDeadline([&] {
    Decision d;
    (void)a->Check(Get("/s"), &d);
  });
  EXPECT_TRUE(set.ok()) << set;
}

TEST(ErrorListenerTest, ManyThreadsHearEveryError) {
  // Without a breaker every check calls the storage and meets its error.
  auto engine = MakeEngine(UnavailableStorageConfig("open", "false"));
  std::atomic<int> heard{0};
  ASSERT_TRUE(engine->SetErrorListener([&](const absl::Status&) { heard.fetch_add(1); }).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        Decision d;
        (void)engine->Check(Get("/s"), &d);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(heard.load(), 800);
}

}  // namespace
}  // namespace limify
