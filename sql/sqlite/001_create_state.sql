-- limify SQLite storage, schema version 1: rate-limit state per key.
--
-- Applied by limify_sqlite.so (embedded at build time) inside a
-- BEGIN IMMEDIATE transaction when PRAGMA user_version is 0; the plugin then
-- sets user_version = 1. Never edit a released file: add NNN_<what>.sql,
-- which takes the database from version NNN-1 to NNN.

-- One row per storage key (one per identity and limit). `state` is the
-- algorithm's own layout (see the top of each plugins/algorithms/*/*.cc);
-- `expires_us` is host-clock microseconds since the epoch: from then on the
-- row is equivalent to a fresh key, so readers treat it as missing and the
-- sweeper may delete it. WITHOUT ROWID: the key is the clustered primary key,
-- so a lookup is one B-tree descent.
--
-- No index on expires_us, on purpose: every check rewrites expires_us, and
-- an index would cost each one a second B-tree update (about twice the write
-- time, measured). The sweeper walks the primary key instead, a bounded
-- range of rows at a time.
CREATE TABLE limify_state (
  key        BLOB    NOT NULL PRIMARY KEY,
  state      BLOB    NOT NULL,
  expires_us INTEGER NOT NULL
) WITHOUT ROWID;
