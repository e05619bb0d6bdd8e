// See status_mapping.h.
#include "capi/status_mapping.h"

#include <string_view>

#include "capi/error_reporting.h"
#include "engine/plugin_error.h"

namespace limify::capi {

// A plugin's code reaches the host as the engine's status and the caller as
// the same number (plugin.h promises it).
static_assert(LIMIFY_PLUGIN_INVALID_ARGUMENT == LIMIFY_INVALID_ARGUMENT);
static_assert(LIMIFY_PLUGIN_UNAVAILABLE == LIMIFY_STORAGE_ERROR);
static_assert(LIMIFY_PLUGIN_TIMEOUT == LIMIFY_TIMEOUT);
static_assert(LIMIFY_PLUGIN_INTERNAL == LIMIFY_INTERNAL);

limify_status StatusCode(const absl::Status& status, StatusContext context) {
  // A plugin refused at load time is a FailedPrecondition with a marker.
  if (IsPluginLoadError(status)) return LIMIFY_PLUGIN_ERROR;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return LIMIFY_OK;
    case absl::StatusCode::kInvalidArgument:
      return context == StatusContext::kConfig ? LIMIFY_CONFIG_ERROR : LIMIFY_INVALID_ARGUMENT;
    case absl::StatusCode::kUnavailable:
      return LIMIFY_STORAGE_ERROR;
    case absl::StatusCode::kDeadlineExceeded:
      return LIMIFY_TIMEOUT;
    case absl::StatusCode::kNotFound:
      return LIMIFY_NOT_FOUND;
    case absl::StatusCode::kFailedPrecondition:
      return LIMIFY_FAILED_PRECONDITION;
    default:
      return LIMIFY_INTERNAL;
  }
}

limify_status ReportStatus(limify_error* err, const absl::Status& status,
                           StatusContext context) noexcept {
  if (status.ok()) {
    ClearError(err);
    return LIMIFY_OK;
  }
  const absl::string_view text = status.message();
  const std::string_view message(text.data(), text.size());
  return SetError(err, StatusCode(status, context), {message});
}

}  // namespace limify::capi
