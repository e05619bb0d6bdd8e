// Options of the postgres storage: the `storage` JSON object without "type".
#ifndef LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_OPTIONS_H_
#define LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_OPTIONS_H_

#include <string>

#include "absl/status/status.h"

namespace limify::postgres {

struct PostgresOptions {
  // Any libpq connection string: postgresql://user@host:port/db?sslmode=...
  // or "host=... dbname=...". Required.
  std::string url;
  int pool_size = 4;               // connections, each used by one check at a time
  int connect_timeout_ms = 50;     // one connection attempt, TCP and startup included
  int statement_timeout_ms = 50;   // the server's statement_timeout; a check waits for a
                                   // connection and a reply at most twice this long
  std::string schema = "limify";   // where the table and functions live
  bool unlogged = false;           // state table without WAL: faster, emptied by a crash
  bool migrate = true;             // create / upgrade the schema on first connect
  bool native = true;              // false: every algorithm takes the generic path
  int sweep_interval_ms = 1000;    // 0: no background sweeper
  int sweep_batch = 1000;          // rows read per sweep step
};

// Parses `json` (NULL is an error: url is required). Errors start with the
// option's name, e.g. "pool_size: expected an integer from 1 to 64, got 0".
// The url is checked with libpq's own parser (PQconninfoParse).
absl::Status ParsePostgresOptions(const char* json, PostgresOptions* out);

// The url without its password (for messages): "postgresql://u:***@h/db".
std::string RedactedUrl(const std::string& url);

}  // namespace limify::postgres

#endif  // LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_OPTIONS_H_
