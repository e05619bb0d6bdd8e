// The circuit breaker: its state machine on the manual clock (CircuitBreaker
// alone), then the engine with a storage that fails on command: an open
// breaker decides by failure_mode without calling the storage, one probe
// after the recovery timeout closes or reopens it, the listener hears once
// per opening, stats show it, and what is not a storage failure never
// counts.
#include "engine/circuit_breaker.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "limify/plugin.h"
#include "nlohmann/json.hpp"

namespace limify {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Pass = CircuitBreaker::Pass;
using State = CircuitBreaker::State;
using Transition = CircuitBreaker::Transition;

constexpr int64_t kMs = 1000;

// ---- The state machine alone -------------------------------------------

struct BreakerFixture : ::testing::Test {
  EngineClock clock{/*manual=*/true};
  CircuitBreaker breaker{BreakerSettings{3, 500 * kMs}};

  Transition Fail() { return breaker.Record(breaker.Admit(clock), true, clock); }
  Transition Succeed() { return breaker.Record(breaker.Admit(clock), false, clock); }
};

TEST_F(BreakerFixture, OpensAtTheThresholdOfConsecutiveFailures) {
  EXPECT_EQ(Fail(), Transition::kNone);
  EXPECT_EQ(Fail(), Transition::kNone);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(Fail(), Transition::kOpened);
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.Admit(clock).pass, Pass::kReject);
}

TEST_F(BreakerFixture, AnySuccessResetsTheCount) {
  Fail();
  Fail();
  EXPECT_EQ(Succeed(), Transition::kNone);
  Fail();
  Fail();
  EXPECT_EQ(breaker.state(), State::kClosed) << "2 + 2 failures, never 3 in a row";
  EXPECT_EQ(Fail(), Transition::kOpened);
}

TEST_F(BreakerFixture, RejectsUntilTheRecoveryTimeoutThenLetsExactlyOneProbeThrough) {
  for (int i = 0; i < 3; ++i) Fail();
  ASSERT_TRUE(clock.Advance(499 * kMs));
  EXPECT_EQ(breaker.Admit(clock).pass, Pass::kReject);
  EXPECT_EQ(breaker.RetryInUs(clock), 1 * kMs);
  ASSERT_TRUE(clock.Advance(1 * kMs));

  // Many threads at once: one probe, every other caller rejected.
  std::atomic<int> probes{0}, rejects{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        const Pass pass = breaker.Admit(clock).pass;
        (pass == Pass::kProbe ? probes : rejects).fetch_add(1);
        EXPECT_NE(pass, Pass::kCall);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(rejects.load(), 7999);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
}

TEST_F(BreakerFixture, ASuccessfulProbeCloses) {
  for (int i = 0; i < 3; ++i) Fail();
  ASSERT_TRUE(clock.Advance(500 * kMs));
  const CircuitBreaker::Ticket probe = breaker.Admit(clock);
  ASSERT_EQ(probe.pass, Pass::kProbe);
  EXPECT_EQ(breaker.Record(probe, false, clock), Transition::kClosed);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.Admit(clock).pass, Pass::kCall);
  EXPECT_EQ(Fail(), Transition::kNone) << "the count starts again from zero";
}

TEST_F(BreakerFixture, AFailedProbeReopensForAFreshRecoveryTimeout) {
  for (int i = 0; i < 3; ++i) Fail();
  ASSERT_TRUE(clock.Advance(700 * kMs));
  const CircuitBreaker::Ticket probe = breaker.Admit(clock);
  ASSERT_EQ(probe.pass, Pass::kProbe);
  EXPECT_EQ(breaker.Record(probe, true, clock), Transition::kReopened);
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.RetryInUs(clock), 500 * kMs) << "timed from the probe, not the first opening";
  ASSERT_TRUE(clock.Advance(499 * kMs));
  EXPECT_EQ(breaker.Admit(clock).pass, Pass::kReject);
  ASSERT_TRUE(clock.Advance(1 * kMs));
  EXPECT_EQ(breaker.Admit(clock).pass, Pass::kProbe);
}

TEST_F(BreakerFixture, CallsAdmittedBeforeItOpenedChangeNothingWhenTheyEnd) {
  // Five calls in flight while closed; three fail and open it.
  std::vector<CircuitBreaker::Ticket> in_flight;
  for (int i = 0; i < 5; ++i) in_flight.push_back(breaker.Admit(clock));
  for (int i = 0; i < 3; ++i) breaker.Record(in_flight[i], true, clock);
  ASSERT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.Record(in_flight[3], false, clock), Transition::kNone);
  EXPECT_EQ(breaker.Record(in_flight[4], true, clock), Transition::kNone);
  EXPECT_EQ(breaker.state(), State::kOpen) << "only the probe closes an open breaker";
}

// ---- The engine with a storage that fails on command --------------------

// The controls of tests/engine_plugins/switchable_storage (already loaded
// by an engine: RTLD_NOLOAD finds that copy).
class Switch {
 public:
  Switch() {
    const std::string path =
        std::string(LIMIFY_TEST_PLUGIN_DIR) + "/switchable_storage/switchable_storage.so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(handle_, nullptr) << "create an engine on it first: " << dlerror();
    if (handle_ == nullptr) return;
    fail_with_ = reinterpret_cast<void (*)(int32_t)>(dlsym(handle_, "switchable_storage_fail_with"));
    calls_ = reinterpret_cast<uint64_t (*)()>(dlsym(handle_, "switchable_storage_calls"));
    fail_with_(0);
  }
  ~Switch() {
    if (handle_ == nullptr) return;
    fail_with_(0);
    dlclose(handle_);
  }
  void FailWith(int32_t code) { fail_with_(code); }
  uint64_t calls() { return calls_(); }

 private:
  void* handle_ = nullptr;
  void (*fail_with_)(int32_t) = nullptr;
  uint64_t (*calls_)() = nullptr;
};

std::string SwitchableConfig(const std::string& failure_mode, const std::string& breaker,
                             const std::string& rate = "100/second") {
  return absl::StrCat(R"({"storage": {"type": "switchable"}, "clock": "manual", "plugin_paths": [")",
                      LIMIFY_TEST_PLUGIN_DIR, R"(/switchable_storage"], "failure_mode": ")",
                      failure_mode, R"(", "circuit_breaker": )", breaker,
                      R"(, "rules": [{"id": "s", "path": "/s", "rate": ")", rate, R"("}]})");
}
constexpr char kBreaker[] = R"({"failure_threshold": 3, "recovery_timeout_ms": 200})";

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

Request Get(std::string_view user = "alice") {
  Request r;
  r.method = "GET";
  r.path = "/s";
  r.user_id = user;
  return r;
}

Json Breaker(const Engine& engine) {
  absl::StatusOr<std::string> text = engine.Stats(StatsFormat::kJson);
  EXPECT_TRUE(text.ok()) << text.status();
  return Json::parse(text.ok() ? *text : "{}")["circuit_breaker"];
}

// Records every status it is given.
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

// Fails `n` checks (the storage is told to fail first).
void FailChecks(Engine& engine, int n) {
  Decision d;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(engine.Check(Get(), &d).ok());
}

class OpenBreakerTest : public ::testing::TestWithParam<const char* /*failure_mode*/> {};

TEST_P(OpenBreakerTest, DecidesByTheFailureModeWithoutCallingTheStorage) {
  const bool open = std::string(GetParam()) == "open";
  auto engine = MakeEngine(SwitchableConfig(GetParam(), kBreaker));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_TIMEOUT);
  FailChecks(*engine, 3);
  ASSERT_EQ(Breaker(*engine)["state"], 1) << "3 consecutive timeouts open it";

  const uint64_t calls = storage.calls();
  for (int i = 0; i < 50; ++i) {
    Decision d;
    ASSERT_TRUE(i % 2 == 0 ? engine->Check(Get(), &d).ok() : engine->Peek(Get(), &d).ok());
    EXPECT_TRUE(d.degraded);
    EXPECT_EQ(d.allowed, open);
    EXPECT_EQ(d.rule_id, "s");
    EXPECT_EQ(d.retry_after_us, open ? 0 : 1'000'000);
  }
  EXPECT_EQ(storage.calls(), calls) << "an open breaker never calls the storage";
  const Json breaker = Breaker(*engine);
  EXPECT_EQ(breaker["short_circuited"], 50);
  EXPECT_EQ(breaker["opened"], 1);
}

INSTANTIATE_TEST_SUITE_P(FailureModes, OpenBreakerTest, ::testing::Values("open", "closed"));

TEST(EngineBreakerTest, AProbeAfterTheRecoveryTimeoutClosesItWhenTheStorageIsBack) {
  auto engine = MakeEngine(SwitchableConfig("closed", kBreaker, "2/minute"));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 3);
  storage.FailWith(0);  // the server is back, but the breaker does not know yet
  Decision d;
  ASSERT_TRUE(engine->Check(Get(), &d).ok());
  EXPECT_TRUE(d.degraded) << "still open: the recovery timeout has not passed";
  EXPECT_EQ(Breaker(*engine)["state"], 1);

  ASSERT_TRUE(engine->AdvanceClock(200 * kMs).ok());
  const uint64_t calls = storage.calls();
  ASSERT_TRUE(engine->Check(Get(), &d).ok());
  EXPECT_EQ(storage.calls(), calls + 1) << "the probe reaches the storage";
  EXPECT_FALSE(d.degraded);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(Breaker(*engine)["state"], 0);
  ASSERT_TRUE(engine->Check(Get(), &d).ok());
  EXPECT_FALSE(d.degraded);
  EXPECT_EQ(d.remaining, 0) << "normal decisions, with the storage's state";
}

TEST(EngineBreakerTest, AFailedProbeOpensItAgainAndCountsAsAnOpening) {
  auto engine = MakeEngine(SwitchableConfig("open", kBreaker));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 3);
  ASSERT_TRUE(engine->AdvanceClock(200 * kMs).ok());
  const uint64_t calls = storage.calls();
  FailChecks(*engine, 5);  // the first is the probe; the other four are short-circuited
  EXPECT_EQ(storage.calls(), calls + 1);
  const Json breaker = Breaker(*engine);
  EXPECT_EQ(breaker["state"], 1);
  EXPECT_EQ(breaker["opened"], 2);
  EXPECT_EQ(breaker["short_circuited"], 4);
}

TEST(EngineBreakerTest, TheListenerHearsEachFailureAndEachOpeningNotEachShortCircuit) {
  auto engine = MakeEngine(SwitchableConfig("open", kBreaker));
  Switch storage;
  Recorder recorder;
  ASSERT_TRUE(engine->SetErrorListener(recorder.Listener()).ok());
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 100);
  const std::vector<absl::Status> seen = recorder.seen();
  ASSERT_EQ(seen.size(), 4u) << "3 failures, then 1 opening; 97 short-circuited checks are silent";
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(std::string(seen[i].message()), HasSubstr("check of rule \"s\""));
  }
  EXPECT_EQ(seen[3].code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(seen[3].message()),
              AllOf(HasSubstr("storage \"switchable\": circuit breaker opened after 3 "
                              "consecutive failures"),
                    HasSubstr("for 200 ms failure_mode \"open\" allows every request")));
}

TEST(EngineBreakerTest, AResetWhileOpenFailsFastNamingTheBreaker) {
  auto engine = MakeEngine(SwitchableConfig("open", kBreaker));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_TIMEOUT);
  FailChecks(*engine, 3);
  storage.FailWith(0);
  const uint64_t calls = storage.calls();
  const absl::Status reset = engine->Reset(Get());
  EXPECT_EQ(reset.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(reset.message()),
              AllOf(HasSubstr("reset of rule \"s\" plan \"default\" not attempted"),
                    HasSubstr("circuit breaker is open"), HasSubstr("next probe in 200 ms")));
  EXPECT_EQ(engine->ResetKey("s", "k").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(storage.calls(), calls);
}

TEST(EngineBreakerTest, AlgorithmErrorsNeverCountAsStorageFailures) {
  // faulty_counter fails a limit of 7 with the storage's "unavailable" code.
  auto engine = MakeEngine(absl::StrCat(
      R"({"clock": "manual", "circuit_breaker": {"failure_threshold": 1}, "plugin_paths": [")",
      LIMIFY_TEST_PLUGIN_DIR, R"(/faulty_counter"], "rules": [{"id": "f", "path": "/s",
      "algorithm": "faulty_counter", "rate": "7/second"}]})"));
  Decision d;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(engine->Check(Get(), &d).code(), absl::StatusCode::kInternal);
    EXPECT_FALSE(d.degraded);
  }
  EXPECT_EQ(Breaker(*engine)["state"], 0);
  EXPECT_EQ(Breaker(*engine)["opened"], 0);
}

TEST(EngineBreakerTest, BadArgumentsNeverReachTheBreaker) {
  auto engine = MakeEngine(SwitchableConfig("open", R"({"failure_threshold": 1})"));
  Switch storage;
  Request bad = Get();
  bad.cost = 0;
  Decision d;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(engine->Check(bad, &d).ok());
  EXPECT_EQ(Breaker(*engine)["state"], 0);
}

TEST(EngineBreakerTest, DisabledEveryCheckPaysTheStorageCall) {
  auto engine = MakeEngine(SwitchableConfig("open", "false"));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_TIMEOUT);
  const uint64_t calls = storage.calls();
  FailChecks(*engine, 20);
  EXPECT_EQ(storage.calls(), calls + 20);
  const Json breaker = Breaker(*engine);
  EXPECT_EQ(breaker, Json::parse(R"({"enabled": false, "state": 0, "state_name": "closed",
                                     "opened": 0, "short_circuited": 0})"));
}

TEST(EngineBreakerTest, DefaultsOpenAfterFiveFailuresForOneSecond) {
  auto engine = MakeEngine(absl::StrCat(
      R"({"storage": {"type": "switchable"}, "clock": "manual", "plugin_paths": [")",
      LIMIFY_TEST_PLUGIN_DIR, R"(/switchable_storage"], "rules": [{"id": "s", "path": "/s",
      "rate": "9/second"}]})"));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 4);
  EXPECT_EQ(Breaker(*engine)["state"], 0);
  FailChecks(*engine, 1);
  EXPECT_EQ(Breaker(*engine)["state"], 1);
  ASSERT_TRUE(engine->AdvanceClock(999 * kMs).ok());
  const uint64_t calls = storage.calls();
  FailChecks(*engine, 1);
  EXPECT_EQ(storage.calls(), calls);
  ASSERT_TRUE(engine->AdvanceClock(1 * kMs).ok());
  FailChecks(*engine, 1);
  EXPECT_EQ(storage.calls(), calls + 1) << "the probe";
}

TEST(EngineBreakerTest, StatsShowItInJsonAndPrometheus) {
  auto engine = MakeEngine(SwitchableConfig("open", kBreaker));
  Switch storage;
  EXPECT_EQ(Breaker(*engine), Json::parse(R"({"enabled": true, "state": 0, "state_name": "closed",
                                              "opened": 0, "short_circuited": 0})"));
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 5);
  EXPECT_EQ(Breaker(*engine), Json::parse(R"({"enabled": true, "state": 1, "state_name": "open",
                                              "opened": 1, "short_circuited": 2})"));
  absl::StatusOr<std::string> text = engine->Stats(StatsFormat::kPrometheus);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, AllOf(HasSubstr("# TYPE limify_circuit_breaker_state gauge\n"
                                     "limify_circuit_breaker_state 1\n"),
                           HasSubstr("limify_circuit_breaker_opened_total 1\n"),
                           HasSubstr("limify_circuit_breaker_short_circuited_total 2\n")));
  // Half-open while the probe is out is 2; a successful probe closes.
  storage.FailWith(0);
  ASSERT_TRUE(engine->AdvanceClock(200 * kMs).ok());
  FailChecks(*engine, 1);
  EXPECT_EQ(Breaker(*engine)["state_name"], "closed");
}

TEST(EngineBreakerTest, AReloadKeepingTheStorageKeepsTheBreakerUnlessItsSettingsChange) {
  auto engine = MakeEngine(SwitchableConfig("open", kBreaker));
  Switch storage;
  storage.FailWith(LIMIFY_PLUGIN_UNAVAILABLE);
  FailChecks(*engine, 3);
  ASSERT_TRUE(engine->Reload(SwitchableConfig("closed", kBreaker, "5/second")).ok());
  EXPECT_EQ(Breaker(*engine)["state"], 1) << "same storage, same settings: still open";
  Decision d;
  ASSERT_TRUE(engine->Check(Get(), &d).ok());
  EXPECT_FALSE(d.allowed) << "the new failure_mode applies at once";

  ASSERT_TRUE(
      engine->Reload(SwitchableConfig("closed", R"({"failure_threshold": 4})", "5/second")).ok());
  EXPECT_EQ(Breaker(*engine)["state"], 0) << "new settings: a fresh breaker";
  EXPECT_EQ(Breaker(*engine)["opened"], 1) << "counters survive reloads";
}

TEST(EngineBreakerTest, ConfigErrorsNameTheJsonPath) {
  auto error = [](const std::string& breaker) {
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(
        absl::StrCat(R"({"circuit_breaker": )", breaker, R"(, "rules": []})"));
    return engine.ok() ? std::string("created") : std::string(engine.status().message());
  };
  EXPECT_THAT(error(R"({"failure_threshold": 0})"),
              HasSubstr("circuit_breaker.failure_threshold: expected an integer from 1 to 1000000, "
                        "got 0"));
  EXPECT_THAT(error(R"({"recovery_timeout_ms": "1s"})"),
              HasSubstr("circuit_breaker.recovery_timeout_ms: expected milliseconds from 1 to "
                        "3600000, got \"1s\""));
  EXPECT_THAT(error(R"({"threshold": 3})"),
              HasSubstr("circuit_breaker.threshold: unknown key"));
  EXPECT_THAT(error("5"), HasSubstr("circuit_breaker: expected false, true or an object"));
  EXPECT_EQ(error("true"), "created");
  EXPECT_EQ(error("{}"), "created");
}

}  // namespace
}  // namespace limify
