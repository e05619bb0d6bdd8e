// limify_set_plan_provider: the host's C provider as the engine's
// PlanProvider, and the thread-local record that hands the provider the
// host's own request struct.
#include "capi/plan_provider.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "capi/api_guard.h"
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"
#include "capi/status_mapping.h"

namespace limify::capi {
namespace {

thread_local const ScopedHostRequest* current_request = nullptr;

// A request the provider can read when no host struct was recorded (a
// check the C layer did not start): NUL-terminated copies of the fields.
struct RebuiltRequest {
  explicit RebuiltRequest(const Request& r)
      : method(r.method), path(r.path), user_id(r.user_id), org_id(r.org_id),
        api_key(r.api_key), client_ip(r.client_ip), plan(r.plan) {
    limify_request_init(&c);
    c.method = Field(method);
    c.path = Field(path);
    c.user_id = Field(user_id);
    c.org_id = Field(org_id);
    c.api_key = Field(api_key);
    c.client_ip = Field(client_ip);
    c.plan = Field(plan);
    c.cost = r.cost;
  }
  static const char* Field(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

  std::string method, path, user_id, org_id, api_key, client_ip, plan;
  limify_request c;
};

// Calls the host's provider; "" for no plan. What it wrote counts only if
// it returned non-zero and NUL-terminated it within LIMIFY_ID_MAX + 1 bytes.
std::string AskHost(limify_plan_provider_fn fn, void* ctx, const Request& request,
                    std::string_view rule_id) {
  char rule[LIMIFY_ID_MAX + 1];
  const size_t n = rule_id.size() < LIMIFY_ID_MAX ? rule_id.size() : LIMIFY_ID_MAX;
  std::memcpy(rule, rule_id.data(), n);
  rule[n] = '\0';

  char plan[LIMIFY_ID_MAX + 1] = {};
  int32_t found;
  if (const limify_request* host = ScopedHostRequest::Find(request); host != nullptr) {
    found = fn(ctx, host, rule, plan);
  } else {
    RebuiltRequest rebuilt(request);
    found = fn(ctx, &rebuilt.c, rule, plan);
  }
  if (found == 0) return {};
  const void* end = std::memchr(plan, '\0', sizeof(plan));
  if (end == nullptr) return {};  // unterminated, or longer than an id may be
  return std::string(plan, static_cast<const char*>(end) - plan);
}

limify_status SetPlanProvider(limify_engine* engine, limify_plan_provider_fn fn, void* ctx,
                              limify_error* err) {
  constexpr std::string_view kFunction = "limify_set_plan_provider";
  if (engine == nullptr) return NullArgument(err, kFunction, "engine");
  if (InsideHookOf(engine)) {
    return SetError(err, LIMIFY_FAILED_PRECONDITION,
                    {kFunction, ": must not be called from inside this engine's hooks"});
  }
  PlanProvider provider;
  if (fn != nullptr) {
    provider = [fn, ctx](const Request& request, std::string_view rule_id) {
      return AskHost(fn, ctx, request, rule_id);
    };
  }
  return ReportStatus(err, engine->engine->SetPlanProvider(std::move(provider)),
                      StatusContext::kCall);
}

}  // namespace

ScopedHostRequest::ScopedHostRequest(const Request& request, const limify_request* host)
    : requests_(&request), host_(host), hosts_(&host_), n_(1), outer_(current_request) {
  current_request = this;
}

ScopedHostRequest::ScopedHostRequest(const Request* requests, const limify_request* const* hosts,
                                     size_t n)
    : requests_(requests), host_(nullptr), hosts_(hosts), n_(n), outer_(current_request) {
  current_request = this;
}

ScopedHostRequest::~ScopedHostRequest() { current_request = outer_; }

const limify_request* ScopedHostRequest::Find(const Request& request) {
  for (const ScopedHostRequest* s = current_request; s != nullptr; s = s->outer_) {
    // By address: `request` is one of the recorded array's elements
    // (compared as integers: unrelated pointers have no order in C++).
    const auto at = reinterpret_cast<uintptr_t>(&request);
    const auto begin = reinterpret_cast<uintptr_t>(s->requests_);
    if (at >= begin && at - begin < s->n_ * sizeof(Request)) {
      return s->hosts_[(at - begin) / sizeof(Request)];
    }
  }
  return nullptr;
}

}  // namespace limify::capi

extern "C" LIMIFY_EXPORT limify_status limify_set_plan_provider(limify_engine* engine,
                                                                limify_plan_provider_fn fn,
                                                                void* ctx, limify_error* err) {
  return limify::capi::Guard(err, "limify_set_plan_provider", [&] {
    return limify::capi::SetPlanProvider(engine, fn, ctx, err);
  });
}
