// The one place an absl::Status becomes a limify_status (and a message in
// the caller's limify_error).
#ifndef LIMIFY_CAPI_STATUS_MAPPING_H_
#define LIMIFY_CAPI_STATUS_MAPPING_H_

#include "absl/status/status.h"
#include "limify/limify.h"

namespace limify::capi {

// What an InvalidArgument from the engine means: a bad argument of the call,
// or (creating or reloading an engine) a bad configuration.
enum class StatusContext { kCall, kConfig };

// InvalidArgument -> INVALID_ARGUMENT (kCall) or CONFIG_ERROR (kConfig);
// a plugin that cannot be loaded -> PLUGIN_ERROR; Unavailable ->
// STORAGE_ERROR; DeadlineExceeded -> TIMEOUT; NotFound -> NOT_FOUND;
// FailedPrecondition -> FAILED_PRECONDITION; anything else -> INTERNAL.
limify_status StatusCode(const absl::Status& status, StatusContext context);

// Clears `err` when `status` is OK, else fills it with the mapped code and
// the status's message. Returns the code.
limify_status ReportStatus(limify_error* err, const absl::Status& status,
                           StatusContext context) noexcept;

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_STATUS_MAPPING_H_
