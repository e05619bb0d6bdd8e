// The limify CLI's exit codes, the one place that maps a limify_status to
// one, and the text `limify --help` prints about them.
#ifndef LIMIFY_CLI_EXIT_CODES_H_
#define LIMIFY_CLI_EXIT_CODES_H_

#include "limify/limify.h"

namespace limify::cli {

enum ExitCode : int {
  kExitOk = 0,            // done; for check/peek: every request allowed
  kExitConfigError = 1,   // the configuration is invalid
  kExitUsage = 2,         // bad command line or request (e.g. a negative cost)
  kExitPluginError = 3,   // a plugin failed to load or misbehaved
  kExitStorageError = 4,  // the storage failed or timed out
  kExitNotFound = 5,      // the config file (or a rule) does not exist or cannot be read
  kExitDenied = 6,        // check/peek: at least one request was denied (429)
  kExitInternal = 7,      // a bug in limify or the CLI: please report it
};

// The exit code for a failed call of the C API.
inline int ExitCodeFor(limify_status status) {
  switch (status) {
    case LIMIFY_OK: return kExitOk;
    case LIMIFY_CONFIG_ERROR: return kExitConfigError;
    case LIMIFY_INVALID_ARGUMENT: return kExitUsage;
    case LIMIFY_PLUGIN_ERROR: return kExitPluginError;
    case LIMIFY_STORAGE_ERROR:
    case LIMIFY_TIMEOUT: return kExitStorageError;
    case LIMIFY_NOT_FOUND: return kExitNotFound;
    default: return kExitInternal;
  }
}

inline constexpr char kExitCodeHelp[] =
    "Exit codes:\n"
    "  0  ok (check, peek: every request was allowed)\n"
    "  1  the configuration is invalid\n"
    "  2  usage error: bad command line or request\n"
    "  3  a plugin failed to load or misbehaved\n"
    "  4  the storage failed or timed out\n"
    "  5  not found: the config file cannot be read, or no such rule\n"
    "  6  check, peek: at least one request was denied (429)\n"
    "  7  internal error (a bug: please report it)\n";

}  // namespace limify::cli

#endif  // LIMIFY_CLI_EXIT_CODES_H_
