// The C half of the binding: what cgo cannot express in Go.
//
// - go_decide builds a limify_request on the C stack from one Go byte buffer
//   holding every field NUL-terminated (offsets, -1 for absent), so a check
//   passes no Go pointer to memory that itself holds Go pointers (cgo's rule)
//   and allocates nothing in C.
// - go_set_hooks / go_set_plan_provider point the engine at the exported Go
//   callbacks; the cgo.Handle of the Go functions travels as the ctx pointer.
#include <stdint.h>

#include "_cgo_export.h"
#include "shim.h"

static const char* field(const char* buf, int32_t off) {
  return off < 0 ? NULL : buf + off;
}

limify_status go_decide(int32_t op, limify_engine* engine, const char* buf,
                        int32_t method, int32_t path, int32_t user_id,
                        int32_t org_id, int32_t api_key, int32_t client_ip,
                        int32_t plan, int64_t cost, limify_decision* decision,
                        limify_error* err) {
  limify_request r = LIMIFY_REQUEST_INIT;
  r.method = field(buf, method);
  r.path = field(buf, path);
  r.user_id = field(buf, user_id);
  r.org_id = field(buf, org_id);
  r.api_key = field(buf, api_key);
  r.client_ip = field(buf, client_ip);
  r.plan = field(buf, plan);
  r.cost = cost;
  switch (op) {
    case GO_OP_CHECK:
      return limify_check(engine, &r, decision, err);
    case GO_OP_PEEK:
      return limify_peek(engine, &r, decision, err);
    default:
      return limify_reset(engine, &r, err);
  }
}

static void on_decision(void* ctx, int32_t operation, const limify_request* request,
                        const limify_decision* decision) {
  goOnDecision((uintptr_t)ctx, operation, (limify_request*)request,
               (limify_decision*)decision);
}

static void on_error(void* ctx, const limify_error* error) {
  goOnError((uintptr_t)ctx, (limify_error*)error);
}

limify_status go_set_hooks(limify_engine* engine, uintptr_t handle, int32_t decisions,
                           int32_t errors, limify_error* err) {
  limify_hooks hooks;
  limify_hooks_init(&hooks);
  hooks.ctx = (void*)handle;
  hooks.on_decision = decisions ? on_decision : NULL;
  hooks.on_error = errors ? on_error : NULL;
  return limify_set_hooks(engine, &hooks, err);
}

static int32_t plan_provider(void* ctx, const limify_request* request, const char* rule_id,
                             char plan_out[LIMIFY_ID_MAX + 1]) {
  return goPlanProvider((uintptr_t)ctx, (limify_request*)request, (char*)rule_id, plan_out);
}

limify_status go_set_plan_provider(limify_engine* engine, uintptr_t handle,
                                   limify_error* err) {
  return limify_set_plan_provider(engine, handle ? plan_provider : NULL, (void*)handle, err);
}
