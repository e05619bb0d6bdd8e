// Reading the configuration: the CLI reads the file itself (rather than
// limify_engine_new_from_file) so that every command, limify_list_plugins
// included, reports a missing file the same way and "-" can mean stdin.
#include "cli/config_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <filesystem>

namespace limify::cli {

std::string ConfigDisplayName(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

bool ReadConfigFile(const std::string& path, std::string* text, std::string* error) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    if (std::cin.bad()) {
      *error = "cannot read the configuration from stdin";
      return false;
    }
    *text = buffer.str();
    return true;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    *error = "cannot read config \"" + path + "\": it is a directory";
    return false;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int saved = errno;
    *error = "cannot read config \"" + path + "\": " +
             (saved != 0 ? std::strerror(saved) : "cannot open it");
    return false;
  }
  text->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = "cannot read config \"" + path + "\": read error";
    return false;
  }
  return true;
}

}  // namespace limify::cli
