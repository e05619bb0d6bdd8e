// See hook_dispatch.h.
#include "capi/hook_dispatch.h"

#include "capi/engine_handle.h"
#include "capi/error_reporting.h"
#include "capi/status_mapping.h"
#include "capi/struct_conversion.h"

namespace limify::capi {
namespace {

// The engines whose hooks this thread is running, innermost first (a hook
// may call into another engine, or check through its own).
struct HookFrame {
  const limify_engine* engine;
  const HookFrame* outer;
};
thread_local const HookFrame* running_hooks = nullptr;

class ScopedHookFrame {
 public:
  explicit ScopedHookFrame(const limify_engine* engine) : frame_{engine, running_hooks} {
    running_hooks = &frame_;
  }
  ~ScopedHookFrame() { running_hooks = frame_.outer; }
  ScopedHookFrame(const ScopedHookFrame&) = delete;
  ScopedHookFrame& operator=(const ScopedHookFrame&) = delete;

 private:
  HookFrame frame_;
};

}  // namespace

bool InsideHookOf(const limify_engine* engine) {
  for (const HookFrame* f = running_hooks; f != nullptr; f = f->outer) {
    if (f->engine == engine) return true;
  }
  return false;
}

void NotifyDecision(limify_engine* engine, int32_t operation, const limify_request* request,
                    const Decision& decision) noexcept {
  ReadMostly<limify_installed_hooks>::Pin installed(engine->hooks);
  const limify_hooks& hooks = installed->hooks;
  if (hooks.on_decision == nullptr) return;
  limify_decision copy;
  FullDecision(decision, &copy);
  ScopedHookFrame frame(engine);
  try {
    hooks.on_decision(hooks.ctx, operation, request, &copy);
  } catch (...) {
    // A hook's failure never changes a decision, nor escapes the call.
  }
}

void NotifyError(limify_engine* engine, const limify_error& error) noexcept {
  ReadMostly<limify_installed_hooks>::Pin installed(engine->hooks);
  const limify_hooks& hooks = installed->hooks;
  if (hooks.on_error == nullptr) return;
  ScopedHookFrame frame(engine);
  try {
    hooks.on_error(hooks.ctx, &error);
  } catch (...) {
  }
}

void NotifyStatus(limify_engine* engine, const absl::Status& status) noexcept {
  if (status.ok()) return;
  limify_error error;
  ReportStatus(&error, status, StatusContext::kCall);
  NotifyError(engine, error);
}

}  // namespace limify::capi
