// ParseRate on arbitrary bytes: never crashes, and what it accepts is in
// range and survives a FormatRate round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/rate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<limify::Rate> rate = limify::ParseRate(text);
  if (!rate.ok()) {
    if (rate.status().message().empty()) std::abort();  // every error says why
    return 0;
  }
  if (rate->limit < 1 || rate->limit > limify::kMaxRateCount) std::abort();
  if (rate->period_us < 1 || rate->period_us > limify::kMaxPeriodUs) std::abort();
  absl::StatusOr<limify::Rate> again = limify::ParseRate(limify::FormatRate(*rate));
  if (!again.ok() || !(*again == *rate)) std::abort();
  return 0;
}
