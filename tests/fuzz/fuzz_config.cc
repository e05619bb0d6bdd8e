// ParseConfig on arbitrary bytes: never crashes; every error is an
// InvalidArgument with a path prefix; an accepted config's rates are in
// range and its rules compile into a route table.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/config.h"
#include "engine/route_table.h"

namespace {

void CheckLimits(const limify::LimitSet& limits) {
  if (limits.rates.empty() || limits.json_path.empty()) std::abort();
  for (const limify::Rate& r : limits.rates) {
    if (r.limit < 1 || r.limit > limify::kMaxRateCount) std::abort();
    if (r.period_us < 1 || r.period_us > limify::kMaxPeriodUs) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<limify::Config> config = limify::ParseConfig(text);
  if (!config.ok()) {
    if (config.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    if (config.status().message().find(": ") == absl::string_view::npos) std::abort();
    return 0;
  }
  for (const limify::RuleConfig& rule : config->rules) {
    CheckLimits(rule.limits);
    for (const auto& [id, limits] : rule.plans) CheckLimits(limits);
  }
  if (config->default_rule) CheckLimits(config->default_rule->limits);
  absl::StatusOr<limify::RouteTable> table = limify::RouteTable::Build(config->rules);
  if (!table.ok()) std::abort();  // ParseConfig already checked every pattern
  const int n = static_cast<int>(config->rules.size());
  const int m = table->Match("GET", "/items/1");
  if (m < -1 || m >= n) std::abort();
  return 0;
}
