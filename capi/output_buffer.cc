// See output_buffer.h.
#include "capi/output_buffer.h"

#include <cstring>
#include <string>

#include "capi/api_guard.h"

namespace limify::capi {

limify_status CheckOutputArguments(const char* buf, size_t len, const size_t* needed,
                                   std::string_view function, limify_error* err) {
  if (needed == nullptr) return NullArgument(err, function, "needed");
  if (buf == nullptr && len > 0) {
    return SetError(err, LIMIFY_INVALID_ARGUMENT,
                    {function, ": buf is NULL but len is not 0"});
  }
  return LIMIFY_OK;
}

limify_status CopyOut(std::string_view text, char* buf, size_t len, size_t* needed,
                      std::string_view function, limify_error* err) {
  *needed = text.size() + 1;
  if (len < *needed) {
    const std::string have = std::to_string(len);
    const std::string want = std::to_string(*needed);
    return SetError(err, LIMIFY_BUFFER_TOO_SMALL,
                    {function, ": the buffer holds ", have, " bytes, the text needs ", want});
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return LIMIFY_OK;
}

}  // namespace limify::capi
