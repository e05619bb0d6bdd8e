// The host's plan provider (a C function and its ctx) as the engine's
// PlanProvider. The provider is handed the host's own limify_request: the
// calls that decide a request record it for the duration of the check.
#ifndef LIMIFY_CAPI_PLAN_PROVIDER_H_
#define LIMIFY_CAPI_PLAN_PROVIDER_H_

#include "engine/engine.h"
#include "limify/limify.h"

namespace limify::capi {

// While alive, a provider asked about `request` is given `host` (the
// struct `request` was read from).
class ScopedHostRequest {
 public:
  ScopedHostRequest(const Request& request, const limify_request* host);
  // A batch: requests[i] was read from hosts[i] (both arrays outlive this).
  ScopedHostRequest(const Request* requests, const limify_request* const* hosts, size_t n);
  ~ScopedHostRequest();
  ScopedHostRequest(const ScopedHostRequest&) = delete;
  ScopedHostRequest& operator=(const ScopedHostRequest&) = delete;

  // The host struct recorded for `request` on this thread, or NULL.
  static const limify_request* Find(const Request& request);

 private:
  const Request* requests_;
  const limify_request* host_;  // the single request's host struct
  const limify_request* const* hosts_;
  size_t n_;
  const ScopedHostRequest* outer_;
};

}  // namespace limify::capi

#endif  // LIMIFY_CAPI_PLAN_PROVIDER_H_
