// The buffer contract of limify_stats and limify_list_plugins: *needed gets
// the size of the text with its NUL; a buffer smaller than that is
// LIMIFY_BUFFER_TOO_SMALL and is left alone; buf may be NULL only with len 0.
#ifndef LIMIFY_CAPI_OUTPUT_BUFFER_H_
#define LIMIFY_CAPI_OUTPUT_BUFFER_H_

#include <cstddef>
#include <string_view>

#include "limify/limify.h"

namespace limify::capi {

// The argument checks, before the text is made: `buf` NULL with len > 0, or
// `needed` NULL, is LIMIFY_INVALID_ARGUMENT naming `function`.
limify_status CheckOutputArguments(const char* buf, size_t len, const size_t* needed,
                                   std::string_view function, limify_error* err);

// Copies `text` and its NUL into buf, or reports how much is needed.
limify_status CopyOut(std::string_view text, char* buf, size_t len, size_t* needed,
                      std::string_view function, limify_error* err);

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_OUTPUT_BUFFER_H_
