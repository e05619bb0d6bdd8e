// Engine::Stats after known sequences of calls: decisions by rule, plan and
// outcome, degraded decisions, storage errors, errors, the latency
// histogram and the keys held; counters across reloads and threads; and a
// Prometheus exposition that a strict line parser accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/metrics.h"
#include "engine/metrics_format.h"

namespace limify {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

std::unique_ptr<Engine> MakeEngine(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

std::string ManualConfig(const std::string& rules, const std::string& extra = "") {
  return absl::StrCat(R"({"clock": "manual", )", extra, R"("rules": )", rules, "}");
}

Request Get(std::string_view path, std::string_view user = "alice") {
  Request r;
  r.method = "GET";
  r.path = path;
  r.user_id = user;
  return r;
}

Json StatsJson(const Engine& engine) {
  absl::StatusOr<std::string> text = engine.Stats(StatsFormat::kJson);
  EXPECT_TRUE(text.ok()) << text.status();
  return Json::parse(text.ok() ? *text : "{}");
}

std::string StatsText(const Engine& engine) {
  absl::StatusOr<std::string> text = engine.Stats(StatsFormat::kPrometheus);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// The decision row of (rule, plan), or null.
Json Row(const Json& stats, const std::string& rule, const std::string& plan) {
  for (const Json& row : stats["decisions"]) {
    if (row["rule"] == rule && row["plan"] == plan) return row;
  }
  return nullptr;
}

struct Counts {
  uint64_t allowed, denied, degraded_allowed, degraded_denied;
};
Counts CountsOf(const Json& row) {
  if (row.is_null()) return {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
  return {row["allowed"], row["denied"], row["degraded_allowed"], row["degraded_denied"]};
}
MATCHER_P4(CountsAre, allowed, denied, degraded_allowed, degraded_denied, "") {
  return arg.allowed == uint64_t(allowed) && arg.denied == uint64_t(denied) &&
         arg.degraded_allowed == uint64_t(degraded_allowed) &&
         arg.degraded_denied == uint64_t(degraded_denied);
}
void PrintTo(const Counts& c, std::ostream* os) {
  *os << "{" << c.allowed << ", " << c.denied << ", " << c.degraded_allowed << ", "
      << c.degraded_denied << "}";
}

uint64_t Total(const Json& stats) {
  uint64_t total = 0;
  for (const Json& row : stats["decisions"]) {
    total += row["allowed"].get<uint64_t>() + row["denied"].get<uint64_t>();
  }
  return total;
}

constexpr char kPlanRules[] = R"([{"id": "items", "path": "/items/**", "rate": "2/minute",
    "plans": {"pro": "3/minute"}},
    {"id": "jobs", "path": "/unused", "rate": "1/minute"}])";

TEST(StatsTest, CountsDecisionsByRulePlanAndOutcome) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());
  Request pro = Get("/items/1");
  pro.plan = "pro";
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(engine->Check(pro, &d).ok());
  ASSERT_TRUE(engine->CheckKey("jobs", "tenant", 1, &d).ok());
  ASSERT_TRUE(engine->CheckKey("jobs", "tenant", 1, &d).ok());
  ASSERT_TRUE(engine->Check(Get("/nothing/here"), &d).ok());
  ASSERT_TRUE(engine->Check(Get("/nothing/else"), &d).ok());

  Json stats = StatsJson(*engine);
  EXPECT_THAT(CountsOf(Row(stats, "items", "default")), CountsAre(2, 1, 0, 0));
  EXPECT_THAT(CountsOf(Row(stats, "items", "pro")), CountsAre(3, 1, 0, 0));
  EXPECT_THAT(CountsOf(Row(stats, "jobs", "default")), CountsAre(1, 1, 0, 0));
  // Requests no rule matched: rule "" plan "", always allowed.
  EXPECT_THAT(CountsOf(Row(stats, "", "")), CountsAre(2, 0, 0, 0));
  EXPECT_EQ(stats["decisions"].size(), 4u) << stats.dump();
  EXPECT_EQ(stats["errors"], 0);
}

TEST(StatsTest, RowsAreSortedAndEveryKeyIsPresent) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Json stats = StatsJson(*engine);
  std::vector<std::pair<std::string, std::string>> ids;
  for (const Json& row : stats["decisions"]) ids.emplace_back(row["rule"], row["plan"]);
  EXPECT_EQ(ids, (std::vector<std::pair<std::string, std::string>>{
                     {"", ""}, {"items", "default"}, {"items", "pro"}, {"jobs", "default"}}));
  for (const char* key : {"decisions", "storage_errors", "errors", "latency_us", "keys"}) {
    EXPECT_TRUE(stats.contains(key)) << key;
  }
  EXPECT_EQ(stats["storage_errors"],
            Json::parse(R"({"unavailable": 0, "timeout": 0, "internal": 0,
                            "invalid_argument": 0, "other": 0})"));
}

TEST(StatsTest, PeeksAreNotDecisions) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine->Peek(Get("/items/1"), &d).ok());
  Json stats = StatsJson(*engine);
  EXPECT_THAT(CountsOf(Row(stats, "items", "default")), CountsAre(0, 0, 0, 0));
  EXPECT_EQ(stats["latency_us"]["count"], 0);
}

TEST(StatsTest, ErrorsReturnedAreCounted) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  Request bad = Get("/items/1");
  bad.cost = 0;
  EXPECT_FALSE(engine->Check(bad, &d).ok());
  EXPECT_FALSE(engine->Peek(bad, &d).ok());
  EXPECT_FALSE(engine->CheckKey("nope", "x", 1, &d).ok());
  EXPECT_FALSE(engine->CheckKey("jobs", "", 1, &d).ok());
  EXPECT_FALSE(engine->ResetKey("nope", "x").ok());
  Json stats = StatsJson(*engine);
  EXPECT_EQ(stats["errors"], 5);
  EXPECT_EQ(Total(stats), 0u) << "a call that failed is not a decision";
  EXPECT_EQ(stats["latency_us"]["count"], 0);
}

TEST(StatsTest, LatencyHistogramCountsEveryDecisionCumulatively) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(engine->CheckKey("jobs", "t", 1, &d).ok());
  ASSERT_TRUE(engine->Check(Get("/unmatched"), &d).ok());
  Json stats = StatsJson(*engine);
  const Json& latency = stats["latency_us"];
  EXPECT_EQ(latency["count"], 18);
  EXPECT_EQ(latency["count"], Total(stats)) << "one observation per decision";
  EXPECT_GT(latency["sum"].get<double>(), 0.0);
  EXPECT_LT(latency["sum"].get<double>(), 18 * 10e6) << "no check took 10 s";
  ASSERT_EQ(latency["buckets"].size(), kLatencyBounds);
  EXPECT_EQ(latency["buckets"][0]["le"], 1.0);
  EXPECT_EQ(latency["buckets"][1]["le"], 2.5);
  EXPECT_EQ(latency["buckets"][kLatencyBounds - 1]["le"], 10e6);
  uint64_t previous = 0;
  for (const Json& bucket : latency["buckets"]) {
    EXPECT_GE(bucket["count"].get<uint64_t>(), previous) << "buckets are cumulative";
    previous = bucket["count"];
  }
  EXPECT_LE(previous, 18u);
}

TEST(StatsTest, CountersSurviveReloadAndKeepRemovedRules) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());
  // Changes the rate of "items" (its state starts fresh) and drops "jobs".
  ASSERT_TRUE(engine->Reload(ManualConfig(
      R"([{"id": "items", "path": "/items/**", "rate": "5/minute"}])")).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());
  Json stats = StatsJson(*engine);
  EXPECT_THAT(CountsOf(Row(stats, "items", "default")), CountsAre(2 + 5, 1 + 1, 0, 0));
  EXPECT_THAT(CountsOf(Row(stats, "jobs", "default")), CountsAre(0, 0, 0, 0))
      << "a rule ever configured keeps its row";
  EXPECT_EQ(stats["latency_us"]["count"], 9);
}

TEST(StatsTest, ReloadThatChangesTheStorageKeepsTheCounters) {
  auto config = [](int max_keys) {
    return absl::StrCat(R"({"storage": {"type": "memory", "max_keys": )", max_keys,
                        R"(}, "rules": [{"id": "a", "path": "/a", "rate": "100/minute"}]})");
  };
  auto engine = MakeEngine(config(1000));
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a"), &d).ok());
  ASSERT_TRUE(engine->Reload(config(1001)).ok());
  ASSERT_TRUE(engine->Check(Get("/a"), &d).ok());
  EXPECT_THAT(CountsOf(Row(StatsJson(*engine), "a", "default")), CountsAre(2, 0, 0, 0));
}

TEST(StatsTest, FailedReloadAddsNoRow) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  ASSERT_FALSE(engine->Reload(ManualConfig(
      R"([{"id": "ghost", "path": "/g", "algorithm": "nope", "rate": "1/minute"}])")).ok());
  EXPECT_TRUE(Row(StatsJson(*engine), "ghost", "default").is_null());
}

TEST(StatsTest, KeysHeldByTheMemoryStorage) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  EXPECT_EQ(StatsJson(*engine)["keys"], 0);
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/items/1", "alice"), &d).ok());
  ASSERT_TRUE(engine->Check(Get("/items/1", "bob"), &d).ok());
  ASSERT_TRUE(engine->Check(Get("/items/1", "bob"), &d).ok());
  ASSERT_TRUE(engine->CheckKey("jobs", "t", 1, &d).ok());
  EXPECT_EQ(StatsJson(*engine)["keys"], 3);
  EXPECT_THAT(StatsText(*engine), HasSubstr("\nlimify_keys 3\n"));
}

TEST(StatsTest, KeysAreNullForAStorageBuiltAgainstAbi10) {
  // Its struct_size ends before key_count; the slot past it answers 999.
  auto engine = MakeEngine(absl::StrCat(
      R"({"storage": {"type": "abi10"}, "plugin_paths": [")", LIMIFY_FIXTURE_DIR,
      R"(/abi10_storage"], "rules": [{"id": "s", "path": "/s", "rate": "5/second"}]})"));
  ASSERT_NE(engine, nullptr);
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/s"), &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(StatsJson(*engine)["keys"].is_null());
  EXPECT_THAT(StatsText(*engine), ::testing::Not(HasSubstr("limify_keys")));
}

std::string UnavailableStorageConfig(const char* mode) {
  return absl::StrCat(R"({"storage": {"type": "unavailable"}, "plugin_paths": [")",
                      LIMIFY_TEST_PLUGIN_DIR, R"(/unavailable_storage"], "failure_mode": ")", mode,
                      R"(", "rules": [{"id": "s", "path": "/s", "rate": "5/second"}]})");
}

TEST(StatsTest, DegradedDecisionsAndStorageErrors) {
  auto open = MakeEngine(UnavailableStorageConfig("open"));
  Decision d;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(open->Check(Get("/s"), &d).ok());
  ASSERT_TRUE(open->Peek(Get("/s"), &d).ok());
  EXPECT_FALSE(open->Reset(Get("/s")).ok());
  Json stats = StatsJson(*open);
  EXPECT_THAT(CountsOf(Row(stats, "s", "default")), CountsAre(3, 0, 3, 0));
  EXPECT_EQ(stats["storage_errors"]["unavailable"], 3 + 1 + 1) << "checks, the peek, the reset";
  EXPECT_EQ(stats["errors"], 1) << "only the reset returned its error";
  EXPECT_TRUE(stats["keys"].is_null()) << "key_count failed: the server is down";

  auto closed = MakeEngine(UnavailableStorageConfig("closed"));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(closed->Check(Get("/s"), &d).ok());
  EXPECT_THAT(CountsOf(Row(StatsJson(*closed), "s", "default")), CountsAre(0, 2, 0, 2));
  EXPECT_THAT(StatsText(*closed),
              HasSubstr("limify_degraded_decisions_total{rule=\"s\",plan=\"default\","
                        "outcome=\"denied\"} 2\n"));
}

TEST(StatsTest, AlgorithmFailureIsAnErrorNotAStorageError) {
  auto engine = MakeEngine(absl::StrCat(
      R"({"clock": "manual", "plugin_paths": [")", LIMIFY_TEST_PLUGIN_DIR,
      R"(/faulty_counter"], "rules": [{"id": "f", "path": "/f", "algorithm": "faulty_counter",
      "rate": "7/second"}]})"));
  Decision d;
  EXPECT_FALSE(engine->Check(Get("/f"), &d).ok());
  Json stats = StatsJson(*engine);
  EXPECT_EQ(stats["errors"], 1);
  for (const auto& [code, n] : stats["storage_errors"].items()) EXPECT_EQ(n, 0) << code;
}

TEST(StatsTest, ConcurrentCountsAreExactAcrossMoreThreadsThanSlots) {
  // More threads than exclusive slots: some share the last slot.
  auto engine = MakeEngine(ManualConfig(
      R"([{"id": "hot", "path": "/hot", "algorithm": "fixed_window", "rate": "1000/minute"}])"));
  constexpr int kThreads = 20;
  constexpr int kChecks = 300;
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChecks; ++i) {
        Decision d;
        if (engine->Check(Get("/hot"), &d).ok() && d.allowed) allowed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Json stats = StatsJson(*engine);
  EXPECT_THAT(CountsOf(Row(stats, "hot", "default")),
              CountsAre(allowed.load(), kThreads * kChecks - allowed.load(), 0, 0));
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(stats["latency_us"]["count"], kThreads * kChecks);
}

TEST(StatsTest, SlotsFreedByExitedThreadsKeepTheirCounts) {
  auto engine = MakeEngine(ManualConfig(R"([{"id": "a", "path": "/a", "rate": "1000/minute"}])"));
  for (int round = 0; round < 40; ++round) {  // more threads over time than slots
    std::thread([&] {
      Decision d;
      (void)engine->Check(Get("/a"), &d);
    }).join();
  }
  EXPECT_THAT(CountsOf(Row(StatsJson(*engine), "a", "default")), CountsAre(40, 0, 0, 0));
}

// ------------------------------------------------------------ Prometheus

// A strict reading of text format 0.0.4 for what this exporter emits: HELP
// and TYPE before the samples of each family, one family at a time, valid
// names and escaped label values, no series twice, histogram invariants.
void ExpectWellFormedExposition(const std::string& text) {
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*\})? ([-+]?[0-9.eE+-]+|\+Inf|NaN))");
  std::map<std::string, std::string> types;
  std::set<std::string> help, series, finished;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  std::vector<double> le_seen;
  double inf_count = -1, count = -2;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      EXPECT_TRUE(help.insert(m[1]).second) << "HELP twice: " << line;
      EXPECT_EQ(finished.count(m[1]), 0u) << "family split: " << line;
      if (!current.empty() && current != m[1]) finished.insert(current);
      current = m[1];
      continue;
    }
    if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], current) << "TYPE without HELP first: " << line;
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "not a sample: " << line;
    std::string name = m[1];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (types.count(family) == 0 && family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), std::string::npos, suffix) == 0) {
        family.resize(family.size() - strlen(suffix));
      }
    }
    ASSERT_EQ(types.count(family), 1u) << "sample before its TYPE: " << line;
    EXPECT_EQ(family, current) << "sample outside its family: " << line;
    EXPECT_TRUE(series.insert(absl::StrCat(name, m[2].str())).second) << "twice: " << line;
    const std::string value = line.substr(line.rfind(' ') + 1);
    if (types[family] == "histogram") {
      if (name == family + "_bucket") {
        std::smatch le;
        std::string labels = m[2];
        ASSERT_TRUE(std::regex_search(labels, le, std::regex(R"(le="([^"]+)\")")));
        const double bound = le[1] == "+Inf" ? INFINITY : std::stod(le[1]);
        if (!le_seen.empty()) {
          EXPECT_GT(bound, le_seen.back()) << "le must ascend";
        }
        le_seen.push_back(bound);
        if (std::isinf(bound)) inf_count = std::stod(value);
      } else if (name == family + "_count") {
        count = std::stod(value);
      }
    }
  }
  ASSERT_FALSE(le_seen.empty());
  EXPECT_TRUE(std::isinf(le_seen.back())) << "the last bucket is +Inf";
  EXPECT_EQ(inf_count, count) << "+Inf bucket == _count";
  for (const auto& [name, type] : types) EXPECT_EQ(help.count(name), 1u) << name;
}

TEST(StatsTest, PrometheusExpositionIsWellFormed) {
  auto engine = MakeEngine(ManualConfig(kPlanRules));
  Decision d;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(engine->Check(Get("/items/1"), &d).ok());
  ASSERT_TRUE(engine->Check(Get("/elsewhere"), &d).ok());
  const std::string text = StatsText(*engine);
  ExpectWellFormedExposition(text);
  EXPECT_THAT(text, HasSubstr("# TYPE limify_decisions_total counter\n"));
  EXPECT_THAT(text, HasSubstr(
      "limify_decisions_total{rule=\"items\",plan=\"default\",outcome=\"allowed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(
      "limify_decisions_total{rule=\"items\",plan=\"default\",outcome=\"denied\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(
      "limify_decisions_total{rule=\"\",plan=\"\",outcome=\"allowed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("limify_storage_errors_total{code=\"unavailable\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("limify_errors_total 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE limify_check_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_bucket{le=\"1e-06\"} "));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_bucket{le=\"10\"} "));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_count 5\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE limify_keys gauge\nlimify_keys 1\n"));
}

TEST(StatsTest, PrometheusWithDegradedAndErrorsIsWellFormed) {
  auto engine = MakeEngine(UnavailableStorageConfig("open"));
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/s"), &d).ok());
  (void)engine->Reset(Get("/s"));
  const std::string text = StatsText(*engine);
  ExpectWellFormedExposition(text);
  EXPECT_THAT(text, HasSubstr("limify_storage_errors_total{code=\"unavailable\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("limify_errors_total 1\n"));
}

TEST(StatsTest, RenderersEscapeLabelValues) {
  EXPECT_EQ(EscapePrometheusLabel("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  MetricsSnapshot snap;
  snap.decisions.push_back({"we\"ird\\", "pl\nan", {1, 2, 0, 0}});
  const std::string text = RenderStatsPrometheus(snap);
  ExpectWellFormedExposition(text);
  EXPECT_THAT(text, HasSubstr(
      "limify_decisions_total{rule=\"we\\\"ird\\\\\",plan=\"pl\\nan\",outcome=\"denied\"} 2\n"));
  Json json = Json::parse(RenderStatsJson(snap));
  EXPECT_EQ(json["decisions"][0]["rule"], "we\"ird\\");
  EXPECT_TRUE(json["keys"].is_null());
}

TEST(StatsTest, LatencySumIsInSecondsForPrometheusAndMicrosecondsForJson) {
  MetricsSnapshot snap;
  snap.latency_buckets[0] = 3;
  snap.latency_buckets[kLatencyBounds] = 1;  // slower than 10 s
  snap.latency_count = 4;
  snap.latency_sum_seconds = 12.5;
  const std::string text = RenderStatsPrometheus(snap);
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_sum 12.5\n"));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_bucket{le=\"10\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("limify_check_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
  Json json = Json::parse(RenderStatsJson(snap));
  EXPECT_EQ(json["latency_us"]["sum"], 12.5e6);
  EXPECT_EQ(json["latency_us"]["count"], 4);
  EXPECT_EQ(json["latency_us"]["buckets"][kLatencyBounds - 1]["count"], 3);
}

// ------------------------------------------------------------ Metrics unit

TEST(MetricsTest, OneCellPerRuleAndPlanWithAStableAddress) {
  Metrics metrics;
  DecisionCounters* a = metrics.CountersFor("r", "p");
  for (int i = 0; i < 1000; ++i) metrics.CountersFor(absl::StrCat("r", i), "p");
  EXPECT_EQ(metrics.CountersFor("r", "p"), a);
  EXPECT_NE(metrics.CountersFor("r", "q"), a);
  EXPECT_EQ(metrics.Snapshot().decisions.size(), 1000u + 2 + 1);  // + unmatched
}

TEST(MetricsTest, ObservationsLandInTheirBucket) {
  Metrics metrics;
  const MetricSlot slot = ThisThreadMetricSlot();
  const double ticks_per_us = CycleClock::Get().ticks_per_second() / 1e6;
  // A start far enough in the past that the observation is at least that long.
  const uint64_t now = metrics.StartTimer();
  metrics.ObserveCheck(slot, now - static_cast<uint64_t>(30 * ticks_per_us));  // 30 µs
  metrics.ObserveCheck(slot, now + (uint64_t{1} << 50));  // a start "after" now: counts as 0
  MetricsSnapshot snap = metrics.Snapshot();
  EXPECT_EQ(snap.latency_count, 2u);
  EXPECT_EQ(snap.latency_buckets[0], 1u) << "the zero-length one";
  EXPECT_EQ(snap.latency_buckets[5], 1u) << "30 µs is in (25 µs, 50 µs]";
}

}  // namespace
}  // namespace limify
