// Versions, status names and the struct initialisers.
#include <cstring>
#include <string_view>

#include "limify/limify.h"

// The header's version macros must agree with the project's version.
static_assert(LIMIFY_VERSION_MAJOR * 1000000 + LIMIFY_VERSION_MINOR * 1000 + LIMIFY_VERSION_PATCH ==
                  LIMIFY_VERSION_NUMBER,
              "LIMIFY_VERSION_NUMBER disagrees with MAJOR/MINOR/PATCH");
#ifdef LIMIFY_PROJECT_VERSION
static_assert(std::string_view(LIMIFY_VERSION) == LIMIFY_PROJECT_VERSION,
              "limify.h's LIMIFY_VERSION disagrees with the project version in CMakeLists.txt");
#endif

extern "C" {

LIMIFY_EXPORT const char* limify_version(void) { return LIMIFY_VERSION; }

LIMIFY_EXPORT int32_t limify_version_number(void) { return LIMIFY_VERSION_NUMBER; }

LIMIFY_EXPORT const char* limify_status_name(limify_status status) {
  switch (status) {
    case LIMIFY_OK: return "ok";
    case LIMIFY_INVALID_ARGUMENT: return "invalid_argument";
    case LIMIFY_CONFIG_ERROR: return "config_error";
    case LIMIFY_PLUGIN_ERROR: return "plugin_error";
    case LIMIFY_STORAGE_ERROR: return "storage_error";
    case LIMIFY_TIMEOUT: return "timeout";
    case LIMIFY_NOT_FOUND: return "not_found";
    case LIMIFY_INTERNAL: return "internal";
    case LIMIFY_BUFFER_TOO_SMALL: return "buffer_too_small";
    case LIMIFY_FAILED_PRECONDITION: return "failed_precondition";
  }
  return "unknown";
}

LIMIFY_EXPORT void limify_request_init(limify_request* request) {
  if (request == nullptr) return;
  std::memset(request, 0, sizeof(*request));
  request->struct_size = sizeof(*request);
}

LIMIFY_EXPORT void limify_decision_init(limify_decision* decision) {
  if (decision == nullptr) return;
  std::memset(decision, 0, sizeof(*decision));
  decision->struct_size = sizeof(*decision);
}

}  // extern "C"
