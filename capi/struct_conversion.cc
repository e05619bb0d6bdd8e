// See struct_conversion.h.
#include "capi/struct_conversion.h"

#include <cstring>
#include <string>

#include "capi/error_reporting.h"

namespace limify::capi {
namespace {

limify_status BadStructSize(uint32_t size, uint32_t min, std::string_view function,
                            std::string_view argument, std::string_view init, limify_error* err) {
  if (size >= min && size <= kMaxStructSize) return LIMIFY_OK;
  const std::string got = std::to_string(size);
  const std::string want = std::to_string(min);
  return SetError(err, LIMIFY_INVALID_ARGUMENT,
                  {function, ": ", argument, "->struct_size is ", got, " (expected at least ",
                   want, "; initialise it with ", init, ")"});
}

std::string_view View(const char* s) { return s == nullptr ? std::string_view() : s; }

}  // namespace

limify_status ReadRequest(const limify_request* request, std::string_view function,
                          std::string_view argument, Request* out, limify_error* err) {
  const uint32_t size = request->struct_size;
  if (limify_status s = BadStructSize(size, kMinRequestSize, function, argument,
                                      "limify_request_init()", err);
      s != LIMIFY_OK) {
    return s;
  }
  if (request->reserved != 0) {
    return SetError(err, LIMIFY_INVALID_ARGUMENT,
                    {function, ": ", argument, "->reserved must be zero"});
  }
  *out = Request{};
  out->method = View(request->method);
  out->path = View(request->path);
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, user_id, size)) out->user_id = View(request->user_id);
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, org_id, size)) out->org_id = View(request->org_id);
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, api_key, size)) out->api_key = View(request->api_key);
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, client_ip, size)) {
    out->client_ip = View(request->client_ip);
  }
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, plan, size)) out->plan = View(request->plan);
  out->cost = 1;
  if (LIMIFY_CAPI_HAS_FIELD(limify_request, cost, size)) {
    if (request->cost < 0) {
      const std::string got = std::to_string(request->cost);
      return SetError(err, LIMIFY_INVALID_ARGUMENT,
                      {function, ": ", argument, "->cost must not be negative (got ", got, ")"});
    }
    if (request->cost > 0) out->cost = request->cost;
  }
  return LIMIFY_OK;
}

limify_status CheckDecisionSize(const limify_decision* decision, std::string_view function,
                                std::string_view argument, limify_error* err) {
  return BadStructSize(decision->struct_size, kMinDecisionSize, function, argument,
                       "limify_decision_init()", err);
}

namespace {

// Writes each field of `in` that lies wholly inside out's first `size` bytes.
void WritePrefix(const Decision& in, limify_decision* out, uint32_t size) {
#define LIMIFY_CAPI_SET(field, value) \
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, field, size)) out->field = (value)
  LIMIFY_CAPI_SET(allowed, in.allowed ? 1 : 0);
  LIMIFY_CAPI_SET(matched, in.matched ? 1 : 0);
  LIMIFY_CAPI_SET(degraded, in.degraded ? 1 : 0);
  LIMIFY_CAPI_SET(limit, in.limit);
  LIMIFY_CAPI_SET(remaining, in.remaining);
  LIMIFY_CAPI_SET(reset_after_us, in.reset_after_us);
  LIMIFY_CAPI_SET(retry_after_us, in.retry_after_us);
  LIMIFY_CAPI_SET(period_us, in.period_us);
#undef LIMIFY_CAPI_SET
  // Ids are at most 64 characters (DecisionId), so they fit with their NUL.
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, rule_id, size)) {
    std::memcpy(out->rule_id, in.rule_id.c_str(), in.rule_id.view().size() + 1);
  }
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, plan_id, size)) {
    std::memcpy(out->plan_id, in.plan_id.c_str(), in.plan_id.view().size() + 1);
  }
}

}  // namespace

void WriteDecision(const Decision& in, limify_decision* out) {
  WritePrefix(in, out, out->struct_size);
}

void FullDecision(const Decision& in, limify_decision* out) {
  std::memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(*out);
  WritePrefix(in, out, sizeof(*out));
}

Decision DeniedDecision() {
  Decision d;
  d.allowed = false;
  d.limit = kUnlimited;
  d.remaining = 0;
  return d;
}

}  // namespace limify::capi
