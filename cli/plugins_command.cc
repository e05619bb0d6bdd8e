// `limify plugins [CONFIG]`: the plugins a configuration would load (without
// CONFIG: the default search path), as a table or, with --json, as
// limify_list_plugins returns them.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/exit_codes.h"
#include "cli/report.h"

namespace limify::cli {
namespace {

struct PluginsOptions {
  std::string config;
  bool json = false;
};

// A field as text: strings as they are, numbers and the rest as JSON.
std::string Text(const nlohmann::json& plugin, const char* key) {
  if (!plugin.is_object() || !plugin.contains(key)) return "-";
  const nlohmann::json& v = plugin[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// "algorithm gcra", "storage memory", "algorithms a, b; storage m".
std::string Provides(const nlohmann::json& plugin) {
  std::string out;
  for (const char* kind : {"algorithm", "storage"}) {
    const std::string key = std::string(kind) + "s";
    if (!plugin.contains(key) || !plugin[key].is_array() || plugin[key].empty()) continue;
    if (!out.empty()) out += "; ";
    out += plugin[key].size() > 1 ? key : kind;
    bool first = true;
    for (const nlohmann::json& name : plugin[key]) {
      out += first ? " " : ", ";
      first = false;
      out += name.is_string() ? name.get<std::string>() : name.dump();
    }
  }
  return out.empty() ? "-" : out;
}

void PrintTable(const nlohmann::json& plugins) {
  const std::vector<std::string> header = {"NAME", "VERSION", "ABI", "PROVIDES", "FILE"};
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& p : plugins) {
    rows.push_back({Text(p, "name"), Text(p, "version"), Text(p, "abi"), Provides(p),
                    Text(p, "file")});
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

int RunPlugins(const PluginsOptions& o) {
  std::string json;
  const char* config_json = nullptr;
  std::string context = "default plugin path";
  if (!o.config.empty()) {
    std::string error;
    if (!ReadConfigFile(o.config, &json, &error)) return Fail(kExitNotFound, error);
    config_json = json.c_str();
    context = ConfigDisplayName(o.config);
  }
  // Ask for the size, then fill; a plugin directory may change in between.
  std::string text;
  size_t needed = 0;
  limify_status status = LIMIFY_BUFFER_TOO_SMALL;
  limify_error err{};
  for (int attempt = 0; attempt < 4 && status == LIMIFY_BUFFER_TOO_SMALL; ++attempt) {
    text.assign(needed, '\0');
    status = limify_list_plugins(config_json, text.empty() ? nullptr : text.data(), text.size(),
                                 &needed, &err);
  }
  if (status != LIMIFY_OK) return FailWith(status, err, context);
  text.resize(std::min(text.size(), needed > 0 ? needed - 1 : 0));

  nlohmann::json plugins = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!plugins.is_array()) {
    return Fail(kExitInternal, "limify_list_plugins returned something that is not a JSON "
                               "array: " + text.substr(0, 200));
  }
  if (o.json) {
    std::printf("%s\n", plugins.dump(2).c_str());
  } else {
    PrintTable(plugins);
  }
  return kExitOk;
}

}  // namespace

void AddPluginsCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<PluginsOptions>();
  CLI::App* command = app.add_subcommand(
      "plugins",
      "List the plugins CONFIG would load (its plugin_paths, $LIMIFY_PLUGIN_PATH, then the "
      "default directory): name, version, ABI, what it provides, file");
  command->add_option("config", o->config,
                      "configuration file (JSON), or - for stdin; default: the default search "
                      "path only");
  command->add_flag("--json", o->json, "print limify_list_plugins' JSON array");
  command->callback([o, exit_code] { *exit_code = RunPlugins(*o); });
}

}  // namespace limify::cli
