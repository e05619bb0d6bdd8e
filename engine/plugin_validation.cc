#include "engine/plugin_validation.h"

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/plugin_error.h"
#include "engine/absl_compat.h"

namespace limify {
namespace {

// "0x4C4D4659": how plugin.h writes the magic.
std::string Hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08X", static_cast<unsigned>(value));
  return text;
}

absl::Status Refuse(absl::string_view file, absl::string_view reason) {
  return PluginLoadError(absl::StrCat(file, ": ", reason));
}

// A required function slot: its name in plugin.h and whether it is set.
struct Slot {
  const char* name;
  bool present;
};

// A vtable's fields may be read only once its struct_size covers them.
// `kind` is "algorithm" or "storage"; `where` is its place in the manifest
// ("algorithms[0]"), for errors raised before its name is known.
absl::Status CheckSize(absl::string_view file, absl::string_view kind,
                       absl::string_view where, uint32_t struct_size,
                       size_t min_size) {
  if (struct_size >= min_size) return absl::OkStatus();
  return Refuse(file, absl::StrCat(where, ": struct_size ", struct_size,
                                   " is smaller than the ", min_size,
                                   " bytes of a v1.0 ", kind));
}

absl::Status CheckNameAndSlots(absl::string_view file, absl::string_view kind,
                               absl::string_view where, const char* name,
                               std::initializer_list<Slot> slots) {
  if (name == nullptr) return Refuse(file, absl::StrCat(where, ": name is NULL"));
  if (!IsValidPluginName(name)) {
    // Escaped: the bytes come from a plugin and end up in logs.
    return Refuse(file, absl::StrCat(kind, " name \"", absl::CHexEscape(name),
                                     "\" is invalid: expected [a-z0-9_]+"));
  }
  for (const Slot& slot : slots) {
    if (!slot.present) {
      return Refuse(file, absl::StrCat(kind, " \"", name,
                                       "\": required function \"", slot.name,
                                       "\" is NULL"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAlgorithm(absl::string_view file, size_t i,
                            const limify_algorithm* a) {
  std::string where = absl::StrCat("algorithms[", i, "]");
  if (a == nullptr) return Refuse(file, absl::StrCat(where, " is NULL"));
  absl::Status s =
      CheckSize(file, "algorithm", where, a->struct_size, kAlgorithmV1Size);
  if (!s.ok()) return s;
  return CheckNameAndSlots(file, "algorithm", where, a->name,
                           {{"validate", a->validate != nullptr},
                            {"state_size", a->state_size != nullptr},
                            {"step", a->step != nullptr}});
}

absl::Status CheckStorage(absl::string_view file, size_t i,
                          const limify_storage* st) {
  std::string where = absl::StrCat("storages[", i, "]");
  if (st == nullptr) return Refuse(file, absl::StrCat(where, " is NULL"));
  absl::Status s =
      CheckSize(file, "storage", where, st->struct_size, kStorageV1Size);
  if (!s.ok()) return s;
  return CheckNameAndSlots(file, "storage", where, st->name,
                           {{"create", st->create != nullptr},
                            {"destroy", st->destroy != nullptr},
                            {"execute", st->execute != nullptr},
                            {"remove", st->remove != nullptr}});
}

}  // namespace

bool IsValidPluginName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateManifest(const limify_plugin_manifest* m,
                              std::string_view file_name) {
  absl::string_view file = AbslView(file_name);
  if (m == nullptr) {
    return Refuse(file, "\"" LIMIFY_PLUGIN_ENTRY_SYMBOL
                        "\" returned NULL: the plugin refused to load");
  }
  // magic, abi_major and struct_size come first in every version: safe to read.
  if (m->magic != LIMIFY_PLUGIN_MAGIC) {
    return Refuse(file, absl::StrCat("not a limify plugin: manifest magic is ",
                                     Hex32(m->magic), ", expected ",
                                     Hex32(LIMIFY_PLUGIN_MAGIC)));
  }
  if (m->abi_major != LIMIFY_PLUGIN_ABI_MAJOR) {
    return Refuse(file, absl::StrCat("plugin ABI version ", m->abi_major, ".",
                                     m->abi_minor,
                                     " is incompatible with the engine's ABI "
                                     "version ",
                                     LIMIFY_PLUGIN_ABI_MAJOR, ".",
                                     LIMIFY_PLUGIN_ABI_MINOR,
                                     " (major versions differ)"));
  }
  if (m->struct_size < kManifestV1Size) {
    return Refuse(file, absl::StrCat("manifest struct_size ", m->struct_size,
                                     " is smaller than the ", kManifestV1Size,
                                     " bytes of a v1.0 manifest"));
  }
  if (m->n_algorithms != 0 && m->algorithms == nullptr) {
    return Refuse(file, absl::StrCat("manifest lists ", m->n_algorithms,
                                     " algorithms but its algorithms array is "
                                     "NULL"));
  }
  if (m->n_storages != 0 && m->storages == nullptr) {
    return Refuse(file, absl::StrCat("manifest lists ", m->n_storages,
                                     " storages but its storages array is "
                                     "NULL"));
  }
  for (size_t i = 0; i < m->n_algorithms; ++i) {
    absl::Status s = CheckAlgorithm(file, i, m->algorithms[i]);
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < m->n_storages; ++i) {
    absl::Status s = CheckStorage(file, i, m->storages[i]);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace limify
