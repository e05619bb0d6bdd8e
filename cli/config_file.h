// Reads a configuration file for the CLI: a path, or "-" for stdin.
#ifndef LIMIFY_CLI_CONFIG_FILE_H_
#define LIMIFY_CLI_CONFIG_FILE_H_

#include <string>

namespace limify::cli {

// Reads the whole of `path` ("-" = stdin) into *text. On failure returns
// false and sets *error to a message naming the file and the reason.
bool ReadConfigFile(const std::string& path, std::string* text, std::string* error);

// How messages name the file: the path, or "<stdin>" for "-".
std::string ConfigDisplayName(const std::string& path);

}  // namespace limify::cli

#endif  // LIMIFY_CLI_CONFIG_FILE_H_
