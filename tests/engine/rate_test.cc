// The rate grammar: every accepted spelling, windows with multipliers, and
// each rejection with its message.
#include "engine/rate.h"

#include <string>

#include "gtest/gtest.h"

namespace limify {
namespace {

constexpr int64_t kS = 1'000'000;

Rate Parsed(std::string_view text) {
  absl::StatusOr<Rate> r = ParseRate(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status();
  return r.ok() ? *r : Rate{};
}

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<Rate> r = ParseRate(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? FormatRate(*r) : "");
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(ParseRate, AcceptsEverySpellingOfEveryUnit) {
  struct Case {
    const char* unit;
    int64_t us;
  };
  const Case cases[] = {
      {"second", kS},        {"seconds", kS},        {"sec", kS},       {"s", kS},
      {"minute", 60 * kS},   {"minutes", 60 * kS},   {"min", 60 * kS},  {"m", 60 * kS},
      {"hour", 3600 * kS},   {"hours", 3600 * kS},   {"h", 3600 * kS},
      {"day", 86400 * kS},   {"days", 86400 * kS},   {"d", 86400 * kS},
      {"week", 604800 * kS}, {"weeks", 604800 * kS}, {"w", 604800 * kS},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Parsed(std::string("7/") + c.unit), (Rate{7, c.us})) << c.unit;
  }
}

TEST(ParseRate, AcceptsWindowsWithAMultiplier) {
  EXPECT_EQ(Parsed("100/30s"), (Rate{100, 30 * kS}));
  EXPECT_EQ(Parsed("1000/5m"), (Rate{1000, 300 * kS}));
  EXPECT_EQ(Parsed("2/1w"), (Rate{2, 604800 * kS}));
  EXPECT_EQ(Parsed("5/2hours"), (Rate{5, 7200 * kS}));
  EXPECT_EQ(Parsed("3/10days"), (Rate{3, 864000 * kS}));
}

TEST(ParseRate, AcceptsTheLimitsThemselves) {
  EXPECT_EQ(Parsed("1000000000/s"), (Rate{kMaxRateCount, kS}));
  EXPECT_EQ(Parsed("1/366d"), (Rate{1, kMaxPeriodUs}));
  EXPECT_EQ(Parsed("1/1s"), (Rate{1, kS}));
  EXPECT_EQ(Parsed("010/s"), (Rate{10, kS}));  // leading zeros are still an integer
}

TEST(ParseRate, RejectsAnUnknownUnitWithTheDocumentedMessage) {
  EXPECT_EQ(ErrorOf("10/fortnight"),
            "unknown unit \"fortnight\" (expected second, minute, hour, day, week, or a "
            "window like \"100/30s\")");
  EXPECT_EQ(ErrorOf("10/5fortnights"),
            "unknown unit \"fortnights\" (expected second, minute, hour, day, week, or a "
            "window like \"100/30s\")");
}

TEST(ParseRate, UnitsAreCaseSensitiveLowerCase) {
  EXPECT_EQ(ErrorOf("10/Minute"),
            "unknown unit \"Minute\" (expected second, minute, hour, day, week, or a window "
            "like \"100/30s\")");
  EXPECT_EQ(ErrorOf("10/S"),
            "unknown unit \"S\" (expected second, minute, hour, day, week, or a window like "
            "\"100/30s\")");
}

TEST(ParseRate, RejectsNonLetterUnits) {
  EXPECT_EQ(ErrorOf("10/%"),
            "unknown unit \"%\" (expected second, minute, hour, day, week, or a window like "
            "\"100/30s\")");
}

TEST(ParseRate, RejectsZeroNegativeAndFractionalCounts) {
  EXPECT_EQ(ErrorOf("0/s"), "count must be a positive integer, got \"0\"");
  EXPECT_EQ(ErrorOf("000/s"), "count must be a positive integer, got \"000\"");
  EXPECT_EQ(ErrorOf("-1/s"), "count must be a positive integer, got \"-1\"");
  EXPECT_EQ(ErrorOf("+1/s"), "count must be a positive integer, got \"+1\"");
  EXPECT_EQ(ErrorOf("1.5/s"), "count must be a positive integer, got \"1.5\"");
  EXPECT_EQ(ErrorOf("1e3/s"), "count must be a positive integer, got \"1e3\"");
  EXPECT_EQ(ErrorOf("ten/s"), "count must be a positive integer, got \"ten\"");
}

TEST(ParseRate, RejectsBadMultipliers) {
  EXPECT_EQ(ErrorOf("10/0s"), "window multiplier must be a positive integer, got \"0\"");
  EXPECT_EQ(ErrorOf("10/-5m"), "window multiplier must be a positive integer, got \"-5\"");
  EXPECT_EQ(ErrorOf("10/1.5h"), "window multiplier must be a positive integer, got \"1.5\"");
}

TEST(ParseRate, RejectsMissingParts) {
  EXPECT_EQ(ErrorOf(""),
            "empty rate (expected \"<count>/<window>\", e.g. \"10/minute\" or \"100/30s\")");
  EXPECT_EQ(ErrorOf("10minute"),
            "missing \"/\" in \"10minute\" (expected \"<count>/<window>\", e.g. \"10/minute\" "
            "or \"100/30s\")");
  EXPECT_EQ(ErrorOf("/minute"),
            "missing count before \"/\" in \"/minute\" (expected \"<count>/<window>\", e.g. "
            "\"10/minute\" or \"100/30s\")");
  EXPECT_EQ(ErrorOf("10/"),
            "missing window after \"/\" in \"10/\" (expected \"<count>/<window>\", e.g. "
            "\"10/minute\" or \"100/30s\")");
  EXPECT_EQ(ErrorOf("10/30"),
            "missing unit after \"30\" in \"10/30\" (expected second, minute, hour, day or "
            "week)");
}

TEST(ParseRate, RejectsOverflow) {
  EXPECT_EQ(ErrorOf("1000000001/s"),
            "count \"1000000001\" is larger than the maximum 1000000000");
  EXPECT_EQ(ErrorOf("99999999999999999999999/s"),
            "count \"99999999999999999999999\" is larger than the maximum 1000000000");
  EXPECT_EQ(ErrorOf("1/367d"), "window \"367d\" is longer than the maximum of 366 days");
  EXPECT_EQ(ErrorOf("1/53w"), "window \"53w\" is longer than the maximum of 366 days");
  EXPECT_EQ(ErrorOf("1/99999999999999999999999s"),
            "window \"99999999999999999999999s\" is longer than the maximum of 366 days");
}

TEST(ParseRate, RejectsTrailingGarbage) {
  EXPECT_EQ(ErrorOf("10/minute!"), "unexpected \"!\" after the window in \"10/minute!\"");
  EXPECT_EQ(ErrorOf("10/5m/2"), "unexpected \"/2\" after the window in \"10/5m/2\"");
  EXPECT_EQ(ErrorOf("10/m5"), "unexpected \"5\" after the window in \"10/m5\"");
}

TEST(ParseRate, RejectsWhitespaceAnywhere) {
  EXPECT_EQ(ErrorOf(" 10/s"),
            "rate \" 10/s\" contains whitespace (write it like \"10/minute\")");
  EXPECT_EQ(ErrorOf("10/s\n"),
            "rate \"10/s\\n\" contains whitespace (write it like \"10/minute\")");
  EXPECT_EQ(ErrorOf("10 / s"),
            "rate \"10 / s\" contains whitespace (write it like \"10/minute\")");
}

TEST(ParseRate, EscapesAndShortensQuotedInput) {
  EXPECT_EQ(ErrorOf("1/\x01"),
            "unknown unit \"\\001\" (expected second, minute, hour, day, week, or a window "
            "like \"100/30s\")");
  const std::string long_count(200, '9');
  EXPECT_EQ(ErrorOf(long_count + "/s"),
            "count \"" + std::string(64, '9') + "...\" is larger than the maximum 1000000000");
}

TEST(FormatRate, UsesTheLargestUnitThatDividesThePeriod) {
  EXPECT_EQ(FormatRate(Rate{10, kS}), "10/1s");
  EXPECT_EQ(FormatRate(Rate{100, 30 * kS}), "100/30s");
  EXPECT_EQ(FormatRate(Rate{10, 60 * kS}), "10/1m");
  EXPECT_EQ(FormatRate(Rate{1000, 300 * kS}), "1000/5m");
  EXPECT_EQ(FormatRate(Rate{1, 90 * kS}), "1/90s");
  EXPECT_EQ(FormatRate(Rate{5, 604800 * kS}), "5/1w");
  EXPECT_EQ(FormatRate(Rate{5, 14 * 86400 * kS}), "5/2w");
  EXPECT_EQ(FormatRate(Rate{5, 10 * 86400 * kS}), "5/10d");
  EXPECT_EQ(FormatRate(Rate{5, 500'000}), "5/500000us");
}

TEST(FormatRate, EqualRatesFormatAlikeWhateverTheSpelling) {
  EXPECT_EQ(FormatRate(Parsed("10/60s")), FormatRate(Parsed("10/minute")));
  EXPECT_EQ(FormatRate(Parsed("10/7d")), FormatRate(Parsed("10/week")));
  EXPECT_EQ(FormatRate(Parsed("10/24hours")), "10/1d");
}

TEST(FormatRate, RoundTripsThroughParseRate) {
  for (const char* text : {"1/s", "100/30s", "1000/5m", "2/1w", "7/90m", "3/25h", "1/366d",
                           "1000000000/1s", "9/52w"}) {
    const Rate r = Parsed(text);
    EXPECT_EQ(Parsed(FormatRate(r)), r) << text;
  }
}

}  // namespace
}  // namespace limify
