// A log-linear latency histogram in nanoseconds (after HdrHistogram): exact
// below 128 ns, then 64 buckets per power of two (at most 1.6% error).
// Recording is a few instructions and never allocates; each bench thread
// records into its own and the histograms are merged at the end.
#ifndef LIMIFY_CLI_LATENCY_HISTOGRAM_H_
#define LIMIFY_CLI_LATENCY_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace limify::cli {

class LatencyHistogram {
 public:
  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++total_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
    if (ns < min_) min_ = ns;
  }

  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ == 0 ? 0 : max_; }
  uint64_t min() const { return total_ == 0 ? 0 : min_; }
  double mean() const { return total_ == 0 ? 0.0 : static_cast<double>(sum_) / total_; }

  // The value at quantile q (0 < q <= 1): the middle of the bucket holding the
  // ceil(q * count)-th smallest sample, clamped to [min, max]. 0 when empty.
  uint64_t Quantile(double q) const;

 private:
  static constexpr int kLinearBits = 7;  // values below 128 are exact
  static constexpr int kSubBits = 6;     // 64 buckets per power of two above
  static constexpr size_t kBuckets = (size_t{1} << kLinearBits) + (64 - kLinearBits) * 64;

  static size_t Index(uint64_t ns) {
    if (ns < (uint64_t{1} << kLinearBits)) return static_cast<size_t>(ns);
    const int msb = std::bit_width(ns) - 1;  // >= 7
    const int shift = msb - kSubBits;
    const uint64_t top = ns >> shift;  // in [64, 128)
    return (size_t{1} << kLinearBits) + static_cast<size_t>(msb - kLinearBits) * 64 +
           static_cast<size_t>(top - 64);
  }
  // The smallest value and the width of bucket `index`.
  static void Bounds(size_t index, uint64_t* low, uint64_t* width);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace limify::cli

#endif  // LIMIFY_CLI_LATENCY_HISTOGRAM_H_
