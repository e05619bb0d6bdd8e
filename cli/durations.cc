// Formatting and parsing durations, in integer microseconds throughout.
#include "cli/durations.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace limify::cli {
namespace {

// `value` / `unit` with up to the digits needed to be exact, trailing zeros
// dropped: (1200000, 1000000) -> "1.2".
std::string ExactQuotient(int64_t value, int64_t unit) {
  std::string text = std::to_string(value / unit);
  int64_t rest = value % unit;
  if (rest == 0) return text;
  text += '.';
  for (int64_t scale = unit / 10; scale > 0 && rest > 0; scale /= 10) {
    text += static_cast<char>('0' + rest / scale);
    rest %= scale;
  }
  return text;
}

// The smallest multiple of `step` >= us (us >= 0).
int64_t CeilToMultiple(int64_t us, int64_t step) {
  return us % step == 0 ? us : (us / step + 1) * step;
}

}  // namespace

std::string FormatDuration(int64_t us) {
  if (us < 0) return "never";
  if (us == 0) return "0s";
  if (us < 1000) return std::to_string(us) + "us";
  // Rounded up, so a wait is never shown shorter than it is.
  if (us < 1000000) return ExactQuotient(CeilToMultiple(us, 100), 1000) + "ms";
  return ExactQuotient(CeilToMultiple(us, 10000), 1000000) + "s";
}

bool ParseDuration(std::string_view text, int64_t* us) {
  struct Unit {
    std::string_view suffix;
    double us;
  };
  static constexpr Unit kUnits[] = {{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}};
  double scale = 1e6;  // a bare number is seconds
  for (const Unit& unit : kUnits) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      const std::string_view number = text.substr(0, text.size() - unit.suffix.size());
      // "5ms" also ends with "s": only take "s" when what precedes is a number.
      if (!number.empty() && (std::isdigit(static_cast<unsigned char>(number.back())) ||
                              number.back() == '.')) {
        text = number;
        scale = unit.us;
        break;
      }
    }
  }
  // Digits and at most one dot only: no sign, exponent, "inf" or spaces.
  if (text.empty() || text == ".") return false;
  int dots = 0;
  for (char c : text) {
    if (c == '.') {
      if (++dots > 1) return false;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  const std::string number(text);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value) || value < 0) return false;
  const double total = value * scale;
  if (total > 7.0 * 86400e6) return false;
  *us = static_cast<int64_t>(std::llround(total));
  return true;
}

}  // namespace limify::cli
