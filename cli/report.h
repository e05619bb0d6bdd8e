// How the CLI reports a failure: one line on stderr, "limify: <what>", and an
// exit code.
#ifndef LIMIFY_CLI_REPORT_H_
#define LIMIFY_CLI_REPORT_H_

#include <string_view>

#include "limify/limify.h"

namespace limify::cli {

// Prints "limify: <message>" on stderr and returns `exit_code`.
int Fail(int exit_code, std::string_view message);

// Prints "limify: <context>: <err.message>" (or the status name when the
// message is empty) and returns the exit code for `status`.
int FailWith(limify_status status, const limify_error& err, std::string_view context);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_REPORT_H_
