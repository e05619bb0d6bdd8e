-- limify PostgreSQL storage, schema version 1: rate-limit state per key.
--
-- Applied by limify_postgres.so (embedded at build time) inside one
-- transaction holding an advisory lock, which then records version 1 in
-- @schema@.schema_version. @schema@ is the `schema` option (default
-- "limify"), substituted as a quoted identifier. Never edit a released file:
-- add NNN_<what>.sql, which takes the schema from version NNN-1 to NNN.

-- One row per storage key (one per identity and limit; the key is built and
-- hashed by the engine, so no identity is stored in clear). `state` is the
-- algorithm's own binary layout (see the top of each
-- plugins/algorithms/*/*.cc), the same bytes the memory, redis and sqlite
-- storages keep, so the native SQL functions and the generic path read each
-- other's rows. `expires_us` is the server's clock (clock_timestamp(), Unix
-- microseconds) from which the row is equivalent to a fresh key: the sweeper
-- deletes such rows in bounded batches.
--
-- No index on expires_us, on purpose: every check rewrites it, and an index
-- on it would forbid HOT updates (each check would then write a new index
-- entry). The sweeper walks the primary key instead, a bounded range at a
-- time. fillfactor leaves room on each page for those HOT updates.
CREATE TABLE @schema@.state (
  key        bytea  NOT NULL PRIMARY KEY,
  state      bytea  NOT NULL,
  expires_us bigint NOT NULL
) WITH (fillfactor = 80);
