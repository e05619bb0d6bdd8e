// Declarations of shim.c, for the Go files' cgo preambles.
#ifndef LIMIFY_GO_SHIM_H_
#define LIMIFY_GO_SHIM_H_

#include <stdint.h>

#include <limify/limify.h>

#define GO_OP_CHECK 0
#define GO_OP_PEEK 1
#define GO_OP_RESET 2

limify_status go_decide(int32_t op, limify_engine* engine, const char* buf,
                        int32_t method, int32_t path, int32_t user_id,
                        int32_t org_id, int32_t api_key, int32_t client_ip,
                        int32_t plan, int64_t cost, limify_decision* decision,
                        limify_error* err);
limify_status go_set_hooks(limify_engine* engine, uintptr_t handle, int32_t decisions,
                           int32_t errors, limify_error* err);
limify_status go_set_plan_provider(limify_engine* engine, uintptr_t handle,
                                   limify_error* err);

#endif  // LIMIFY_GO_SHIM_H_
