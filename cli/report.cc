// One-line error reports on stderr.
#include "cli/report.h"

#include <cstdio>
#include <string>

#include "cli/exit_codes.h"

namespace limify::cli {

int Fail(int exit_code, std::string_view message) {
  std::fprintf(stderr, "limify: %.*s\n", static_cast<int>(message.size()), message.data());
  return exit_code;
}

int FailWith(limify_status status, const limify_error& err, std::string_view context) {
  std::string text(context);
  if (!text.empty()) text += ": ";
  text += err.message[0] != '\0' ? err.message : limify_status_name(status);
  return Fail(ExitCodeFor(status), text);
}

}  // namespace limify::cli
