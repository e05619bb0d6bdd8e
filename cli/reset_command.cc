// `limify reset CONFIG --path P --user ...`: forgets what the storage holds
// for the request's identity under its rule (every plan). Useful with a shared
// storage (Redis, PostgreSQL, SQLite); the memory storage lives only as long
// as the command.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/engine_handle.h"
#include "cli/exit_codes.h"
#include "cli/report.h"
#include "cli/request_options.h"

namespace limify::cli {
namespace {

struct ResetOptions {
  std::string config;
  RequestOptions request;
};

int RunReset(const ResetOptions& o) {
  EngineHandle engine;
  if (int code = OpenEngine(o.config, &engine); code != kExitOk) return code;
  const limify_request request = o.request.ToRequest();
  limify_error err{};
  const limify_status status = limify_reset(engine.get(), &request, &err);
  if (status != LIMIFY_OK) return FailWith(status, err, "reset");
  std::puts("ok");
  return kExitOk;
}

}  // namespace

void AddResetCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ResetOptions>();
  CLI::App* command = app.add_subcommand(
      "reset", "Forget the state of the request's identity under its rule (every plan)");
  command->add_option("config", o->config, "configuration file (JSON), or - for stdin")
      ->required();
  AddRequestOptions(command, &o->request, {.path_required = true, .with_identity = true,
                                            .with_cost = false});
  command->callback([o, exit_code] { *exit_code = RunReset(*o); });
}

}  // namespace limify::cli
