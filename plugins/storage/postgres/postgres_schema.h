// The postgres storage's schema: numbered migrations (sql/postgres/NNN_*.sql,
// embedded at build time), a version table, and the advisory lock that lets
// several processes start at once.
#ifndef LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_SCHEMA_H_
#define LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_SCHEMA_H_

#include <cstdint>
#include <string>

#include <pqxx/connection_base>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "plugins/storage/postgres/postgres_options.h"

namespace limify::postgres {

struct Migration {
  const char* name;  // e.g. "001_state.sql"
  const char* sql;   // takes the schema from version i to i + 1; @schema@ = the schema
};

// Entry i brings a schema at version i to i + 1.
absl::Span<const Migration> Migrations();
inline int64_t CurrentSchemaVersion() { return static_cast<int64_t>(Migrations().size()); }

// "limify" -> "\"limify\"" (schema names are validated: no quote inside).
std::string QuotedSchema(const std::string& schema);
// `sql` with every @schema@ replaced by the quoted schema.
std::string WithSchema(const std::string& sql, const std::string& schema);

// With options.migrate: in one transaction holding an advisory lock keyed by
// the schema's name, creates the schema and its version table if missing,
// applies the migrations it lacks (recording each), and sets the state table
// LOGGED or UNLOGGED as options.unlogged asks; a second call, or a second
// process, finds nothing to do. Without migrate: checks that the schema is
// at this plugin's version. FailedPrecondition names what is wrong (a newer
// schema, a missing one); libpqxx exceptions escape to the caller.
absl::Status EnsureSchema(pqxx::connection_base& conn, const PostgresOptions& options);

// The version recorded in the schema (0 when it has no version table).
int64_t SchemaVersion(pqxx::connection_base& conn, const std::string& schema);

}  // namespace limify::postgres

#endif  // LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_SCHEMA_H_
