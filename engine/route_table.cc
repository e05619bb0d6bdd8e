// The route table as a segment trie, matched like an NFA: one pass over the
// request's segments carrying the set of trie nodes that match the prefix so
// far. A backtracking matcher would be exponential in the number of "**" in
// a pattern on a hostile path; the state set keeps it linear in the path.
#include "engine/route_table.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"

namespace limify {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

// Calls f(segment) for each non-empty "/"-separated segment of `path`, after
// dropping the query string. Views into `path`: nothing is copied.
template <typename F>
void ForEachSegment(std::string_view path, F&& f) {
  path = path.substr(0, path.find('?'));
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    if (end > i) f(path.substr(i, end - i));
    i = end + 1;
  }
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

absl::Status CheckPathPattern(std::string_view pattern) {
  if (pattern.empty()) {
    return absl::InvalidArgumentError(
        "empty pattern (use \"/\" for the root or \"/**\" for every path)");
  }
  if (pattern.find('?') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "\"?\" is not allowed in a pattern (the query string is not part of the path)");
  }
  absl::Status status;
  ForEachSegment(pattern, [&status](std::string_view seg) {
    if (status.ok() && seg != "*" && seg != "**" && seg.find('*') != std::string_view::npos) {
      status = absl::InvalidArgumentError(
          "partial-segment glob \"" + absl::CEscape(absl::string_view(seg.data(), seg.size())) +
          "\" (use \"*\" or \"**\" as a whole segment)");
    }
  });
  return status;
}

struct RouteTable::Impl {
  struct Entry {
    int index;
    int64_t priority;
    std::vector<std::string> methods;  // empty = any
  };
  struct Node {
    absl::flat_hash_map<std::string, uint32_t> literal;
    uint32_t star = kNone;
    uint32_t globstar = kNone;
    bool is_globstar = false;    // reached through "**": may consume more segments
    std::vector<Entry> entries;  // rules ending here, best first
  };
  // Nodes by index (nodes[0] is the root): no pointer chasing through
  // unique_ptrs, and no recursion to destroy a deep trie.
  std::vector<Node> nodes;

  // A set of node indices; inline so that matching does not allocate.
  using StateSet = absl::InlinedVector<uint32_t, 32>;

  // Adds `n` and, since "**" also matches zero segments, its "**" child.
  void AddState(StateSet& set, uint32_t n) const {
    while (n != kNone) {
      if (std::find(set.begin(), set.end(), n) != set.end()) return;
      set.push_back(n);
      n = nodes[n].globstar;
    }
  }

  uint32_t Child(uint32_t parent, std::string_view seg) {
    uint32_t existing = kNone;
    if (seg == "**") {
      existing = nodes[parent].globstar;
    } else if (seg == "*") {
      existing = nodes[parent].star;
    } else if (auto it = nodes[parent].literal.find(absl::string_view(seg.data(), seg.size()));
               it != nodes[parent].literal.end()) {
      existing = it->second;
    }
    if (existing != kNone) return existing;
    const auto child = static_cast<uint32_t>(nodes.size());
    nodes.emplace_back();  // invalidates references into `nodes`: index only
    if (seg == "**") {
      nodes[child].is_globstar = true;
      nodes[parent].globstar = child;
    } else if (seg == "*") {
      nodes[parent].star = child;
    } else {
      nodes[parent].literal.emplace(std::string(seg), child);
    }
    return child;
  }
};

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<RuleConfig>& rules) {
  auto impl = std::make_unique<Impl>();
  impl->nodes.emplace_back();
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleConfig& rule = rules[i];
    if (absl::Status s = CheckPathPattern(rule.path); !s.ok()) {
      const std::string where =
          rule.json_path.empty() ? "rules[" + std::to_string(i) + "]" : rule.json_path;
      return absl::InvalidArgumentError(where + ".path: " + std::string(s.message()));
    }
    uint32_t node = 0;
    ForEachSegment(rule.path, [&](std::string_view seg) {
      // "**/**" means the same as "**"; one node keeps the state set small.
      if (seg == "**" && impl->nodes[node].is_globstar) return;
      node = impl->Child(node, seg);
    });
    impl->nodes[node].entries.push_back(
        Impl::Entry{static_cast<int>(i), rule.priority, rule.methods});
  }
  for (Impl::Node& n : impl->nodes) {
    // Entries were added in declaration order; stable keeps it among equals.
    std::stable_sort(n.entries.begin(), n.entries.end(),
                     [](const Impl::Entry& a, const Impl::Entry& b) {
                       return a.priority > b.priority;
                     });
  }
  return RouteTable(std::move(impl));
}

RouteTable::RouteTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;
RouteTable::~RouteTable() = default;

int RouteTable::Match(std::string_view method, std::string_view path) const {
  const Impl& t = *impl_;
  Impl::StateSet current, next;
  t.AddState(current, 0);
  ForEachSegment(path, [&](std::string_view seg) {
    next.clear();
    for (uint32_t n : current) {
      const Impl::Node& node = t.nodes[n];
      if (auto it = node.literal.find(absl::string_view(seg.data(), seg.size()));
          it != node.literal.end()) {
        t.AddState(next, it->second);
      }
      if (node.star != kNone) t.AddState(next, node.star);
      if (node.is_globstar) t.AddState(next, n);
    }
    current.swap(next);
  });

  // Each node's entries are best first, so its first method match is its
  // candidate; across nodes, higher priority then earlier declaration wins.
  int best = -1;
  int64_t best_priority = 0;
  for (uint32_t n : current) {
    for (const Impl::Entry& e : t.nodes[n].entries) {
      bool method_ok = e.methods.empty();
      for (const std::string& m : e.methods) method_ok = method_ok || EqualsIgnoreAsciiCase(m, method);
      if (!method_ok) continue;
      if (best == -1 || e.priority > best_priority ||
          (e.priority == best_priority && e.index < best)) {
        best = e.index;
        best_priority = e.priority;
      }
      break;
    }
  }
  return best;
}

}  // namespace limify
