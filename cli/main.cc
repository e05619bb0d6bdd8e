// limify — the command-line tool: validate a configuration, decide requests,
// list plugins, benchmark. A client of limify.h like any other program.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/report.h"
#include "limify/limify.h"

int main(int argc, char** argv) {
  using namespace limify::cli;
  try {
    CLI::App app("limify: rate-limiting decisions from a configuration", "limify");
    app.require_subcommand(1, 1);
    app.footer(kExitCodeHelp);
    app.set_version_flag("-V,--version", std::string("limify ") + LIMIFY_VERSION +
                                             " (liblimify " + limify_version() + ")");
    int exit_code = kExitOk;
    AddValidateCommand(app, &exit_code);
    AddDecideCommands(app, &exit_code);
    AddResetCommand(app, &exit_code);
    AddPluginsCommand(app, &exit_code);
    AddBenchCommand(app, &exit_code);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and --version are "errors" with code 0; anything else is a usage error.
      const int code = app.exit(e);
      return code == 0 ? kExitOk : kExitUsage;
    }
    return exit_code;
  } catch (const std::bad_alloc&) {
    return Fail(kExitInternal, "out of memory");
  } catch (const std::exception& e) {
    return Fail(kExitInternal, std::string("unexpected error: ") + e.what());
  }
}
