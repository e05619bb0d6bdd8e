// Merging histograms and reading quantiles.
#include "cli/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace limify::cli {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

void LatencyHistogram::Bounds(size_t index, uint64_t* low, uint64_t* width) {
  if (index < (size_t{1} << kLinearBits)) {
    *low = index;
    *width = 1;
    return;
  }
  const size_t above = index - (size_t{1} << kLinearBits);
  const int msb = static_cast<int>(above / 64) + kLinearBits;
  const uint64_t top = 64 + above % 64;
  const int shift = msb - kSubBits;
  *low = top << shift;
  *width = uint64_t{1} << shift;
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      uint64_t low, width;
      Bounds(i, &low, &width);
      return std::clamp(low + width / 2, min(), max());
    }
  }
  return max();
}

}  // namespace limify::cli
