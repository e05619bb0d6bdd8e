// The sqlite storage's schema, versioned with PRAGMA user_version. The SQL
// lives in sql/sqlite/NNN_<what>.sql and is embedded into the plugin at
// build time, so a deployed plugin needs no file beside it.
#ifndef LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_SCHEMA_H_
#define LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_SCHEMA_H_

#include <cstdint>

#include "absl/types/span.h"

namespace limify::sqlite {

struct Migration {
  const char* name;  // e.g. "001_create_state.sql"
  const char* sql;   // takes the database from version i to i + 1
};

// Entry i brings a database at user_version i to i + 1.
absl::Span<const Migration> Migrations();

// The version this plugin reads and writes: the number of migrations.
inline int64_t CurrentSchemaVersion() { return static_cast<int64_t>(Migrations().size()); }

}  // namespace limify::sqlite

#endif  // LIMIFY_PLUGINS_STORAGE_SQLITE_SQLITE_SCHEMA_H_
