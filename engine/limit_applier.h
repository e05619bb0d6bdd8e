// The host's half of the generic storage path: runs a rule's algorithm over
// the states of its limits, all-or-nothing. Every limit is first asked
// without consuming; only when all allow (and this is a check, not a peek)
// is each one consumed. A storage calls this through limify_storage_op.apply
// while it holds the keys atomically.
#ifndef LIMIFY_ENGINE_LIMIT_APPLIER_H_
#define LIMIFY_ENGINE_LIMIT_APPLIER_H_

#include <cstddef>
#include <cstdint>

#include "limify/plugin.h"

namespace limify {

// The apply_ctx of a storage op.
struct LimitApplication {
  const limify_algorithm* algorithm;
  const limify_limit_spec* specs;  // n limits
  const size_t* state_sizes;
  size_t n;
  int64_t cost;
  bool peek;
  // Out: the code of the last apply call when it failed (the algorithm's or
  // the host's own failure), LIMIFY_PLUGIN_OK otherwise. Lets the engine
  // tell an algorithm's error from the storage's when execute fails.
  int32_t apply_failure = LIMIFY_PLUGIN_OK;
};

// limify_storage_op.apply for a LimitApplication.
// noexcept: plugins, possibly written in C, call it.
int32_t ApplyLimits(void* ctx, void* const* states, int64_t now_us, int* write_back,
                    int64_t* ttl_us, limify_verdict* out, limify_plugin_error* err) noexcept;

// One verdict for a rule from the verdicts of its limits. Denied: the denied
// limit that takes longest to allow binds (never beats any wait). Allowed:
// the limit with the least remaining binds. reset_after is the longest.
// Returns the index of the binding limit.
size_t CombineVerdicts(const limify_verdict* verdicts, size_t n, limify_verdict* out);

}  // namespace limify

#endif  // LIMIFY_ENGINE_LIMIT_APPLIER_H_
