// Engines: limify_engine_new, _new_from_file, _reload, _free, and the manual
// clock.
#include <memory>
#include <string>
#include <utility>

#include "capi/api_guard.h"
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"
#include "capi/status_mapping.h"

namespace limify::capi {
namespace {

// Wraps a newly created engine in its handle. The error listener is
// installed once, here, and forwards to whatever hooks are current.
limify_status Adopt(absl::StatusOr<std::unique_ptr<Engine>> engine, limify_engine** out,
                    limify_error* err) {
  if (!engine.ok()) return ReportStatus(err, engine.status(), StatusContext::kConfig);
  auto handle = std::make_unique<limify_engine>();
  handle->engine = *std::move(engine);
  if (absl::Status s = InstallErrorListener(handle.get()); !s.ok()) {
    return ReportStatus(err, s, StatusContext::kCall);
  }
  *out = handle.release();
  return LIMIFY_OK;
}

// The common checks of the clock functions.
template <typename Move>
limify_status MoveClock(limify_engine* engine, std::string_view function, limify_error* err,
                        Move move) {
  return Guard(err, function, [&]() -> limify_status {
    if (engine == nullptr) return NullArgument(err, function, "engine");
    return ReportStatus(err, move(*engine->engine), StatusContext::kCall);
  });
}

}  // namespace
}  // namespace limify::capi

using limify::capi::Guard;
using limify::capi::NullArgument;
using limify::capi::ReportStatus;
using limify::capi::SetError;
using limify::capi::StatusContext;

extern "C" {

LIMIFY_EXPORT limify_status limify_engine_new(const char* config_json, limify_engine** out,
                                              limify_error* err) {
  constexpr std::string_view kFunction = "limify_engine_new";
  if (out != nullptr) *out = nullptr;
  return Guard(err, kFunction, [&]() -> limify_status {
    if (config_json == nullptr) return NullArgument(err, kFunction, "config_json");
    if (out == nullptr) return NullArgument(err, kFunction, "out");
    return limify::capi::Adopt(limify::Engine::Create(config_json), out, err);
  });
}

LIMIFY_EXPORT limify_status limify_engine_new_from_file(const char* path, limify_engine** out,
                                                        limify_error* err) {
  constexpr std::string_view kFunction = "limify_engine_new_from_file";
  if (out != nullptr) *out = nullptr;
  return Guard(err, kFunction, [&]() -> limify_status {
    if (path == nullptr) return NullArgument(err, kFunction, "path");
    if (out == nullptr) return NullArgument(err, kFunction, "out");
    return limify::capi::Adopt(limify::Engine::CreateFromFile(path), out, err);
  });
}

LIMIFY_EXPORT limify_status limify_engine_reload(limify_engine* engine, const char* config_json,
                                                 limify_error* err) {
  constexpr std::string_view kFunction = "limify_engine_reload";
  return Guard(err, kFunction, [&]() -> limify_status {
    if (engine == nullptr) return NullArgument(err, kFunction, "engine");
    if (config_json == nullptr) return NullArgument(err, kFunction, "config_json");
    if (limify::capi::InsideHookOf(engine)) {
      return SetError(err, LIMIFY_FAILED_PRECONDITION,
                      {kFunction, ": must not be called from inside this engine's hooks"});
    }
    return ReportStatus(err, engine->engine->Reload(config_json), StatusContext::kConfig);
  });
}

LIMIFY_EXPORT void limify_engine_free(limify_engine* engine) {
  try {
    delete engine;
  } catch (...) {
    // Destructors do not throw; nothing may escape regardless.
  }
}

LIMIFY_EXPORT limify_status limify_clock_set(limify_engine* engine, int64_t now_us,
                                             limify_error* err) {
  return limify::capi::MoveClock(engine, "limify_clock_set", err,
                                 [now_us](limify::Engine& e) { return e.SetClock(now_us); });
}

LIMIFY_EXPORT limify_status limify_clock_advance(limify_engine* engine, int64_t delta_us,
                                                 limify_error* err) {
  return limify::capi::MoveClock(engine, "limify_clock_advance", err, [delta_us](limify::Engine& e) {
    return e.AdvanceClock(delta_us);
  });
}

}  // extern "C"
