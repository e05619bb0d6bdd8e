// The sqlite storage's options: every mistake fails the engine's Create with
// a message that names the option (as a JSON path under "storage").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::sqlite_test {
namespace {

using ::testing::HasSubstr;

constexpr const char* kRules = R"([{"id": "a", "path": "/a", "rate": "5/second"}])";

std::string CreateError(const std::string& storage) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(Config(storage, kRules));
  if (engine.ok()) return "created";
  return std::string(engine.status().message());
}

TEST(SqliteOptionsTest, PathIsRequired) {
  EXPECT_THAT(CreateError(R"({"type": "sqlite"})"), HasSubstr("storage.path: required"));
  EXPECT_THAT(CreateError(R"({"type": "sqlite", "path": ""})"),
              HasSubstr("storage.path: expected a file name"));
  EXPECT_THAT(CreateError(R"({"type": "sqlite", "path": 7})"),
              HasSubstr("storage.path: expected a file name or \":memory:\", got 7"));
}

TEST(SqliteOptionsTest, BadValuesNameTheOption) {
  TempDir dir;
  const std::string db = dir.File("x.db");
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("busy_timeout_ms": -1)")),
              HasSubstr("storage.busy_timeout_ms: expected an integer from 0 to 3600000, got -1"));
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("busy_timeout_ms": 1.5)")),
              HasSubstr("storage.busy_timeout_ms"));
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("synchronous": "fast")")),
              HasSubstr("storage.synchronous: expected \"off\", \"normal\" or \"full\", got \"fast\""));
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("connections": 0)")),
              HasSubstr("storage.connections: expected an integer from 1 to 64, got 0"));
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("sweep_batch": "9")")),
              HasSubstr("storage.sweep_batch"));
  EXPECT_THAT(CreateError(SqliteStorage(db, R"("journal": "wal")")),
              HasSubstr("storage.journal: unknown option (expected path, busy_timeout_ms"));
}

TEST(SqliteOptionsTest, EveryOptionIsAccepted) {
  TempDir dir;
  for (const char* sync : {"off", "normal", "full"}) {
    EXPECT_EQ(CreateError(SqliteStorage(
                  dir.File(std::string(sync) + ".db"),
                  absl::StrCat(R"("busy_timeout_ms": 0, "connections": 2, "sweep_batch": 10, )",
                               R"("synchronous": ")", sync, "\""))),
              "created");
  }
  EXPECT_EQ(CreateError(SqliteStorage(":memory:")), "created");
}

TEST(SqliteOptionsTest, TheFileIsInWalMode) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(Config(SqliteStorage(db, R"("synchronous": "full")"), kRules));
  Db direct(db);
  EXPECT_EQ(direct.Query("PRAGMA journal_mode"), "wal");  // persistent in the file
}

}  // namespace
}  // namespace limify::sqlite_test
