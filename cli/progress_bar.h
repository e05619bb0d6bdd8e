// A one-line progress bar redrawn in place on a terminal:
//   [##########----------]  50%  2.5s / 5s  1.23M checks/s
// It draws only when its stream is a terminal, so pipes and logs stay clean.
#ifndef LIMIFY_CLI_PROGRESS_BAR_H_
#define LIMIFY_CLI_PROGRESS_BAR_H_

#include <cstdint>
#include <cstdio>

namespace limify::cli {

class ProgressBar {
 public:
  // Draws on `stream` if it is a terminal (isatty), otherwise never.
  explicit ProgressBar(std::FILE* stream);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar() { Finish(); }

  bool enabled() const { return enabled_; }

  // Redraws: `fraction` done (0..1), elapsed and total seconds, current rate.
  void Update(double fraction, double elapsed_s, double total_s, double per_second);
  // Erases the bar so later output starts on a clean line.
  void Finish();

 private:
  std::FILE* stream_;
  bool enabled_;
  bool drawn_ = false;
};

// 1234567 -> "1.23M", 4321 -> "4.32k", 12 -> "12".
void FormatCount(double value, char* buf, size_t len);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_PROGRESS_BAR_H_
