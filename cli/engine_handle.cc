// Opening an engine for a command.
#include "cli/engine_handle.h"

#include "cli/config_file.h"
#include "cli/exit_codes.h"
#include "cli/report.h"

namespace limify::cli {

int OpenEngine(const std::string& config_path, EngineHandle* out) {
  std::string json, error;
  if (!ReadConfigFile(config_path, &json, &error)) return Fail(kExitNotFound, error);
  limify_error err{};
  limify_engine* engine = nullptr;
  const limify_status status = limify_engine_new(json.c_str(), &engine, &err);
  if (status != LIMIFY_OK) return FailWith(status, err, ConfigDisplayName(config_path));
  out->reset(engine);
  return kExitOk;
}

}  // namespace limify::cli
