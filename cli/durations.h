// Durations as the CLI reads and prints them: "250ms", "1.5s", "2m".
#ifndef LIMIFY_CLI_DURATIONS_H_
#define LIMIFY_CLI_DURATIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace limify::cli {

// Short, for people: 0 -> "0s", 850 -> "850us", 199913 -> "200ms",
// 1500 -> "1.5ms", 1250000 -> "1.25s", 18190954 -> "18.2s". Rounded up to
// 0.1 ms below a second and to 10 ms above, so a wait never looks shorter
// than it is (--json gives exact microseconds). Negative values
// (LIMIFY_RETRY_NEVER) -> "never".
std::string FormatDuration(int64_t us);

// "250ms", "1.5s", "2m", "1h", "500us", or a bare number of seconds ("0.25").
// Returns false for anything else, a negative value, or more than a week.
bool ParseDuration(std::string_view text, int64_t* us);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_DURATIONS_H_
