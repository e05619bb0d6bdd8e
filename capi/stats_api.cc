// limify_stats: the engine's metrics as JSON or Prometheus text.
#include <string>

#include "capi/api_guard.h"
#include "capi/engine_handle.h"
#include "capi/output_buffer.h"
#include "capi/status_mapping.h"

namespace limify::capi {
namespace {

limify_status Stats(limify_engine* engine, int32_t format, char* buf, size_t len, size_t* needed,
                    limify_error* err) {
  constexpr std::string_view kFunction = "limify_stats";
  if (engine == nullptr) return NullArgument(err, kFunction, "engine");
  if (limify_status s = CheckOutputArguments(buf, len, needed, kFunction, err); s != LIMIFY_OK) {
    return s;
  }
  StatsFormat which;
  switch (format) {
    case LIMIFY_STATS_JSON: which = StatsFormat::kJson; break;
    case LIMIFY_STATS_PROMETHEUS: which = StatsFormat::kPrometheus; break;
    default: {
      const std::string got = std::to_string(format);
      return SetError(err, LIMIFY_INVALID_ARGUMENT,
                      {kFunction, ": unknown format ", got,
                       " (expected LIMIFY_STATS_JSON or LIMIFY_STATS_PROMETHEUS)"});
    }
  }
  absl::StatusOr<std::string> text = engine->engine->Stats(which);
  if (!text.ok()) return ReportStatus(err, text.status(), StatusContext::kCall);
  return CopyOut(*text, buf, len, needed, kFunction, err);
}

}  // namespace
}  // namespace limify::capi

extern "C" LIMIFY_EXPORT limify_status limify_stats(limify_engine* engine, int32_t format,
                                                    char* buf, size_t len, size_t* needed,
                                                    limify_error* err) {
  return limify::capi::Guard(err, "limify_stats", [&] {
    return limify::capi::Stats(engine, format, buf, len, needed, err);
  });
}
