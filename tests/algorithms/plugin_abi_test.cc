// What every algorithm plugin owes the host through the ABI: its manifest,
// validate()'s refusals, step()'s argument checks, unaligned state, verdict
// sizes, and arithmetic that holds at the edges of time and of the spec.
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>

#include "tests/algorithms/algorithm_harness.h"

namespace limify::testing {
namespace {

class PluginAbiTest : public ::testing::TestWithParam<std::string> {
 protected:
  const limify_algorithm* algorithm() { return LoadPlugin(GetParam()).algorithm; }
  bool IsBucket() { return GetParam() == "token_bucket" || GetParam() == "gcra"; }
};

TEST_P(PluginAbiTest, ManifestDeclaresOneAlgorithmNamedLikeThePlugin) {
  const limify_plugin_manifest* m = LoadPlugin(GetParam()).manifest;
  EXPECT_EQ(m->magic, LIMIFY_PLUGIN_MAGIC);
  EXPECT_EQ(m->abi_major, LIMIFY_PLUGIN_ABI_MAJOR);
  EXPECT_EQ(m->struct_size, sizeof(limify_plugin_manifest));
  EXPECT_STREQ(m->name, ("limify_" + GetParam()).c_str());
  EXPECT_STREQ(m->version, "0.1.0");
  ASSERT_EQ(m->n_algorithms, 1u);
  EXPECT_STREQ(m->algorithms[0]->name, GetParam().c_str());
  EXPECT_EQ(m->algorithms[0]->struct_size, sizeof(limify_algorithm));
  EXPECT_EQ(m->n_storages, 0u);
}

TEST_P(PluginAbiTest, ValidateRefusesNonPositiveLimitAndPeriodAndNegativeBurst) {
  const std::string& name = GetParam();
  EXPECT_EQ(Validate(name, MakeSpec(0, kSecond)).message,
            name + ": limit must be a positive number of requests (got 0)");
  EXPECT_EQ(Validate(name, MakeSpec(-3, kSecond)).code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(Validate(name, MakeSpec(10, 0)).message,
            name + ": period must be a positive number of microseconds (got 0)");
  EXPECT_EQ(Validate(name, MakeSpec(10, -kSecond)).code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  const Validation v = Validate(name, MakeSpec(10, kSecond, -1));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_EQ(v.message, name + ": burst must not be negative (got -1); leave it at 0 to default "
                              "it to the limit");
  EXPECT_EQ(Validate(name, MakeSpec(10, kSecond)).code, LIMIFY_PLUGIN_OK);
}

TEST_P(PluginAbiTest, ValidateAcceptsLimitTimesPeriodUpTo2Pow62AndNoMore) {
  const int64_t p = int64_t{1} << 60;
  EXPECT_EQ(Validate(GetParam(), MakeSpec(4, p)).code, LIMIFY_PLUGIN_OK);
  const Validation v = Validate(GetParam(), MakeSpec(4, p + 1));
  EXPECT_EQ(v.code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  EXPECT_NE(v.message.find("limit × period must stay below 2^62"), std::string::npos)
      << v.message;
  if (IsBucket()) {
    EXPECT_EQ(Validate(GetParam(), MakeSpec(1, p, 4)).code, LIMIFY_PLUGIN_OK);
    EXPECT_EQ(Validate(GetParam(), MakeSpec(1, p, 5)).code, LIMIFY_PLUGIN_INVALID_ARGUMENT);
  }
}

TEST_P(PluginAbiTest, StepRefusesBadArgumentsWithAMessageAndWritesNoState) {
  const limify_limit_spec spec = MakeSpec(3, kSecond);
  std::vector<unsigned char> state(algorithm()->state_size(&spec), 0);
  limify_verdict v{};
  v.struct_size = sizeof v;
  auto step = [&](const limify_limit_spec& s, size_t size, int64_t now, int64_t cost) {
    limify_plugin_error err;
    const int32_t rc = algorithm()->step(&s, state.data(), size, now, cost, 0, &v, &err);
    EXPECT_EQ(rc, LIMIFY_PLUGIN_INVALID_ARGUMENT);
    EXPECT_EQ(err.message.rfind(GetParam(), 0), 0u) << err.message;
    return err.message;
  };
  EXPECT_NE(step(spec, state.size(), 0, 0).find("cost must be at least 1"), std::string::npos);
  EXPECT_NE(step(spec, state.size() - 1, 0, 1).find("bytes, this limit needs"),
            std::string::npos);
  EXPECT_NE(step(spec, state.size(), int64_t{1} << 62, 1).find("outside ±2^62"),
            std::string::npos);
  EXPECT_NE(step(MakeSpec(0, kSecond), state.size(), 0, 1).find("limit must be"),
            std::string::npos);
  EXPECT_NE(step(MakeSpec(int64_t{1} << 40, int64_t{1} << 40), state.size(), 0, 1)
                .find("too large"),
            std::string::npos);
  for (unsigned char b : state) ASSERT_EQ(b, 0);
}

TEST_P(PluginAbiTest, UnalignedStateGivesTheSameVerdictsAndBytes) {
  const limify_limit_spec spec = MakeSpec(4, 1000);
  const size_t size = algorithm()->state_size(&spec);
  std::vector<unsigned char> aligned(size, 0), buffer(size + 1, 0);
  std::mt19937_64 rng(1);
  int64_t now = 0;
  for (int i = 0; i < 200; ++i) {
    now += rng() % 300;
    const int64_t cost = 1 + rng() % 3;
    limify_verdict a{}, u{};
    a.struct_size = u.struct_size = sizeof(limify_verdict);
    limify_plugin_error err;
    ASSERT_EQ(algorithm()->step(&spec, aligned.data(), size, now, cost, 0, &a, &err), 0);
    ASSERT_EQ(algorithm()->step(&spec, buffer.data() + 1, size, now, cost, 0, &u, &err), 0);
    ASSERT_EQ(Summary(a), Summary(u)) << i;
    ASSERT_EQ(0, std::memcmp(aligned.data(), buffer.data() + 1, size)) << i;
  }
}

TEST_P(PluginAbiTest, StepWritesNoVerdictFieldPastTheSizeTheHostDeclared) {
  Key key(GetParam(), MakeSpec(1, kSecond));
  key.Check();
  limify_verdict v;
  std::memset(&v, 0x77, sizeof v);
  v.struct_size = offsetof(limify_verdict, retry_after_us);
  limify_plugin_error err;
  ASSERT_EQ(key.algorithm()->step(&key.spec(), key.state.data(), key.state.size(), 0, 1, 1, &v,
                                  &err),
            LIMIFY_PLUGIN_OK);
  EXPECT_EQ(v.struct_size, offsetof(limify_verdict, retry_after_us));
  EXPECT_EQ(v.allowed, 0u);
  EXPECT_EQ(v.limit, 1);
  EXPECT_EQ(v.remaining, 0);
  EXPECT_EQ(v.retry_after_us, 0x7777777777777777);
}

TEST_P(PluginAbiTest, SpecFromAnOlderHostWithoutBurstReadsBurstAsZero) {
  limify_limit_spec spec = MakeSpec(3, kSecond, 99);
  spec.struct_size = offsetof(limify_limit_spec, burst);
  EXPECT_EQ(algorithm()->validate(&spec, nullptr), LIMIFY_PLUGIN_OK);
  Key key(GetParam(), spec);
  EXPECT_EQ(key.Step(1, false).limit, 3);
  EXPECT_EQ(key.CheckMany(5), 2);
}

TEST_P(PluginAbiTest, FreshZeroStateHasFullCapacityAtAnyTime) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100; ++i) {
    const int64_t limit = 1 + rng() % 50;
    const int64_t now = static_cast<int64_t>(rng() % (int64_t{1} << 62)) - (int64_t{1} << 61);
    Key key(GetParam(), MakeSpec(limit, 1 + rng() % kWeek), now);
    EXPECT_EQ(key.Peek(limit), (V{true, limit, 0, 0})) << "now=" << now;
    EXPECT_EQ(key.Check(limit).allowed, true);
    EXPECT_FALSE(key.Check().allowed);
  }
}

TEST_P(PluginAbiTest, ExtremeTimesAndSpecsGiveNoNegativeOutputs) {
  const int64_t edge = (int64_t{1} << 62) - 1;
  for (const limify_limit_spec& spec :
       {MakeSpec(1, int64_t{1} << 62), MakeSpec(int64_t{1} << 16, int64_t{1} << 46),
        MakeSpec(3, 1)}) {
    Key key(GetParam(), spec);
    for (int64_t now : {-edge, edge, -edge, int64_t{0}, edge, edge, int64_t{-1}}) {
      key.now = now;
      for (int64_t cost : {int64_t{1}, int64_t{2}, std::numeric_limits<int64_t>::max()}) {
        const limify_verdict v = key.Step(cost, false);
        EXPECT_GE(v.remaining, 0);
        EXPECT_GE(v.reset_after_us, 0);
        EXPECT_TRUE(v.retry_after_us >= 0 || v.retry_after_us == kNever);
        EXPECT_EQ(v.allowed != 0, v.retry_after_us == 0);
      }
    }
  }
}

TEST_P(PluginAbiTest, GarbageStateNeverCrashesOrGivesNegativeOutputs) {
  const limify_limit_spec spec = MakeSpec(5, 1000);
  std::mt19937_64 rng(3);
  std::vector<unsigned char> state(algorithm()->state_size(&spec));
  for (int i = 0; i < 2000; ++i) {
    for (unsigned char& b : state) b = static_cast<unsigned char>(rng());
    const limify_verdict v =
        StepOnce(algorithm(), spec, state, static_cast<int64_t>(rng() % 100000) - 50000,
                 1 + rng() % 6, rng() % 2);
    ASSERT_GE(v.remaining, 0);
    ASSERT_LE(v.remaining, 5);
    ASSERT_GE(v.reset_after_us, 0);
    ASSERT_TRUE(v.retry_after_us >= 0 || v.retry_after_us == kNever);
  }
}

INSTANTIATE_TEST_SUITE_P(All, PluginAbiTest, ::testing::ValuesIn(AllAlgorithms()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace limify::testing
