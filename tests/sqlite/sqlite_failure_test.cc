// When the database cannot be used. At create (the engine's Create fails,
// naming the file): a missing or read-only directory, a corrupt file, a file
// locked by another process before the schema exists. At a check (the
// failure policy decides and the decision is degraded; the error listener
// hears why): the database locked by another process beyond
// busy_timeout_ms (a timeout), the file deleted or corrupted while open
// (unavailable).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::sqlite_test {
namespace {

using ::testing::HasSubstr;

constexpr const char* kRules = R"([{"id": "a", "path": "/a", "rate": "100/minute"}])";

std::string CreateError(const std::string& config) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(config);
  if (engine.ok()) return "created";
  return std::string(engine.status().message());
}

// Records what the engine's error listener hears.
class Heard {
 public:
  explicit Heard(Engine& engine) {
    EXPECT_TRUE(engine
                    .SetErrorListener([this](const absl::Status& s) {
                      std::lock_guard<std::mutex> lock(mu_);
                      errors_.push_back(s);
                    })
                    .ok());
  }
  std::vector<absl::Status> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  std::mutex mu_;
  std::vector<absl::Status> errors_;
};

TEST(SqliteFailureTest, MissingDirectoryFailsCreateNamingIt) {
  TempDir dir;
  const std::string db = dir.File("nope/limits.db");
  const std::string error = CreateError(Config(SqliteStorage(db), kRules));
  EXPECT_THAT(error, HasSubstr("storage.path: directory \"" + dir.File("nope") +
                               "\" does not exist"));
  EXPECT_THAT(error, HasSubstr(db));
}

// As root (CAP_DAC_OVERRIDE) permissions do not stop writes: the check runs
// in a child process that drops to the `nobody` user first.
TEST(SqliteFailureTest, ReadOnlyDirectoryFailsCreateNamingIt) {
  TempDir dir;
  const std::string ro = dir.File("ro");
  ASSERT_EQ(mkdir(ro.c_str(), 0555), 0);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // mkdtemp made it 0700
  const std::string db = ro + "/limits.db";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
    const std::string error = CreateError(Config(SqliteStorage(db), kRules));
    const bool ok = error.find("storage.path: directory \"" + ro + "\" is not writable") !=
                        std::string::npos &&
                    error.find(db + "-wal") != std::string::npos;
    if (!ok) std::fprintf(stderr, "unexpected: %s\n", error.c_str());
    _exit(ok ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "running as root and cannot drop privileges";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SqliteFailureTest, CorruptFileFailsCreateNamingIt) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  {
    std::ofstream out(db, std::ios::binary);
    out << std::string(8192, 'x');
  }
  const std::string error = CreateError(Config(SqliteStorage(db), kRules));
  EXPECT_THAT(error, HasSubstr("\"" + db + "\""));
  EXPECT_THAT(error, HasSubstr("the file is corrupt or is not a SQLite database"));
}

TEST(SqliteFailureTest, DatabaseLockedBeforeTheSchemaExistsFailsCreate) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  Child locker({"lock", db, "exclusive"});
  ASSERT_EQ(locker.ReadLine(), "locked");
  const std::string error =
      CreateError(Config(SqliteStorage(db, R"("busy_timeout_ms": 50)"), kRules));
  EXPECT_THAT(error, HasSubstr("\"" + db + "\""));
  EXPECT_THAT(error, HasSubstr("busy_timeout_ms = 50"));
}

class LockedDatabaseTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LockedDatabaseTest, ChecksTimeOutAndTheFailurePolicyDecides) {
  const bool open = std::string(GetParam()) == "open";
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(
      Config(SqliteStorage(db, R"("busy_timeout_ms": 100)"), kRules, "manual", GetParam()));
  Heard heard(*engine);
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  ASSERT_FALSE(d.degraded);

  {
    Child locker({"lock", db});  // another process holds the write lock
    ASSERT_EQ(locker.ReadLine(), "locked");
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(d.degraded);
    EXPECT_EQ(d.allowed, open);
    EXPECT_GE(waited, std::chrono::milliseconds(90));  // it waited for the lock first
    std::vector<absl::Status> errors = heard.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_THAT(errors[0].message(), HasSubstr("\"" + db + "\""));
    EXPECT_THAT(errors[0].message(), HasSubstr("locked by another connection or process"));

    // A peek reads a snapshot: the writer does not block it (WAL).
    ASSERT_TRUE(engine->Peek(Get("/a", "alice"), &d).ok());
    EXPECT_FALSE(d.degraded);
    EXPECT_EQ(d.remaining, 99);
  }  // the locker exits and its lock goes with it

  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_FALSE(d.degraded);
  EXPECT_EQ(d.remaining, 98);  // the degraded check consumed nothing
}

INSTANTIATE_TEST_SUITE_P(FailureModes, LockedDatabaseTest, ::testing::Values("open", "closed"));

TEST(SqliteFailureTest, FileDeletedWhileOpenMakesChecksUnavailable) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(Config(SqliteStorage(db), kRules, "manual", "closed"));
  Heard heard(*engine);
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  ASSERT_EQ(std::rename(db.c_str(), dir.File("moved.db").c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the check's interval

  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_TRUE(d.degraded);
  EXPECT_FALSE(d.allowed);
  std::vector<absl::Status> errors = heard.errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(errors[0].message(), HasSubstr("\"" + db + "\""));
  EXPECT_THAT(errors[0].message(), HasSubstr("moved or deleted while open"));

  // The next check opens what is at the path now: a new, empty database.
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_FALSE(d.degraded);
  EXPECT_EQ(d.remaining, 99);
}

TEST(SqliteFailureTest, FileCorruptedWhileOpenMakesChecksUnavailable) {
  TempDir dir;
  const std::string db = dir.File("limits.db");
  auto engine = MustCreate(Config(SqliteStorage(db), kRules, "manual", "closed"));
  Heard heard(*engine);
  Decision d;
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  // Checkpoint, then overwrite the whole file and the WAL index with garbage.
  { Db(db).Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }
  for (const std::string& file : {db, db + "-shm"}) {
    std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    out << std::string(32768, 'x');
  }
  ASSERT_TRUE(engine->Check(Get("/a", "alice"), &d).ok());
  EXPECT_TRUE(d.degraded);
  EXPECT_FALSE(d.allowed);
  std::vector<absl::Status> errors = heard.errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(errors[0].message(), HasSubstr("\"" + db + "\""));
}

}  // namespace
}  // namespace limify::sqlite_test
