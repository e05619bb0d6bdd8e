// What the SQLite file keeps: state across closing and reopening the engine
// and across a process killed with SIGKILL mid-run; the schema and its
// version; expired rows removed in bounded batches; the key count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "engine/engine.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::sqlite_test {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000'000'000;

TEST(SqlitePersistenceTest, StateSurvivesClosingAndReopeningTheEngine) {
  TempDir dir;
  const std::string config = Config(SqliteStorage(dir.File("limits.db")),
                                    R"([{"id": "a", "path": "/a", "rate": "5/minute"}])");
  {
    auto engine = MustCreate(config);
    ASSERT_TRUE(engine->SetClock(kNow).ok());
    Decision d;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
    EXPECT_EQ(d.remaining, 2);
  }
  auto engine = MustCreate(config);  // its manual clock starts at 0 again
  ASSERT_TRUE(engine->SetClock(kNow + 1).ok());
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  ASSERT_TRUE(engine->Check(Get("/a", "bob"), &d).ok());
  EXPECT_EQ(d.remaining, 4);  // another identity is untouched

  // Reset forgets the identity in the file too.
  ASSERT_TRUE(engine->Reset(Get("/a", "alice")).ok());
  ASSERT_TRUE(engine->Peek(Get("/a", "alice"), &d).ok());
  EXPECT_EQ(d.remaining, 5);
}

TEST(SqlitePersistenceTest, StateSurvivesAProcessKilledMidRun) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  int64_t seen = 0;
  {
    Child worker({"run", db});
    char buf[256];
    while (seen < 300) {
      const ssize_t got = worker.Read(buf, sizeof(buf));
      ASSERT_GT(got, 0) << "the worker stopped early";
      seen += got;
    }
    worker.Kill(SIGKILL);
    for (ssize_t got; (got = worker.Read(buf, sizeof(buf))) > 0;) seen += got;
    const int status = worker.Wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  }
  // The worker reports a check after it committed: at most the one in
  // flight when it died was committed without being reported.
  auto engine = MustCreate(Config(SqliteStorage(db),
                                  R"([{"id": "k", "path": "/k", "rate": "1/week", "burst": 100000}])",
                                  "system"));
  Decision d;
  ASSERT_TRUE(engine->Peek(Get("/k", "victim"), &d).ok());
  EXPECT_FALSE(d.degraded);
  EXPECT_LE(d.remaining, 100000 - seen);
  EXPECT_GE(d.remaining, 100000 - seen - 1);
  Db direct(db);
  EXPECT_EQ(direct.Query("PRAGMA integrity_check"), "ok");
}

TEST(SqlitePersistenceTest, SchemaIsVersionedWithUserVersion) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(Config(SqliteStorage(db), R"([{"id": "a", "path": "/a", "rate": "5/s"}])"));
  Db direct(db);
  EXPECT_EQ(direct.Query("PRAGMA user_version"), "1");
  EXPECT_EQ(direct.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                         "name = 'limify_state'"),
            "limify_state");
}

TEST(SqlitePersistenceTest, NewerSchemaVersionIsRefusedNamingTheFile) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  {
    Db direct(db);
    direct.Exec("PRAGMA user_version = 99");
  }
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(Config(SqliteStorage(db), R"([{"id": "a", "path": "/a", "rate": "5/s"}])"));
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr(db));
  EXPECT_THAT(engine.status().message(),
              HasSubstr("schema version 99 is newer than this plugin's (1)"));
}

TEST(SqlitePersistenceTest, SharesAnExistingDatabaseWithTheApplicationsTables) {
  TempDir dir;
  const std::string db = dir.File("app.db");
  {
    Db direct(db);
    direct.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (7)");
  }
  auto engine = MustCreate(Config(SqliteStorage(db), R"([{"id": "a", "path": "/a", "rate": "5/s"}])"));
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_EQ(d.remaining, 4);
  Db direct(db);
  EXPECT_EQ(direct.Query("SELECT id FROM users"), "7");
}

TEST(SqlitePersistenceTest, ExpiredRowsAreDeletedInBoundedBatches) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(
      Config(SqliteStorage(db, R"("sweep_batch": 10)"),
             R"([{"id": "a", "path": "/a", "algorithm": "fixed_window", "rate": "1/second"}])"));
  ASSERT_TRUE(engine->SetClock(kNow).ok());
  Decision d;
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE(engine->CheckKey("a", absl::StrCat("user", i), 1, &d).ok());
  }
  Db direct(db);
  EXPECT_EQ(direct.Count("SELECT count(*) FROM limify_state"), 45);
  ASSERT_TRUE(engine->AdvanceClock(2'000'000).ok());  // every row has expired

  // Each write examines at most one batch of rows (so deletes at most 10);
  // a batch full of expired rows calls for another step on the next write,
  // until the walk has covered the table.
  ASSERT_TRUE(engine->CheckKey("a", "fresh", 1, &d).ok());
  int64_t rows = direct.Count("SELECT count(*) FROM limify_state");
  EXPECT_GE(rows, 45 + 1 - 10);
  EXPECT_LT(rows, 45 + 1);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(engine->CheckKey("a", absl::StrCat("more", i), 1, &d).ok());
    const int64_t now_rows = direct.Count("SELECT count(*) FROM limify_state");
    EXPECT_GE(now_rows, rows + 1 - 10);
    rows = now_rows;
  }
  EXPECT_EQ(rows, 8);  // only the 8 live keys are left

  // An expired row that was not swept yet still reads as a fresh key.
  ASSERT_TRUE(engine->AdvanceClock(2'000'000).ok());
  ASSERT_TRUE(engine->CheckKey("a", "fresh", 1, &d).ok());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
}

TEST(SqlitePersistenceTest, KeyCountCountsUnexpiredRows) {
  TempDir dir;
  auto engine = MustCreate(
      Config(SqliteStorage(dir.File("limits.db")),
             R"([{"id": "a", "path": "/a", "algorithm": "fixed_window", "rate": "1/second"}])"));
  ASSERT_TRUE(engine->SetClock(kNow).ok());
  Decision d;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->CheckKey("a", absl::StrCat("u", i), 1, &d).ok());
  absl::StatusOr<std::string> stats = engine->Stats(StatsFormat::kPrometheus);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_THAT(*stats, HasSubstr("\nlimify_keys 3\n")) << *stats;
  ASSERT_TRUE(engine->AdvanceClock(2'000'000).ok());
  stats = engine->Stats(StatsFormat::kPrometheus);
  ASSERT_TRUE(stats.ok());
  EXPECT_THAT(*stats, HasSubstr("\nlimify_keys 0\n")) << *stats;
}

}  // namespace
}  // namespace limify::sqlite_test
