// Every algorithm on the sqlite storage decides exactly as on the memory
// storage: two engines with the same rules and manual clocks are driven in
// lockstep through one pseudo-random sequence of checks, peeks, resets and
// clock moves (single- and multi-limit rules, costs above 1), and every
// decision must match field by field — across closing and reopening the
// SQLite engine halfway, and on ":memory:".
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "engine/absl_compat.h"
#include "engine/engine.h"
#include "tests/sqlite/sqlite_test_util.h"

namespace limify::sqlite_test {
namespace {

constexpr int64_t kStartUs = 1'700'000'000'123'457;  // not a multiple of any window

std::string Rules(const std::string& algorithm) {
  const bool bursty = algorithm == "token_bucket" || algorithm == "gcra";
  return absl::StrCat(
      R"([{"id": "one", "path": "/one", "algorithm": ")", algorithm,
      R"(", "rate": "5/2s")", bursty ? R"(, "burst": 7)" : "",
      R"(, "plans": {"pro": "9/3s"}},)",
      R"( {"id": "two", "path": "/two", "algorithm": ")", algorithm,
      R"(", "rate": ["3/second", "10/minute"]}])");
}

class Lockstep {
 public:
  Lockstep(const std::string& algorithm, std::string sqlite_storage)
      : rules_(Rules(algorithm)),
        sqlite_storage_(std::move(sqlite_storage)),
        memory_(MustCreate(Config(R"({"type": "memory"})", rules_))),
        sqlite_(MustCreate(Config(sqlite_storage_, rules_))) {
    SetClock(kStartUs);
  }

  // Runs `steps` random operations; returns the first mismatch, or "".
  std::string Drive(int steps, std::mt19937_64& rng) {
    static constexpr const char* kUsers[] = {"alice", "bob", "carol"};
    static constexpr const char* kPaths[] = {"/one", "/two"};
    for (int step = 0; step < steps; ++step) {
      // Clock moves of up to 0.7 s, at microsecond resolution; now and then none.
      if (rng() % 4 != 0) {
        now_ += static_cast<int64_t>(rng() % 700'000);
        SetClock(now_);
      }
      Request r = Get(kPaths[rng() % 2], kUsers[rng() % 3]);
      if (rng() % 5 == 0) r.plan = "pro";
      r.cost = 1 + static_cast<int64_t>(rng() % 10 == 0 ? 2 + rng() % 8 : rng() % 2);
      const unsigned op = rng() % 20;
      Decision a, b;
      std::string what;
      if (op < 14) {
        what = "Check";
        Expect(memory_->Check(r, &a).ok() && sqlite_->Check(r, &b).ok());
      } else if (op < 17) {
        what = "Peek";
        Expect(memory_->Peek(r, &a).ok() && sqlite_->Peek(r, &b).ok());
      } else if (op < 19) {
        what = "CheckKey";
        const std::string rule = r.path == "/one" ? "one" : "two";
        Expect(memory_->CheckKey(rule, r.user_id, r.cost, &a).ok() &&
               sqlite_->CheckKey(rule, r.user_id, r.cost, &b).ok());
      } else {
        what = "Reset";
        Expect(memory_->Reset(r).ok() && sqlite_->Reset(r).ok());
        continue;
      }
      if (Describe(a) != Describe(b)) {
        return absl::StrCat("step ", step, " ", what, " ", AbslView(r.path), " ",
                            AbslView(r.user_id), " cost ",
                            r.cost, " at ", now_ - kStartUs, " us\n  memory: ", Describe(a),
                            "\n  sqlite: ", Describe(b));
      }
      ++compared_;
      if (b.allowed) ++allowed_;
    }
    return "";
  }

  // Closes the SQLite engine and opens a new one on the same file.
  void Reopen() {
    sqlite_.reset();
    sqlite_ = MustCreate(Config(sqlite_storage_, rules_));
    SetClock(now_);
  }

  int compared() const { return compared_; }
  int allowed() const { return allowed_; }

 private:
  void SetClock(int64_t now) {
    now_ = now;
    Expect(memory_->SetClock(now).ok() && sqlite_->SetClock(now).ok());
  }
  static void Expect(bool ok) {
    if (!ok) throw std::runtime_error("an engine call failed");
  }

  const std::string rules_;
  const std::string sqlite_storage_;
  std::unique_ptr<Engine> memory_;
  std::unique_ptr<Engine> sqlite_;
  int64_t now_ = kStartUs;
  int compared_ = 0;
  int allowed_ = 0;
};

class SqliteEquivalenceTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SqliteEquivalenceTest, SameDecisionsAsMemoryAcrossReopen) {
  TempDir dir;
  Lockstep lockstep(GetParam(), SqliteStorage(dir.File("limits.db")));
  std::mt19937_64 rng(0x5eed + std::string(GetParam()).size());
  EXPECT_EQ(lockstep.Drive(200, rng), "");
  lockstep.Reopen();  // state lives in the file, not in the engine
  EXPECT_EQ(lockstep.Drive(200, rng), "");
  // The sequence exercised both outcomes, not only one of them.
  EXPECT_GT(lockstep.allowed(), 40);
  EXPECT_LT(lockstep.allowed(), lockstep.compared() - 40);
}

TEST_P(SqliteEquivalenceTest, SameDecisionsAsMemoryInMemoryDatabase) {
  Lockstep lockstep(GetParam(), SqliteStorage(":memory:"));
  std::mt19937_64 rng(0xfeed);
  EXPECT_EQ(lockstep.Drive(150, rng), "");
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, SqliteEquivalenceTest,
                         ::testing::Values("token_bucket", "fixed_window", "sliding_window",
                                           "sliding_window_counter", "gcra"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace limify::sqlite_test
