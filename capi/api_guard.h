// The boundary every exported function runs behind: no exception crosses
// it, and a successful call clears the caller's error.
#ifndef LIMIFY_CAPI_API_GUARD_H_
#define LIMIFY_CAPI_API_GUARD_H_

#include <exception>
#include <new>
#include <string_view>

#include "capi/error_reporting.h"
#include "limify/limify.h"

namespace limify::capi {

// Runs `body` (which returns a limify_status and fills `err` itself when it
// fails). On LIMIFY_OK clears `err`; an exception becomes LIMIFY_INTERNAL
// with a message naming `function`.
template <typename Body>
limify_status Guard(limify_error* err, std::string_view function, Body&& body) noexcept {
  try {
    const limify_status status = body();
    if (status == LIMIFY_OK) ClearError(err);
    return status;
  } catch (const std::bad_alloc&) {
    return SetError(err, LIMIFY_INTERNAL, {function, ": out of memory"});
  } catch (const std::exception& e) {
    return SetError(err, LIMIFY_INTERNAL, {function, ": unexpected exception: ", e.what()});
  } catch (...) {
    return SetError(err, LIMIFY_INTERNAL, {function, ": unexpected exception"});
  }
}

// A NULL required argument: LIMIFY_INVALID_ARGUMENT naming the function and
// the argument ("limify_check: request is NULL").
inline limify_status NullArgument(limify_error* err, std::string_view function,
                                  std::string_view argument) noexcept {
  return SetError(err, LIMIFY_INVALID_ARGUMENT, {function, ": ", argument, " is NULL"});
}

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_API_GUARD_H_
