// The rate grammar (see rate.h). Hand-written rather than a regex: the
// grammar is tiny and each way of getting it wrong deserves its own message.
#include "engine/rate.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace limify {
namespace {

constexpr int64_t kSecondUs = 1'000'000;

struct Unit {
  std::string_view name;
  int64_t us;
};

// Every accepted spelling.
constexpr std::array<Unit, 17> kUnits = {{
    {"second", kSecondUs}, {"seconds", kSecondUs}, {"sec", kSecondUs}, {"s", kSecondUs},
    {"minute", 60 * kSecondUs}, {"minutes", 60 * kSecondUs}, {"min", 60 * kSecondUs},
    {"m", 60 * kSecondUs},
    {"hour", 3600 * kSecondUs}, {"hours", 3600 * kSecondUs}, {"h", 3600 * kSecondUs},
    {"day", 86400 * kSecondUs}, {"days", 86400 * kSecondUs}, {"d", 86400 * kSecondUs},
    {"week", 604800 * kSecondUs}, {"weeks", 604800 * kSecondUs}, {"w", 604800 * kSecondUs},
}};

// FormatRate's units, largest first.
constexpr std::array<Unit, 5> kCanonical = {{
    {"w", 604800 * kSecondUs}, {"d", 86400 * kSecondUs}, {"h", 3600 * kSecondUs},
    {"m", 60 * kSecondUs}, {"s", kSecondUs},
}};

constexpr std::string_view kShape =
    "(expected \"<count>/<window>\", e.g. \"10/minute\" or \"100/30s\")";

// User text inside a message: escaped (no control bytes reach logs) and cut
// short (a megabyte of garbage should not become a megabyte of error).
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() > kMax) {
    return absl::StrCat("\"", absl::CEscape(AbslView(text.substr(0, kMax))), "...\"");
  }
  return absl::StrCat("\"", absl::CEscape(AbslView(text)), "\"");
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses decimal digits; values above `max` give max + 1 (no overflow).
int64_t ParseCapped(std::string_view digits, int64_t max) {
  int64_t v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
    if (v > max) return max + 1;
  }
  return v;
}

}  // namespace

absl::StatusOr<Rate> ParseRate(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("empty rate ", AbslView(kShape)));
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate ", Quote(text), " contains whitespace (write it like \"10/minute\")"));
    }
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing \"/\" in ", Quote(text), " ", AbslView(kShape)));
  }
  const std::string_view count_text = text.substr(0, slash);
  const std::string_view window = text.substr(slash + 1);
  if (count_text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing count before \"/\" in ", Quote(text), " ", AbslView(kShape)));
  }
  if (!AllDigits(count_text)) {
    return absl::InvalidArgumentError(
        absl::StrCat("count must be a positive integer, got ", Quote(count_text)));
  }
  const int64_t count = ParseCapped(count_text, kMaxRateCount);
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("count must be a positive integer, got ", Quote(count_text)));
  }
  if (count > kMaxRateCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "count ", Quote(count_text), " is larger than the maximum ", kMaxRateCount));
  }
  if (window.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing window after \"/\" in ", Quote(text), " ", AbslView(kShape)));
  }

  // Window = [multiplier]unit. The multiplier candidate takes sign and dot
  // characters too, so "-5m" and "1.5h" are reported as bad multipliers
  // rather than as unknown units.
  size_t m_end = 0;
  while (m_end < window.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(window[m_end])) ||
          window[m_end] == '.' || window[m_end] == '-' || window[m_end] == '+')) {
    ++m_end;
  }
  const std::string_view multiplier_text = window.substr(0, m_end);
  int64_t multiplier = 1;
  if (!multiplier_text.empty()) {
    // Capped well above any valid value; the period check below rejects it.
    multiplier = AllDigits(multiplier_text) ? ParseCapped(multiplier_text, kMaxPeriodUs) : 0;
    if (multiplier == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window multiplier must be a positive integer, got ", Quote(multiplier_text)));
    }
  }
  std::string_view rest = window.substr(m_end);
  if (rest.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "missing unit after ", Quote(multiplier_text), " in ", Quote(text),
        " (expected second, minute, hour, day or week)"));
  }
  size_t u_end = 0;
  while (u_end < rest.size() && absl::ascii_isalpha(static_cast<unsigned char>(rest[u_end]))) {
    ++u_end;
  }
  // No letters at all ("10/%"): the whole rest is the (unknown) unit.
  const std::string_view unit_text = u_end == 0 ? rest : rest.substr(0, u_end);
  const std::string_view trailing = u_end == 0 ? std::string_view() : rest.substr(u_end);
  int64_t unit_us = 0;
  for (const Unit& u : kUnits) {
    if (u.name == unit_text) unit_us = u.us;
  }
  if (unit_us == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown unit ", Quote(unit_text),
        " (expected second, minute, hour, day, week, or a window like \"100/30s\")"));
  }
  if (!trailing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected ", Quote(trailing), " after the window in ", Quote(text)));
  }
  if (multiplier > kMaxPeriodUs / unit_us) {
    return absl::InvalidArgumentError(absl::StrCat(
        "window ", Quote(window), " is longer than the maximum of ",
        kMaxPeriodUs / (86400 * kSecondUs), " days"));
  }
  return Rate{count, multiplier * unit_us};
}

std::string FormatRate(const Rate& rate) {
  for (const Unit& u : kCanonical) {
    if (rate.period_us > 0 && rate.period_us % u.us == 0) {
      return absl::StrCat(rate.limit, "/", rate.period_us / u.us, AbslView(u.name));
    }
  }
  // Only reachable for a Rate built by hand with a sub-second period.
  return absl::StrCat(rate.limit, "/", rate.period_us, "us");
}

}  // namespace limify
