// The route table: glob semantics from SEEDS.md (without the Python
// limify's "/api/**/health matches /api" fault), methods, priorities, and a
// large table checked against a brute-force reference matcher.
#include "engine/route_table.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace limify {
namespace {

struct R {
  std::string path;
  std::vector<std::string> methods = {};
  int64_t priority = 0;
};

RouteTable Table(const std::vector<R>& specs) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i < specs.size(); ++i) {
    RuleConfig rule;
    rule.id = "r" + std::to_string(i);
    rule.path = specs[i].path;
    rule.methods = specs[i].methods;
    rule.priority = specs[i].priority;
    rule.json_path = "rules[" + std::to_string(i) + "]";
    rules.push_back(rule);
  }
  absl::StatusOr<RouteTable> t = RouteTable::Build(rules);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

// Does a single pattern match the path (any method)?
bool Matches(std::string_view pattern, std::string_view path) {
  return Table({{std::string(pattern)}}).Match("GET", path) == 0;
}

std::string BuildError(const std::vector<R>& specs) {
  std::vector<RuleConfig> rules;
  for (const R& s : specs) {
    RuleConfig rule;
    rule.path = s.path;
    rules.push_back(rule);
  }
  absl::StatusOr<RouteTable> t = RouteTable::Build(rules);
  EXPECT_FALSE(t.ok());
  return t.ok() ? "" : std::string(t.status().message());
}

TEST(RouteTable, StarMatchesExactlyOneSegment) {
  EXPECT_TRUE(Matches("/users/*", "/users/42"));
  EXPECT_FALSE(Matches("/users/*", "/users"));
  EXPECT_FALSE(Matches("/users/*", "/users/42/posts"));
  EXPECT_TRUE(Matches("/users/*/posts", "/users/42/posts"));
  EXPECT_FALSE(Matches("/users/*/posts", "/users/posts"));
  EXPECT_TRUE(Matches("/*", "/anything"));
  EXPECT_FALSE(Matches("/*", "/"));
}

TEST(RouteTable, DoubleStarAtTheEndMatchesZeroOrMoreSegments) {
  EXPECT_TRUE(Matches("/api/**", "/api"));
  EXPECT_TRUE(Matches("/api/**", "/api/v1"));
  EXPECT_TRUE(Matches("/api/**", "/api/v1/users/42"));
  EXPECT_FALSE(Matches("/api/**", "/apix/v1"));
  EXPECT_FALSE(Matches("/api/**", "/apix"));
  EXPECT_FALSE(Matches("/api/**", "/"));
  EXPECT_TRUE(Matches("/**", "/"));
  EXPECT_TRUE(Matches("/**", "/a/b/c"));
}

TEST(RouteTable, DoubleStarInTheMiddleMatchesZeroOrMoreSegments) {
  EXPECT_TRUE(Matches("/api/**/health", "/api/health"));
  EXPECT_TRUE(Matches("/api/**/health", "/api/v1/health"));
  EXPECT_TRUE(Matches("/api/**/health", "/api/v1/x/health"));
  EXPECT_FALSE(Matches("/api/**/health", "/api/v1/x/healthz"));
  EXPECT_FALSE(Matches("/api/**/health", "/api/health/x"));
  EXPECT_TRUE(Matches("/**/health", "/health"));
  EXPECT_TRUE(Matches("/**/health", "/a/b/health"));
  EXPECT_TRUE(Matches("/a/**/b/**/c", "/a/b/c"));
  EXPECT_TRUE(Matches("/a/**/b/**/c", "/a/x/b/y/z/c"));
  EXPECT_FALSE(Matches("/a/**/b/**/c", "/a/x/c"));
  EXPECT_TRUE(Matches("/a/**/**/b", "/a/b"));
  EXPECT_TRUE(Matches("/a/**/*/b", "/a/x/b"));
  EXPECT_FALSE(Matches("/a/**/*/b", "/a/b"));
}

// The Python limify's fault: its "**" let the pattern's literal suffix go
// unmatched, so "/api/**/health" limited every request to "/api".
TEST(RouteTable, ALiteralSuffixAfterDoubleStarMustMatch) {
  EXPECT_FALSE(Matches("/api/**/health", "/api"));
  EXPECT_FALSE(Matches("/api/**/health", "/api/"));
  EXPECT_FALSE(Matches("/api/**/health", "/api/v1"));
}

TEST(RouteTable, SegmentsAreCaseSensitive) {
  EXPECT_TRUE(Matches("/Items", "/Items"));
  EXPECT_FALSE(Matches("/Items", "/items"));
  EXPECT_FALSE(Matches("/items/**", "/ITEMS/1"));
}

TEST(RouteTable, SlashesAreNormalised) {
  EXPECT_TRUE(Matches("/a/b", "a/b"));
  EXPECT_TRUE(Matches("/a/b", "/a/b/"));
  EXPECT_TRUE(Matches("/a/b", "//a///b//"));
  EXPECT_TRUE(Matches("a/b/", "/a/b"));
  EXPECT_TRUE(Matches("//a//b", "/a/b"));
  EXPECT_TRUE(Matches("/", "/"));
  EXPECT_TRUE(Matches("/", ""));
  EXPECT_TRUE(Matches("/", "///"));
  EXPECT_FALSE(Matches("/", "/a"));
}

TEST(RouteTable, TheQueryStringIsDropped) {
  EXPECT_TRUE(Matches("/search", "/search?q=1"));
  EXPECT_TRUE(Matches("/search", "/search/?q=a/b/c"));
  EXPECT_TRUE(Matches("/", "/?x=1"));
  EXPECT_FALSE(Matches("/search/*", "/search?q=1"));
  EXPECT_TRUE(Matches("/a/**", "/a?b/c"));
}

// The path is matched as given: limify cannot know how the host's router
// resolves "." and ".." segments or %-escapes, so the host passes the path
// its router matched (README, SECURITY.md). Decoding here again would let
// "/api/%252e%252e/admin", routed to /api, count against /admin's rule.
TEST(RouteTable, DotSegmentsAndEscapesAreMatchedAsGiven) {
  const RouteTable t = Table({{"/admin/**"}, {"/api/**"}});
  EXPECT_EQ(t.Match("GET", "/api/../admin/users"), 1);
  EXPECT_EQ(t.Match("GET", "/./admin"), -1);
  EXPECT_EQ(t.Match("GET", "/%61dmin/users"), -1);
  EXPECT_EQ(t.Match("GET", "/api/%2e%2e/admin"), 1);
  EXPECT_TRUE(Matches("/a/../b", "/a/../b"));
}

TEST(RouteTable, MethodsAreComparedCaseInsensitively) {
  const RouteTable t = Table({{"/x", {"GET"}}});
  EXPECT_EQ(t.Match("GET", "/x"), 0);
  EXPECT_EQ(t.Match("get", "/x"), 0);
  EXPECT_EQ(t.Match("Get", "/x"), 0);
  EXPECT_EQ(t.Match("POST", "/x"), -1);
  EXPECT_EQ(t.Match("GETS", "/x"), -1);
  EXPECT_EQ(t.Match("", "/x"), -1);
}

TEST(RouteTable, AMethodListMatchesAnyOfItsMethods) {
  const RouteTable t = Table({{"/x", {"GET", "HEAD"}}, {"/x", {"POST", "PUT"}}, {"/x"}});
  EXPECT_EQ(t.Match("GET", "/x"), 0);
  EXPECT_EQ(t.Match("head", "/x"), 0);
  EXPECT_EQ(t.Match("POST", "/x"), 1);
  EXPECT_EQ(t.Match("put", "/x"), 1);
  EXPECT_EQ(t.Match("DELETE", "/x"), 2);  // empty list = any method
}

TEST(RouteTable, HighestPriorityWins) {
  const RouteTable t = Table({{"/api/**", {}, 1}, {"/api/users/*", {}, 5}, {"/**", {}, 10}});
  EXPECT_EQ(t.Match("GET", "/api/users/1"), 2);
  const RouteTable u = Table({{"/api/**", {}, 1}, {"/api/users/*", {}, 5}, {"/**", {}, -1}});
  EXPECT_EQ(u.Match("GET", "/api/users/1"), 1);
  EXPECT_EQ(u.Match("GET", "/api/orders"), 0);
  EXPECT_EQ(u.Match("GET", "/other"), 2);
}

TEST(RouteTable, TiesGoToTheRuleDeclaredFirstEvenAcrossBranches) {
  // Same terminal node.
  EXPECT_EQ(Table({{"/a"}, {"/a"}}).Match("GET", "/a"), 0);
  // Different trie branches: literal, star and globstar all match.
  EXPECT_EQ(Table({{"/**"}, {"/*/b"}, {"/a/b"}}).Match("GET", "/a/b"), 0);
  EXPECT_EQ(Table({{"/a/b"}, {"/*/b"}, {"/**"}}).Match("GET", "/a/b"), 0);
  EXPECT_EQ(Table({{"/*/b"}, {"/a/b"}, {"/**"}}).Match("GET", "/a/b"), 0);
  EXPECT_EQ(Table({{"/x"}, {"/a/**", {}, 3}, {"/*/b", {}, 3}}).Match("GET", "/a/b"), 1);
  EXPECT_EQ(Table({{"/x"}, {"/*/b", {}, 3}, {"/a/**", {}, 3}}).Match("GET", "/a/b"), 1);
}

TEST(RouteTable, AMethodMismatchFallsThroughToTheNextRule) {
  const RouteTable t = Table({{"/a", {"POST"}, 9}, {"/a", {}, 1}, {"/**", {"GET"}, 5}});
  EXPECT_EQ(t.Match("POST", "/a"), 0);
  EXPECT_EQ(t.Match("GET", "/a"), 2);
  EXPECT_EQ(t.Match("DELETE", "/a"), 1);
}

TEST(RouteTable, NoMatchIsMinusOne) {
  EXPECT_EQ(Table({}).Match("GET", "/"), -1);
  EXPECT_EQ(Table({{"/a"}, {"/b/*"}}).Match("GET", "/c"), -1);
  EXPECT_EQ(Table({{"/a"}, {"/b/*"}}).Match("GET", "/b"), -1);
}

TEST(RouteTable, PartialSegmentGlobsAreConfigErrors) {
  EXPECT_EQ(BuildError({{"/ok"}, {"/api/v*"}}),
            "rules[1].path: partial-segment glob \"v*\" (use \"*\" or \"**\" as a whole segment)");
  EXPECT_EQ(BuildError({{"/a**b"}}),
            "rules[0].path: partial-segment glob \"a**b\" (use \"*\" or \"**\" as a whole segment)");
  EXPECT_EQ(BuildError({{"/***"}}),
            "rules[0].path: partial-segment glob \"***\" (use \"*\" or \"**\" as a whole segment)");
  EXPECT_EQ(BuildError({{"/a?b"}}),
            "rules[0].path: \"?\" is not allowed in a pattern (the query string is not part of "
            "the path)");
  EXPECT_EQ(BuildError({{""}}),
            "rules[0].path: empty pattern (use \"/\" for the root or \"/**\" for every path)");
}

TEST(RouteTable, CheckPathPatternNeedsNoPathPrefix) {
  EXPECT_TRUE(CheckPathPattern("/a/*/**/b").ok());
  EXPECT_EQ(std::string(CheckPathPattern("/x*").message()),
            "partial-segment glob \"x*\" (use \"*\" or \"**\" as a whole segment)");
}

TEST(RouteTable, SurvivesAMove) {
  RouteTable t = Table({{"/a"}});
  RouteTable moved = std::move(t);
  EXPECT_EQ(moved.Match("GET", "/a"), 0);
  RouteTable other = Table({{"/b"}});
  other = std::move(moved);
  EXPECT_EQ(other.Match("GET", "/a"), 0);
}

TEST(RouteTable, ManyDoubleStarsStayFastOnAHostilePath) {
  // A backtracking matcher takes C(200, 6) steps here; the table must not.
  const RouteTable t = Table({{"/**/a/**/a/**/a/**/a/**/a/**/b"}});
  std::string path;
  for (int i = 0; i < 200; ++i) path += "/a";
  EXPECT_EQ(t.Match("GET", path), -1);
  EXPECT_EQ(t.Match("GET", path + "/b"), 0);
}

// The reference: a direct recursive reading of the semantics.
bool RefGlob(const std::vector<std::string>& pat, size_t i, const std::vector<std::string>& seg,
             size_t j) {
  if (i == pat.size()) return j == seg.size();
  if (pat[i] == "**") {
    for (size_t k = j; k <= seg.size(); ++k) {
      if (RefGlob(pat, i + 1, seg, k)) return true;
    }
    return false;
  }
  if (j == seg.size()) return false;
  return (pat[i] == "*" || pat[i] == seg[j]) && RefGlob(pat, i + 1, seg, j + 1);
}

std::vector<std::string> Segments(std::string_view path) {
  path = path.substr(0, path.find('?'));
  std::vector<std::string> out;
  for (absl::string_view s :
       absl::StrSplit(absl::string_view(path.data(), path.size()), '/', absl::SkipEmpty())) {
    out.emplace_back(s);
  }
  return out;
}

// Linear scan over every rule, patterns split once.
class Reference {
 public:
  explicit Reference(const std::vector<R>& rules) : rules_(rules) {
    for (const R& r : rules) patterns_.push_back(Segments(r.path));
  }
  int Match(std::string_view method, std::string_view path) const {
    const std::vector<std::string> seg = Segments(path);
    int best = -1;
    for (size_t i = 0; i < rules_.size(); ++i) {
      bool method_ok = rules_[i].methods.empty();
      for (const std::string& m : rules_[i].methods) {
        method_ok =
            method_ok || absl::EqualsIgnoreCase(m, absl::string_view(method.data(), method.size()));
      }
      if (!method_ok || !RefGlob(patterns_[i], 0, seg, 0)) continue;
      if (best == -1 || rules_[i].priority > rules_[best].priority) best = static_cast<int>(i);
    }
    return best;
  }

 private:
  const std::vector<R>& rules_;
  std::vector<std::vector<std::string>> patterns_;
};

TEST(RouteTable, TenThousandRulesMatchLikeTheReference) {
  std::mt19937 rng(12345);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> words = {"api", "v1", "v2", "users", "items", "orders",
                                          "health", "admin", "search", "x"};
  const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE"};
  std::vector<R> rules;
  for (int i = 0; i < 10'000; ++i) {
    R r;
    const int n = 1 + pick(4);
    for (int s = 0; s < n; ++s) {
      const int kind = pick(10);
      r.path += "/";
      r.path += kind == 0 ? "*" : kind == 1 ? "**" : kind < 5 ? words[pick(words.size())]
                                                               : "w" + std::to_string(pick(3000));
    }
    if (pick(3) == 0) r.methods = {methods[pick(4)]};
    if (pick(4) == 0) r.methods = {methods[pick(4)], methods[pick(4)]};
    r.priority = pick(5);
    rules.push_back(r);
  }
  const RouteTable t = Table(rules);
  const Reference ref(rules);
  int matched = 0;
  for (int q = 0; q < 500; ++q) {
    std::string path;
    const int n = pick(6);
    for (int s = 0; s < n; ++s) {
      path += "/";
      path += pick(3) == 0 ? "w" + std::to_string(pick(3000)) : words[pick(words.size())];
    }
    const std::string& method = methods[pick(4)];
    const int want = ref.Match(method, path);
    ASSERT_EQ(t.Match(method, path), want) << method << " " << path;
    matched += want >= 0;
  }
  EXPECT_GT(matched, 100);  // the comparison covered real matches, not just misses
  // Specific rules deep in the table are still found.
  const int last = static_cast<int>(rules.size()) - 1;
  rules[last] = R{"/unique/route/*", {}, 100};
  const RouteTable t2 = Table(rules);
  EXPECT_EQ(t2.Match("GET", "/unique/route/7"), last);
}

}  // namespace
}  // namespace limify
