// Calling the host's hooks: after each decision, and for each error a call
// meets. A hook sees a copy of the decision (it cannot change it), and
// whatever it throws stays here.
#ifndef LIMIFY_CAPI_HOOK_DISPATCH_H_
#define LIMIFY_CAPI_HOOK_DISPATCH_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/engine.h"
#include "limify/limify.h"

namespace limify::capi {

// on_decision, with the host's own request (NULL for check_key).
void NotifyDecision(limify_engine* engine, int32_t operation, const limify_request* request,
                    const Decision& decision) noexcept;

// on_error with a code and message already mapped.
void NotifyError(limify_engine* engine, const limify_error& error) noexcept;

// on_error for an engine status (an InvalidArgument is an argument error).
void NotifyStatus(limify_engine* engine, const absl::Status& status) noexcept;

// Feeds the engine's errors to the handle's on_error hook, whichever hooks
// are current: installed once, when the handle is created.
absl::Status InstallErrorListener(limify_engine* engine);

// Whether this thread is inside one of `engine`'s hooks right now: calls
// that would wait for the hooks to finish refuse to run from there.
bool InsideHookOf(const limify_engine* engine);

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_HOOK_DISPATCH_H_
