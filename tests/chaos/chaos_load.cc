#include "tests/chaos/chaos_load.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace limify::chaos {
namespace {

using Json = nlohmann::json;

Json Stats(const Engine& engine) {
  absl::StatusOr<std::string> text = engine.Stats(StatsFormat::kJson);
  return text.ok() ? Json::parse(*text) : Json::object();
}

}  // namespace

std::string PolicyAndRules() {
  const char* disable = std::getenv("LIMIFY_CHAOS_DISABLE_BREAKER");
  const bool enabled = disable == nullptr || std::string(disable) != "1";
  return absl::StrCat(
      R"("failure_mode": "closed", "circuit_breaker": )",
      enabled ? absl::StrCat(R"({"failure_threshold": )", kThreshold,
                             R"(, "recovery_timeout_ms": )", kRecoveryMs, "}")
              : std::string("false"),
      R"(, "rules": [{"id": "c", "path": "/c", "rate": "1000000/second"}])");
}

Load::Load(Engine& engine, int threads, int slow_ms) : engine_(engine), slow_us_(slow_ms * 1000) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
}

void Load::Stop() {
  stop_.store(true);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Load::Run(int thread) {
  const std::string user = absl::StrCat("user-", thread);
  Request request;
  request.method = "GET";
  request.path = "/c";
  request.user_id = user;
  while (!stop_.load()) {
    if (paused_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    in_flight_.fetch_add(1);
    if (paused_.load()) {  // Pause began meanwhile: it may not wait for this one
      in_flight_.fetch_sub(1);
      continue;
    }
    Decision d;
    const auto start = std::chrono::steady_clock::now();
    const absl::Status status = engine_.Check(request, &d);
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    calls_.fetch_add(1);
    if (us >= slow_us_) slow_.fetch_add(1);
    int64_t max = max_us_.load();
    while (us > max && !max_us_.compare_exchange_weak(max, us)) {
    }
    if (!status.ok()) {
      errors_.fetch_add(1);
    } else if (d.degraded) {
      degraded_.fetch_add(1);
      if (d.allowed) off_policy_.fetch_add(1);  // failure_mode "closed" denies
    } else {
      normal_.fetch_add(1);
      if (!d.allowed) off_policy_.fetch_add(1);  // the rule allows all of this load
    }
    in_flight_.fetch_sub(1);
    // A short pause: a short-circuited check returns at once, and the
    // machine is shared.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void Load::Pause() {
  paused_.store(true);
  while (in_flight_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Load::Resume() { paused_.store(false); }

Load::Totals Load::totals() const {
  Totals t;
  t.calls = calls_.load();
  t.errors = errors_.load();
  t.normal = normal_.load();
  t.degraded = degraded_.load();
  t.off_policy = off_policy_.load();
  t.slow = slow_.load();
  t.max_us = max_us_.load();
  return t;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

int BreakerState(const Engine& engine) {
  return Stats(engine)["circuit_breaker"].value("state", -1);
}
uint64_t BreakerOpened(const Engine& engine) {
  return Stats(engine)["circuit_breaker"].value("opened", uint64_t{0});
}
uint64_t ShortCircuited(const Engine& engine) {
  return Stats(engine)["circuit_breaker"].value("short_circuited", uint64_t{0});
}

uint64_t Decisions(const Engine& engine) {
  uint64_t total = 0;
  const Json stats = Stats(engine);
  for (const Json& row : stats["decisions"]) {
    total += row["allowed"].get<uint64_t>() + row["denied"].get<uint64_t>();
  }
  return total;
}

uint64_t StorageFailures(const Engine& engine) {
  const Json errors = Stats(engine)["storage_errors"];
  return errors.value("unavailable", uint64_t{0}) + errors.value("timeout", uint64_t{0});
}

uint64_t FailureBudget(int threads, int64_t outage_ms) {
  return static_cast<uint64_t>(kThreshold + threads + outage_ms / kRecoveryMs + 4);
}

}  // namespace limify::chaos
