// The CLI's subcommands. Each Add*Command registers one (or two) on `app`;
// when the command runs it stores its exit code in *exit_code.
#ifndef LIMIFY_CLI_COMMANDS_H_
#define LIMIFY_CLI_COMMANDS_H_

namespace CLI {
class App;
}

namespace limify::cli {

void AddValidateCommand(CLI::App& app, int* exit_code);  // validate_command.cc
void AddDecideCommands(CLI::App& app, int* exit_code);   // decide_command.cc: check, peek
void AddResetCommand(CLI::App& app, int* exit_code);     // reset_command.cc
void AddPluginsCommand(CLI::App& app, int* exit_code);   // plugins_command.cc
void AddBenchCommand(CLI::App& app, int* exit_code);     // bench_command.cc

}  // namespace limify::cli

#endif  // LIMIFY_CLI_COMMANDS_H_
