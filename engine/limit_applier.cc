#include "engine/limit_applier.h"

#include <cstring>
#include <memory>
#include <new>

#include "engine/plugin_error.h"
#include "engine/storage_keys.h"

namespace limify {
namespace {

// Does a denied verdict `a` make the caller wait longer than `b`?
bool WaitsLonger(const limify_verdict& a, const limify_verdict& b) {
  if (a.retry_after_us == LIMIFY_RETRY_NEVER) return b.retry_after_us != LIMIFY_RETRY_NEVER;
  if (b.retry_after_us == LIMIFY_RETRY_NEVER) return false;
  return a.retry_after_us > b.retry_after_us;
}

// An algorithm's own failure is never a storage failure: whatever code it
// returns, the engine must not apply the failure policy to it.
int32_t Step(const LimitApplication& app, size_t i, void* state, int64_t now_us,
             bool peek, limify_verdict* v, limify_plugin_error* err) {
  *v = limify_verdict{};
  v->struct_size = sizeof(limify_verdict);
  const int32_t rc = app.algorithm->step(&app.specs[i], state, app.state_sizes[i], now_us,
                                         app.cost, peek ? 1 : 0, v, err);
  return rc == LIMIFY_PLUGIN_OK ? rc : LIMIFY_PLUGIN_INTERNAL;
}

// Consumes every limit on copies of the states and writes them back only if
// all succeed, so a limit failing halfway leaves every state as it was.
int32_t ConsumeAll(const LimitApplication& app, void* const* states, int64_t now_us,
                   limify_verdict* verdicts, int64_t* ttl_us, limify_plugin_error* err) {
  size_t total = 0;
  for (size_t i = 0; i < app.n; ++i) total += app.state_sizes[i];
  unsigned char small[512];
  std::unique_ptr<unsigned char[]> large;  // only for big states (sliding_window)
  unsigned char* scratch = small;
  if (total > sizeof(small)) {
    large.reset(new (std::nothrow) unsigned char[total]);
    if (large == nullptr) {
      HostApi()->set_error(err, LIMIFY_PLUGIN_INTERNAL, "out of memory");
      return LIMIFY_PLUGIN_INTERNAL;
    }
    scratch = large.get();
  }
  unsigned char* copy = scratch;
  for (size_t i = 0; i < app.n; ++i) {
    std::memcpy(copy, states[i], app.state_sizes[i]);
    int32_t rc = Step(app, i, copy, now_us, /*peek=*/false, &verdicts[i], err);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
    if (!verdicts[i].allowed) {
      HostApi()->set_error(err, LIMIFY_PLUGIN_INTERNAL,
                           "the algorithm refused to consume what it had just allowed");
      return LIMIFY_PLUGIN_INTERNAL;
    }
    ttl_us[i] = verdicts[i].reset_after_us;
    copy += app.state_sizes[i];
  }
  copy = scratch;
  for (size_t i = 0; i < app.n; ++i) {
    std::memcpy(states[i], copy, app.state_sizes[i]);
    copy += app.state_sizes[i];
  }
  return LIMIFY_PLUGIN_OK;
}

}  // namespace

size_t CombineVerdicts(const limify_verdict* verdicts, size_t n, limify_verdict* out) {
  bool all_allowed = true;
  for (size_t i = 0; i < n; ++i) all_allowed = all_allowed && verdicts[i].allowed;
  size_t binding = n;
  int64_t reset_after = 0;
  for (size_t i = 0; i < n; ++i) {
    const limify_verdict& v = verdicts[i];
    if (v.reset_after_us > reset_after) reset_after = v.reset_after_us;
    if (all_allowed) {
      if (binding == n || v.remaining < verdicts[binding].remaining) binding = i;
    } else if (!v.allowed && (binding == n || WaitsLonger(v, verdicts[binding]))) {
      binding = i;
    }
  }
  *out = verdicts[binding];
  out->binding_limit = static_cast<uint32_t>(binding);
  out->allowed = all_allowed ? 1 : 0;
  out->reset_after_us = reset_after;
  return binding;
}

namespace {

int32_t Apply(const LimitApplication& app, void* const* states, int64_t now_us,
              int* write_back, int64_t* ttl_us, limify_verdict* out,
              limify_plugin_error* err) {
  limify_verdict verdicts[kMaxLimitsPerRule];
  *write_back = 0;

  // One limit: a single step decides and consumes (the algorithm writes the
  // state only when it allows).
  if (app.n == 1) {
    int32_t rc = Step(app, 0, states[0], now_us, app.peek, &verdicts[0], err);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
    *write_back = verdicts[0].allowed && !app.peek;
    ttl_us[0] = verdicts[0].reset_after_us;
    *out = verdicts[0];
    return LIMIFY_PLUGIN_OK;
  }

  // Several: ask every limit first; consume only if all allow.
  bool all_allowed = true;
  for (size_t i = 0; i < app.n; ++i) {
    int32_t rc = Step(app, i, states[i], now_us, /*peek=*/true, &verdicts[i], err);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
    all_allowed = all_allowed && verdicts[i].allowed;
  }
  if (all_allowed && !app.peek) {
    int32_t rc = ConsumeAll(app, states, now_us, verdicts, ttl_us, err);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
    *write_back = 1;
  }
  CombineVerdicts(verdicts, app.n, out);
  return LIMIFY_PLUGIN_OK;
}

}  // namespace

int32_t ApplyLimits(void* ctx, void* const* states, int64_t now_us, int* write_back,
                    int64_t* ttl_us, limify_verdict* out, limify_plugin_error* err) noexcept {
  LimitApplication& app = *static_cast<LimitApplication*>(ctx);
  const int32_t rc = Apply(app, states, now_us, write_back, ttl_us, out, err);
  app.apply_failure = rc;
  return rc;
}

}  // namespace limify
