// Between the C structs of limify.h and the engine's own, honouring
// `struct_size`: the library reads only the prefix of a struct the caller
// declared and writes only the prefix it declared, so structs can grow at
// the end without breaking programs built against an older header.
#ifndef LIMIFY_CAPI_STRUCT_CONVERSION_H_
#define LIMIFY_CAPI_STRUCT_CONVERSION_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/engine.h"
#include "limify/limify.h"

namespace limify::capi {

// True when the member of `type` lies wholly inside the first `size` bytes.
#define LIMIFY_CAPI_HAS_FIELD(type, field, size) \
  (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field) <= (size))

// The smallest struct_size accepted: a request must reach `path`, a decision
// `allowed`, hooks `on_decision`. Anything smaller is not an initialised
// struct of any version.
inline constexpr uint32_t kMinRequestSize =
    offsetof(limify_request, path) + sizeof(const char*);
inline constexpr uint32_t kMinDecisionSize = offsetof(limify_decision, allowed) + sizeof(int32_t);
inline constexpr uint32_t kMinHooksSize =
    offsetof(limify_hooks, on_decision) + sizeof(limify_hooks::on_decision);

// A struct_size this large is not a struct of any version: most likely the
// struct was never initialised.
inline constexpr uint32_t kMaxStructSize = 1u << 16;

// Checks `request` (non-NULL) and converts the prefix it declares into
// `out`, whose views borrow the caller's strings. Absent fields are empty;
// cost 0 (or a cost beyond the declared size) is 1. On a bad struct_size,
// a non-zero `reserved` or a negative cost, fills `err` naming `function`
// and returns LIMIFY_INVALID_ARGUMENT.
limify_status ReadRequest(const limify_request* request, std::string_view function,
                          std::string_view argument, Request* out, limify_error* err);

// Checks that `decision` (non-NULL) declares a usable struct_size.
limify_status CheckDecisionSize(const limify_decision* decision, std::string_view function,
                                std::string_view argument, limify_error* err);

// Writes `in` into the prefix of `out` its struct_size declares (checked
// by CheckDecisionSize). struct_size itself is left as the caller set it.
void WriteDecision(const Decision& in, limify_decision* out);

// The whole decision, as the hooks see it (struct_size = sizeof).
void FullDecision(const Decision& in, limify_decision* out);

// The decision left behind by a call that failed: not allowed, so a host
// that reads only `allowed` does not let the request through.
Decision DeniedDecision();

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_STRUCT_CONVERSION_H_
