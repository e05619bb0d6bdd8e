// The terminal progress bar.
#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace limify::cli {

void FormatCount(double value, char* buf, size_t len) {
  if (value >= 1e9) {
    std::snprintf(buf, len, "%.2fG", value / 1e9);
  } else if (value >= 1e6) {
    std::snprintf(buf, len, "%.2fM", value / 1e6);
  } else if (value >= 1e3) {
    std::snprintf(buf, len, "%.2fk", value / 1e3);
  } else {
    std::snprintf(buf, len, "%.0f", value);
  }
}

ProgressBar::ProgressBar(std::FILE* stream)
    : stream_(stream), enabled_(stream != nullptr && isatty(fileno(stream)) == 1) {}

void ProgressBar::Update(double fraction, double elapsed_s, double total_s, double per_second) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '-');
  char rate[32];
  FormatCount(per_second, rate, sizeof rate);
  std::fprintf(stream_, "\r[%s] %3d%%  %.1fs / %.1fs  %s checks/s ", bar.c_str(),
               static_cast<int>(fraction * 100), elapsed_s, total_s, rate);
  std::fflush(stream_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fprintf(stream_, "\r\033[K");  // back to column 0, erase the line
  std::fflush(stream_);
  drawn_ = false;
}

}  // namespace limify::cli
