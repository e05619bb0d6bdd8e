// Filling the caller's limify_error: a code and a message copied into its
// fixed buffer, truncated on a UTF-8 character boundary and always
// NUL-terminated. Never allocates, never throws: it is what the exception
// guards themselves call.
#ifndef LIMIFY_CAPI_ERROR_REPORTING_H_
#define LIMIFY_CAPI_ERROR_REPORTING_H_

#include <initializer_list>
#include <string_view>

#include "limify/limify.h"

namespace limify::capi {

// Success: code LIMIFY_OK and an empty message. NULL is allowed.
void ClearError(limify_error* err) noexcept;

// Stores `code` and the concatenation of `parts` in `err` (NULL is allowed)
// and returns `code`, so that callers can `return SetError(...)`.
limify_status SetError(limify_error* err, limify_status code,
                       std::initializer_list<std::string_view> parts) noexcept;

// Writes the concatenation of `parts` into buf[0, size) the same way:
// truncated on a character boundary, NUL-terminated. size must be > 0.
void WriteMessage(char* buf, size_t size, std::initializer_list<std::string_view> parts) noexcept;

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_ERROR_REPORTING_H_
