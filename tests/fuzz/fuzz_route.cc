// The route table on arbitrary patterns and paths, checked against a direct
// backtracking reading of the glob semantics (on inputs small enough for
// it), plus arbitrary paths against a fixed realistic table.
//
// Input: lines. Line 0 is the method, line 1 the path, each further line
// (at most 8) a rule: "[digit]pattern[ METHOD,METHOD]" — the digit is the
// priority, the methods after a space restrict it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/route_table.h"

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t end = s.find(sep, i);
    if (end == std::string_view::npos) end = s.size();
    if (!skip_empty || end > i) out.push_back(s.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

std::vector<std::string_view> Segments(std::string_view path) {
  return Split(path.substr(0, path.find('?')), '/', true);
}

bool Glob(const std::vector<std::string_view>& pat, size_t i,
          const std::vector<std::string_view>& seg, size_t j) {
  if (i == pat.size()) return j == seg.size();
  if (pat[i] == "**") {
    for (size_t k = j; k <= seg.size(); ++k) {
      if (Glob(pat, i + 1, seg, k)) return true;
    }
    return false;
  }
  return j < seg.size() && (pat[i] == "*" || pat[i] == seg[j]) && Glob(pat, i + 1, seg, j + 1);
}

bool SameMethod(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
    if (up(a[i]) != up(b[i])) return false;
  }
  return true;
}

int Reference(const std::vector<limify::RuleConfig>& rules, std::string_view method,
              std::string_view path) {
  const std::vector<std::string_view> seg = Segments(path);
  int best = -1;
  for (size_t i = 0; i < rules.size(); ++i) {
    bool method_ok = rules[i].methods.empty();
    for (const std::string& m : rules[i].methods) method_ok = method_ok || SameMethod(m, method);
    if (!method_ok || !Glob(Segments(rules[i].path), 0, seg, 0)) continue;
    if (best == -1 || rules[i].priority > rules[best].priority) best = static_cast<int>(i);
  }
  return best;
}

const limify::RouteTable& RealisticTable() {
  static const limify::RouteTable* table = [] {
    const char* patterns[] = {"/items/**", "/items/*/reviews", "/api/**/health", "/api/v1/**",
                              "/users/*", "/users/*/orders/*", "/**", "/admin/**",
                              "/search", "/static/**/*.css"};
    std::vector<limify::RuleConfig> rules;
    int i = 0;
    for (const char* p : patterns) {
      limify::RuleConfig r;
      r.path = p;
      r.priority = i % 3;
      if (i % 4 == 1) r.methods = {"GET", "HEAD"};
      rules.push_back(r);
      ++i;
    }
    rules.pop_back();  // "*.css" is a partial-segment glob; keep the table valid
    return new limify::RouteTable(*limify::RouteTable::Build(rules));
  }();
  return *table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  for (std::string_view method : {"GET", "post", ""}) {
    const int m = RealisticTable().Match(method, input);
    if (m < -1 || m >= 9) std::abort();
  }

  const std::vector<std::string_view> lines = Split(input, '\n', false);
  if (lines.size() < 2) return 0;
  std::vector<limify::RuleConfig> rules;
  bool small = Segments(lines[1]).size() <= 8;
  for (size_t i = 2; i < lines.size() && rules.size() < 8; ++i) {
    std::string_view line = lines[i];
    limify::RuleConfig r;
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') {
      r.priority = line[0] - '0';
      line.remove_prefix(1);
    }
    if (size_t sp = line.find(' '); sp != std::string_view::npos) {
      for (std::string_view m : Split(line.substr(sp + 1), ',', true)) r.methods.emplace_back(m);
      line = line.substr(0, sp);
    }
    r.path = std::string(line);
    small = small && Segments(r.path).size() <= 8;
    rules.push_back(std::move(r));
  }
  absl::StatusOr<limify::RouteTable> table = limify::RouteTable::Build(rules);
  bool all_valid = true;
  for (const limify::RuleConfig& r : rules) all_valid = all_valid && limify::CheckPathPattern(r.path).ok();
  if (table.ok() != all_valid) std::abort();  // Build refuses exactly the bad patterns
  if (!table.ok()) return 0;
  const int got = table->Match(lines[0], lines[1]);
  if (got < -1 || got >= static_cast<int>(rules.size())) std::abort();
  if (small && got != Reference(rules, lines[0], lines[1])) std::abort();
  return 0;
}
