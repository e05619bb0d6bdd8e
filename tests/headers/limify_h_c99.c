/* Compiled by ctest with -std=c99 -Wall -Wextra -pedantic -Werror: limify.h
 * must be plain C99 with standard headers only. Also pins the layout of the
 * public structs on LP64 (the ABI of liblimify.so.0): a change here breaks
 * every program built against the old header. */
#include "limify/limify.h"

#include <stddef.h>

/* C99 has no _Static_assert: a negative array size fails to compile. */
#define LIMIFY_LAYOUT(name, cond) typedef char limify_layout_##name[(cond) ? 1 : -1]

#if defined(__LP64__)
LIMIFY_LAYOUT(request_size, sizeof(limify_request) == 72);
LIMIFY_LAYOUT(request_path, offsetof(limify_request, path) == 16);
LIMIFY_LAYOUT(request_plan, offsetof(limify_request, plan) == 56);
LIMIFY_LAYOUT(request_cost, offsetof(limify_request, cost) == 64);
LIMIFY_LAYOUT(decision_size, sizeof(limify_decision) == 192);
LIMIFY_LAYOUT(decision_limit, offsetof(limify_decision, limit) == 16);
LIMIFY_LAYOUT(decision_period, offsetof(limify_decision, period_us) == 48);
LIMIFY_LAYOUT(decision_rule_id, offsetof(limify_decision, rule_id) == 56);
LIMIFY_LAYOUT(decision_plan_id, offsetof(limify_decision, plan_id) == 121);
LIMIFY_LAYOUT(hooks_size, sizeof(limify_hooks) == 32);
LIMIFY_LAYOUT(error_size, sizeof(limify_error) == 516);
#endif

static void on_decision(void* ctx, int32_t operation, const limify_request* request,
                        const limify_decision* decision) {
  (void)ctx;
  (void)operation;
  (void)request;
  (void)decision;
}

int main(void) {
  limify_request request = LIMIFY_REQUEST_INIT;
  limify_decision decision = LIMIFY_DECISION_INIT;
  limify_hooks hooks;
  limify_error err;
  limify_plan_provider_fn provider = NULL;
  hooks.on_decision = on_decision;
  err.code = LIMIFY_OK;
  (void)provider;
  (void)hooks;
  return (int)(request.struct_size == 0) + (int)(decision.allowed) + (int)err.code +
         (int)(LIMIFY_UNLIMITED + 1) + (int)(LIMIFY_RETRY_NEVER + 1) +
         (int)(LIMIFY_HEADERS_DEFAULT & 0);
}
