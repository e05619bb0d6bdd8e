// limify_hooks_init and limify_set_hooks: installing the observers the C
// layer calls (hook_dispatch.cc).
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "capi/api_guard.h"
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"
#include "capi/struct_conversion.h"

namespace limify::capi {
namespace {

limify_status SetHooks(limify_engine* engine, const limify_hooks* hooks, limify_error* err) {
  constexpr std::string_view kFunction = "limify_set_hooks";
  if (engine == nullptr) return NullArgument(err, kFunction, "engine");
  if (InsideHookOf(engine)) {
    // Replacing waits for running hooks to finish: this one never would.
    return SetError(err, LIMIFY_FAILED_PRECONDITION,
                    {kFunction, ": must not be called from inside this engine's hooks"});
  }
  auto next = std::make_unique<limify_installed_hooks>();
  if (hooks != nullptr) {
    const uint32_t size = hooks->struct_size;
    if (size < kMinHooksSize || size > kMaxStructSize) {
      const std::string got = std::to_string(size);
      const std::string want = std::to_string(kMinHooksSize);
      return SetError(err, LIMIFY_INVALID_ARGUMENT,
                      {kFunction, ": hooks->struct_size is ", got, " (expected at least ", want,
                       "; initialise it with limify_hooks_init())"});
    }
    if (hooks->reserved != 0) {
      return SetError(err, LIMIFY_INVALID_ARGUMENT, {kFunction, ": hooks->reserved must be zero"});
    }
    limify_hooks& h = next->hooks;
    h.struct_size = sizeof(h);
    h.ctx = hooks->ctx;
    h.on_decision = hooks->on_decision;
    if (LIMIFY_CAPI_HAS_FIELD(limify_hooks, on_error, size)) h.on_error = hooks->on_error;
  }
  // Returns once no call to the previous hooks is running.
  engine->hooks.Replace(std::move(next));
  return LIMIFY_OK;
}

}  // namespace
}  // namespace limify::capi

extern "C" {

LIMIFY_EXPORT void limify_hooks_init(limify_hooks* hooks) {
  if (hooks == nullptr) return;
  std::memset(hooks, 0, sizeof(*hooks));
  hooks->struct_size = sizeof(*hooks);
}

LIMIFY_EXPORT limify_status limify_set_hooks(limify_engine* engine, const limify_hooks* hooks,
                                             limify_error* err) {
  return limify::capi::Guard(err, "limify_set_hooks", [&] {
    return limify::capi::SetHooks(engine, hooks, err);
  });
}

}  // extern "C"
