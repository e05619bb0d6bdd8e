// Loads plugin libraries, registers what their manifests provide, and builds
// the plugin search path. Boost.DLL is used only to open a library and fetch
// its one C entry function (Boost.DLL's own list of misuses).
#include "engine/plugin_registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <system_error>
#include <type_traits>
#include <utility>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/absl_compat.h"
#include "engine/plugin_error.h"
#include "engine/plugin_validation.h"

namespace limify {
namespace {

namespace fs = std::filesystem;

// A registered vtable and the file it came from, for clash messages.
template <typename VTable>
struct Provided {
  const VTable* vtable;
  std::string file;
};

// `p` made absolute and canonical as far as it exists, without a trailing
// separator: two spellings of one directory give the same key.
fs::path CanonicalDir(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  fs::path canonical = fs::weakly_canonical(abs, ec);
  if (ec) canonical = abs.lexically_normal();
  if (!canonical.has_filename() && canonical.has_relative_path()) {
    canonical = canonical.parent_path();
  }
  return canonical;
}

// `dirs` without the entries that name a directory already listed.
std::vector<std::string> UniqueDirs(const std::vector<std::string>& dirs) {
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& dir : dirs) {
    if (seen.insert(CanonicalDir(dir).string()).second) unique.push_back(dir);
  }
  return unique;
}

// Anyone who can write a plugin directory or file can run code in every
// process that loads from it: such a directory or file is refused, by name.
absl::Status CheckNotWritableByOthers(std::string_view what, const std::string& path,
                                      const fs::file_status& status) {
  if ((status.permissions() & fs::perms::others_write) == fs::perms::none) {
    return absl::OkStatus();
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.permissions()) & 07777);
  return PluginLoadError(absl::StrCat(
      AbslView(what), " \"", path, "\" is writable by other users (mode ", mode,
      "): refusing to load plugins from it (chmod o-w to allow it)"));
}

// The full paths of the regular `*.so` files in `dir`, sorted by name so that
// loading (and which file a clash message names first) is deterministic.
absl::StatusOr<std::vector<std::string>> PluginFiles(const std::string& dir) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory &&
      ec != std::errc::not_a_directory) {
    return PluginLoadError(absl::StrCat(
        "plugin directory \"", dir, "\" cannot be accessed: ", ec.message()));
  }
  if (!fs::exists(status)) {
    return PluginLoadError(
        absl::StrCat("plugin directory \"", dir, "\" does not exist"));
  }
  if (!fs::is_directory(status)) {
    return PluginLoadError(
        absl::StrCat("plugin directory \"", dir, "\" is not a directory"));
  }
  if (absl::Status s = CheckNotWritableByOthers("plugin directory", dir, status); !s.ok()) {
    return s;
  }
  fs::path base = fs::absolute(dir, ec).lexically_normal();
  if (ec) base = dir;
  std::vector<std::string> files;
  fs::directory_iterator it(base, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (!absl::EndsWith(entry.path().filename().string(), ".so")) continue;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;  // follows symlinks
    absl::Status safe = CheckNotWritableByOthers("plugin", entry.path().string(),
                                                 entry.status(type_ec));
    if (!safe.ok()) return safe;
    files.push_back(entry.path().string());
  }
  if (ec) {
    return PluginLoadError(absl::StrCat(
        "plugin directory \"", dir, "\" cannot be read: ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The manifest of the library at `file`, which is opened into `*library`.
// Every Boost.DLL call and the plugin's own entry function run inside one
// try block: nothing thrown may escape into the engine.
absl::StatusOr<const limify_plugin_manifest*> OpenPlugin(
    const std::string& file, boost::dll::shared_library* library) {
  try {
    std::error_code ec;
    // NOW: a missing symbol fails here, not at the first request.
    // LOCAL: a plugin's symbols never resolve another plugin's references.
    library->load(file, ec,
                  boost::dll::load_mode::rtld_now |
                      boost::dll::load_mode::rtld_local);
    if (ec) {
      // Boost.DLL reports only "bad file descriptor"; dlerror() has the
      // loader's reason (not ELF, undefined symbol, wrong architecture...).
      const char* why = dlerror();
      return PluginLoadError(absl::StrCat(
          file, ": cannot be loaded: ", why != nullptr ? why : ec.message()));
    }
    if (!library->has(LIMIFY_PLUGIN_ENTRY_SYMBOL)) {
      return PluginLoadError(
          absl::StrCat(file, ": not a limify plugin: no \"",
                       LIMIFY_PLUGIN_ENTRY_SYMBOL, "\" symbol"));
    }
    auto& entry =
        library->get<std::remove_pointer_t<limify_plugin_entry_fn>>(
            LIMIFY_PLUGIN_ENTRY_SYMBOL);
    return entry(HostApi());
  } catch (const std::exception& e) {
    return PluginLoadError(
        absl::StrCat(file, ": failed while loading: ", e.what()));
  } catch (...) {
    return PluginLoadError(
        absl::StrCat(file, ": failed while loading: unknown exception"));
  }
}

// Adds `vtable` under its (validated) name; a name already taken fails.
template <typename VTable>
absl::Status Register(
    absl::flat_hash_map<std::string, Provided<VTable>>& registered,
    absl::string_view kind, const VTable* vtable, const std::string& file) {
  auto [it, inserted] =
      registered.try_emplace(vtable->name, Provided<VTable>{vtable, file});
  if (inserted) return absl::OkStatus();
  if (it->second.file == file) {
    return PluginLoadError(absl::StrCat(
        file, ": ", kind, " \"", vtable->name, "\" is listed twice"));
  }
  return PluginLoadError(
      absl::StrCat(kind, " \"", vtable->name, "\" is provided by both ",
                   it->second.file, " and ", file));
}

template <typename VTable>
std::vector<std::string> SortedNames(
    const absl::flat_hash_map<std::string, Provided<VTable>>& registered) {
  std::vector<std::string> names;
  names.reserve(registered.size());
  for (const auto& [name, provided] : registered) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

// Is `path` inside `root` (both canonicalized, compared by component)?
bool IsUnder(const fs::path& path, const fs::path& root) {
  fs::path p = CanonicalDir(path);
  fs::path r = CanonicalDir(root);
  auto [r_end, p_end] = std::mismatch(r.begin(), r.end(), p.begin(), p.end());
  return r_end == r.end();
}

}  // namespace

struct PluginRegistry::Impl {
  // Unloads only after every vtable pointer into the libraries is gone, and
  // in reverse load order.
  ~Impl() {
    algorithms.clear();
    storages.clear();
    while (!libraries.empty()) libraries.pop_back();
  }

  absl::Status LoadFile(const std::string& file) {
    // Owned before anything else can fail, so a refused file is unloaded.
    libraries.push_back(std::make_unique<boost::dll::shared_library>());
    absl::StatusOr<const limify_plugin_manifest*> manifest =
        OpenPlugin(file, libraries.back().get());
    if (!manifest.ok()) return manifest.status();
    const limify_plugin_manifest* m = *manifest;
    absl::Status valid = ValidateManifest(m, file);
    if (!valid.ok()) return valid;
    LoadedPlugin info;
    info.file = file;
    info.name = m->name != nullptr ? m->name : "";
    info.version = m->version != nullptr ? m->version : "";
    info.abi_major = m->abi_major;
    info.abi_minor = m->abi_minor;
    for (size_t i = 0; i < m->n_algorithms; ++i) {
      absl::Status s = Register(algorithms, "algorithm", m->algorithms[i], file);
      if (!s.ok()) return s;
      info.algorithms.push_back(m->algorithms[i]->name);
    }
    for (size_t i = 0; i < m->n_storages; ++i) {
      absl::Status s = Register(storages, "storage", m->storages[i], file);
      if (!s.ok()) return s;
      info.storages.push_back(m->storages[i]->name);
    }
    loaded.push_back(std::move(info));
    return absl::OkStatus();
  }

  std::vector<std::string> dirs;
  std::vector<LoadedPlugin> loaded;
  // unique_ptr: a shared_library copy would reopen the file (and may throw).
  std::vector<std::unique_ptr<boost::dll::shared_library>> libraries;
  absl::flat_hash_map<std::string, Provided<limify_algorithm>> algorithms;
  absl::flat_hash_map<std::string, Provided<limify_storage>> storages;
};

absl::StatusOr<std::unique_ptr<PluginRegistry>> PluginRegistry::Load(
    const std::vector<std::string>& dirs) {
  auto impl = std::make_unique<Impl>();
  impl->dirs = UniqueDirs(dirs);
  for (const std::string& dir : impl->dirs) {
    absl::StatusOr<std::vector<std::string>> files = PluginFiles(dir);
    if (!files.ok()) return files.status();
    for (const std::string& file : *files) {
      absl::Status s = impl->LoadFile(file);
      if (!s.ok()) return s;  // `impl` unloads everything loaded so far
    }
  }
  return std::unique_ptr<PluginRegistry>(new PluginRegistry(std::move(impl)));
}

PluginRegistry::PluginRegistry(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

PluginRegistry::~PluginRegistry() = default;

const limify_algorithm* PluginRegistry::FindAlgorithm(
    std::string_view name) const {
  auto it = impl_->algorithms.find(AbslView(name));
  return it == impl_->algorithms.end() ? nullptr : it->second.vtable;
}

const limify_storage* PluginRegistry::FindStorage(std::string_view name) const {
  auto it = impl_->storages.find(AbslView(name));
  return it == impl_->storages.end() ? nullptr : it->second.vtable;
}

std::vector<std::string> PluginRegistry::AlgorithmNames() const {
  return SortedNames(impl_->algorithms);
}

std::vector<std::string> PluginRegistry::StorageNames() const {
  return SortedNames(impl_->storages);
}

const std::vector<std::string>& PluginRegistry::dirs() const {
  return impl_->dirs;
}

const std::vector<PluginRegistry::LoadedPlugin>& PluginRegistry::plugins() const {
  return impl_->loaded;
}

absl::Status CheckConfiguredPluginDirs(const std::vector<std::string>& config_paths) {
  for (size_t i = 0; i < config_paths.size(); ++i) {
    std::error_code ec;
    if (!fs::is_directory(config_paths[i], ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plugin_paths[", i, "]: directory \"", config_paths[i], "\" does not exist"));
    }
  }
  return absl::OkStatus();
}

std::string InstalledPluginDir() { return LIMIFY_INSTALL_PLUGIN_DIR; }

std::string DefaultPluginDirFor(const std::string& binary) {
  if (binary.empty()) return InstalledPluginDir();
  if (IsUnder(binary, LIMIFY_BUILD_ROOT)) return LIMIFY_BUILD_PLUGIN_DIR;
  std::error_code ec;
  fs::path beside = fs::path(binary).parent_path() / "limify" / "plugins";
  if (fs::is_directory(beside, ec)) return beside.string();
  return InstalledPluginDir();
}

std::string DefaultPluginDir() {
  std::string here;
  try {
    std::error_code ec;
    // The binary that holds this code: liblimify.so, the CLI or a test.
    fs::path location = boost::dll::this_line_location(ec);
    if (!ec) here = location.string();
  } catch (const std::exception&) {
    // Cannot tell where we run from: only the compiled-in path is left.
  }
  return DefaultPluginDirFor(here);
}

std::vector<std::string> PluginSearchPath(
    const std::vector<std::string>& config_paths) {
  std::vector<std::string> dirs = config_paths;
  if (const char* env = std::getenv("LIMIFY_PLUGIN_PATH")) {
    for (absl::string_view dir : absl::StrSplit(env, ':', absl::SkipEmpty())) {
      dirs.emplace_back(dir.data(), dir.size());
    }
  }
  std::string fallback = DefaultPluginDir();
  std::error_code ec;
  if (fs::is_directory(fallback, ec)) dirs.push_back(std::move(fallback));
  return UniqueDirs(dirs);
}

}  // namespace limify
