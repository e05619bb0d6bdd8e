// The compiled route table: finds the rule for (method, path) at a cost that
// does not grow with the number of rules.
//
// Semantics (SEEDS.md, without the Python limify's fault):
//  - method: "*" (empty list) or one of the rule's methods, case-insensitive;
//  - path: the query string ("?...") is dropped, leading/trailing and repeated
//    "/" are ignored, segments are compared case-sensitively; "*" matches
//    exactly one segment, "**" zero or more, anywhere in the pattern; no
//    partial-segment globs ("a*b" is a config error). A pattern's literal
//    segments must all match: "/api/**/health" matches "/api/health" and
//    "/api/v1/x/health", never "/api".
//  - the highest priority wins; ties go to the rule declared first.
#ifndef LIMIFY_ENGINE_ROUTE_TABLE_H_
#define LIMIFY_ENGINE_ROUTE_TABLE_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/config.h"

namespace limify {

// Checks one path pattern on its own (the config parser calls it so a bad
// pattern is reported at load, before any table is built). The message has
// no JSON path; callers prefix it.
absl::Status CheckPathPattern(std::string_view pattern);

class RouteTable {
 public:
  // Compiles `rules` (declaration order). Errors name the rule's path field,
  // e.g. `rules[1].path: partial-segment glob "v*" (use "*" or "**" as a
  // whole segment)`.
  static absl::StatusOr<RouteTable> Build(const std::vector<RuleConfig>& rules);

  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;
  ~RouteTable();

  // Index into the rules given to Build of the winning rule, or -1.
  // Allocates nothing (unless more than 32 pattern prefixes match the same
  // path prefix at once, which takes a pathological table).
  int Match(std::string_view method, std::string_view path) const;

 private:
  struct Impl;
  explicit RouteTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_ROUTE_TABLE_H_
