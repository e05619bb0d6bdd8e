// One decision as one line of text: for people, or as a JSON object.
#ifndef LIMIFY_CLI_DECISION_FORMAT_H_
#define LIMIFY_CLI_DECISION_FORMAT_H_

#include <string>

#include "limify/limify.h"

namespace limify::cli {

// "allowed rule=search plan=default limit=5 remaining=4 reset=200ms retry_after=0s"
// "denied  rule=search plan=default limit=5 remaining=0 reset=1s retry_after=200ms"
// Unmatched: rule=- plan=- limit=unlimited remaining=unlimited. A degraded
// decision ends with " degraded".
std::string FormatDecisionText(const limify_decision& decision);

// {"allowed":true,"matched":true,"degraded":false,"rule":"search","plan":"default",
//  "limit":5,"remaining":4,"period_us":1000000,"reset_after_us":200000,"retry_after_us":0}
// Numbers are the C API's: -1 for an unlimited limit or a retry that never helps.
// `headers` (limify_format_headers' text), when not empty, is added as an object.
std::string FormatDecisionJson(const limify_decision& decision, const std::string& headers = "");

// limify_format_headers for `decision`, whatever its length.
std::string FormatHeaders(const limify_decision& decision, uint32_t flags);

// The headers text as lines indented by two spaces, "\r\n" turned into "\n".
std::string IndentHeaders(const std::string& headers);

// A JSON string literal for `text`, escaped.
std::string JsonString(const std::string& text);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_DECISION_FORMAT_H_
