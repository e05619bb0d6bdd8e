// `limify validate CONFIG`: loads the configuration (plugins and storage
// included) and prints "ok", or the error with its JSON path.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/engine_handle.h"
#include "cli/exit_codes.h"

namespace limify::cli {

void AddValidateCommand(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(
      "validate",
      "Load CONFIG as an engine would (rules, rates, plugins, storage options) and print "
      "\"ok\", or the error and where it is (exit 1: invalid, 3: plugin, 5: unreadable)");
  command->add_option("config", *config, "configuration file (JSON), or - for stdin")
      ->required();
  command->callback([config, exit_code] {
    EngineHandle engine;
    *exit_code = OpenEngine(*config, &engine);
    if (*exit_code == kExitOk) std::puts("ok");
  });
}

}  // namespace limify::cli
