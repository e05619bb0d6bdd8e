// An owned limify_engine, and opening one from a configuration file with the
// CLI's error reporting.
#ifndef LIMIFY_CLI_ENGINE_HANDLE_H_
#define LIMIFY_CLI_ENGINE_HANDLE_H_

#include <memory>
#include <string>

#include "limify/limify.h"

namespace limify::cli {

struct EngineDeleter {
  void operator()(limify_engine* engine) const { limify_engine_free(engine); }
};
using EngineHandle = std::unique_ptr<limify_engine, EngineDeleter>;

// Reads `config_path` ("-" = stdin) and creates an engine from it. On failure
// prints the error naming the file (and, for a config error, the JSON path)
// and returns the exit code; returns kExitOk with *out set on success.
int OpenEngine(const std::string& config_path, EngineHandle* out);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_ENGINE_HANDLE_H_
