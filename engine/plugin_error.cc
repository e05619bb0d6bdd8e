#include "engine/plugin_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace limify {
namespace {

// Called from plugin code, possibly C: nothing may unwind out of it.
void SetError(limify_plugin_error* err, int32_t code, const char* message) noexcept {
  if (err == nullptr) return;
  err->code = code;
  try {
    err->message = message != nullptr ? message : "";
  } catch (...) {
    err->message.clear();  // out of memory: the code alone must do
  }
}

constexpr limify_host_api kHostApi = {
    sizeof(limify_host_api), LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    &SetError};

absl::StatusCode ToStatusCode(int32_t code) {
  switch (code) {
    case LIMIFY_PLUGIN_INVALID_ARGUMENT:
      return absl::StatusCode::kInvalidArgument;
    case LIMIFY_PLUGIN_UNAVAILABLE:
      return absl::StatusCode::kUnavailable;
    case LIMIFY_PLUGIN_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

const limify_host_api* HostApi() { return &kHostApi; }

absl::Status PluginStatus(int32_t code, const limify_plugin_error& err,
                          std::string_view context) {
  if (code == LIMIFY_PLUGIN_OK) return absl::OkStatus();
  std::string_view message =
      err.message.empty() ? std::string_view("failed without a message")
                          : std::string_view(err.message);
  return absl::Status(ToStatusCode(code), absl::StrCat(AbslView(context), ": ", AbslView(message)));
}

absl::Status PluginLoadError(std::string_view message) {
  absl::Status status = absl::FailedPreconditionError(AbslView(message));
  status.SetPayload(AbslView(kPluginLoadErrorUrl), absl::Cord("1"));
  return status;
}

bool IsPluginLoadError(const absl::Status& status) {
  return !status.ok() && status.GetPayload(AbslView(kPluginLoadErrorUrl)).has_value();
}

absl::Status WithMessagePrefix(const absl::Status& status, std::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(AbslView(prefix), status.message()));
  status.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace limify
