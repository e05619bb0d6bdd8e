#include "plugins/storage/postgres/postgres_schema.h"

#include <pqxx/result>
#include <pqxx/transaction>

namespace limify::postgres {
namespace {

constexpr Migration kMigrations[] = {
#include "postgres_migrations.inc"
};

// The advisory lock's first key: "LMFY". The second is hashtext(schema), so
// processes migrating different schemas do not wait for each other.
constexpr int kLockClass = 0x4C4D4659;

}  // namespace

absl::Span<const Migration> Migrations() { return kMigrations; }

std::string QuotedSchema(const std::string& schema) { return "\"" + schema + "\""; }

std::string WithSchema(const std::string& sql, const std::string& schema) {
  static constexpr std::string_view kMark = "@schema@";
  const std::string quoted = QuotedSchema(schema);
  std::string out;
  out.reserve(sql.size() + 256);
  size_t at = 0;
  for (size_t hit; (hit = sql.find(kMark, at)) != std::string::npos; at = hit + kMark.size()) {
    out.append(sql, at, hit - at);
    out += quoted;
  }
  out.append(sql, at, std::string::npos);
  return out;
}

// The state table's relpersistence: "p" logged, "u" unlogged ("" if missing).
static std::string Persistence(pqxx::connection_base& conn, const std::string& schema) {
  pqxx::read_transaction tx(conn);
  const pqxx::result r =
      tx.exec_params("SELECT relpersistence FROM pg_class WHERE oid = to_regclass($1)",
                     QuotedSchema(schema) + ".state");
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

int64_t SchemaVersion(pqxx::connection_base& conn, const std::string& schema) {
  pqxx::read_transaction tx(conn);
  const pqxx::result table = tx.exec_params("SELECT to_regclass($1) IS NOT NULL",
                                            QuotedSchema(schema) + ".schema_version");
  if (!table[0][0].as<bool>()) return 0;
  return tx.exec("SELECT coalesce(max(version), 0) FROM " + QuotedSchema(schema) +
                 ".schema_version")[0][0]
      .as<int64_t>();
}

absl::Status EnsureSchema(pqxx::connection_base& conn, const PostgresOptions& options) {
  const std::string q = QuotedSchema(options.schema);
  const int64_t current = CurrentSchemaVersion();
  if (!options.migrate) {
    const int64_t version = SchemaVersion(conn, options.schema);
    if (version != current) {
      return absl::FailedPreconditionError(
          "schema " + q + " is at version " + std::to_string(version) + ", this plugin needs " +
          std::to_string(current) +
          (version < current ? " (set \"migrate\": true, or apply sql/postgres/*.sql)"
                             : " (a newer limify wrote it: upgrade this one)"));
    }
    return absl::OkStatus();
  }
  // Up to date already (the common case): nothing to lock or write, so a
  // role without the CREATE privilege can run with "migrate": true too.
  if (SchemaVersion(conn, options.schema) == current &&
      Persistence(conn, options.schema) == (options.unlogged ? "u" : "p")) {
    return absl::OkStatus();
  }
  pqxx::work tx(conn);
  tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", kLockClass, options.schema);
  // CREATE SCHEMA IF NOT EXISTS would need the CREATE privilege on the
  // database even when the schema exists: ask first.
  if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", options.schema).empty()) {
    tx.exec("CREATE SCHEMA " + q);
  }
  tx.exec("CREATE TABLE IF NOT EXISTS " + q +
          ".schema_version (version integer PRIMARY KEY, name text NOT NULL, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
  const int64_t version =
      tx.exec("SELECT coalesce(max(version), 0) FROM " + q + ".schema_version")[0][0]
          .as<int64_t>();
  if (version > current) {
    return absl::FailedPreconditionError(
        "schema " + q + " is at version " + std::to_string(version) + ", newer than this plugin's " +
        std::to_string(current) + " (a newer limify wrote it: upgrade this one)");
  }
  for (int64_t v = version; v < current; ++v) {
    const Migration& m = kMigrations[v];
    tx.exec(WithSchema(m.sql, options.schema));
    tx.exec_params("INSERT INTO " + q + ".schema_version (version, name) VALUES ($1, $2)", v + 1,
                   std::string(m.name));
  }
  const std::string persistence =
      tx.exec_params("SELECT relpersistence FROM pg_class WHERE oid = $1::regclass", q + ".state")
          [0][0].as<std::string>();
  const std::string wanted = options.unlogged ? "u" : "p";
  if (persistence != wanted) {
    tx.exec("ALTER TABLE " + q + ".state SET " + (options.unlogged ? "UNLOGGED" : "LOGGED"));
  }
  tx.commit();
  return absl::OkStatus();
}

}  // namespace limify::postgres
