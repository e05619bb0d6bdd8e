/* Prints the size and field offsets of every struct of limify.h and plugin.h,
 * and the value of every constant, as the C compiler sees them; the Rust test
 * tests/layout.rs compares them with limify-sys's declarations. */
#include <stddef.h>
#include <stdio.h>

#include <limify/limify.h>
#include <limify/plugin.h>

#define SIZE(T) printf("size %s %lu\n", #T, (unsigned long)sizeof(T))
#define FIELD(T, f) printf("offset %s.%s %lu\n", #T, #f, (unsigned long)offsetof(T, f))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

int main(void) {
  SIZE(limify_error);
  FIELD(limify_error, code);
  FIELD(limify_error, message);

  SIZE(limify_request);
  FIELD(limify_request, struct_size);
  FIELD(limify_request, reserved);
  FIELD(limify_request, method);
  FIELD(limify_request, path);
  FIELD(limify_request, user_id);
  FIELD(limify_request, org_id);
  FIELD(limify_request, api_key);
  FIELD(limify_request, client_ip);
  FIELD(limify_request, plan);
  FIELD(limify_request, cost);

  SIZE(limify_decision);
  FIELD(limify_decision, struct_size);
  FIELD(limify_decision, allowed);
  FIELD(limify_decision, matched);
  FIELD(limify_decision, degraded);
  FIELD(limify_decision, limit);
  FIELD(limify_decision, remaining);
  FIELD(limify_decision, reset_after_us);
  FIELD(limify_decision, retry_after_us);
  FIELD(limify_decision, period_us);
  FIELD(limify_decision, rule_id);
  FIELD(limify_decision, plan_id);

  SIZE(limify_hooks);
  FIELD(limify_hooks, struct_size);
  FIELD(limify_hooks, reserved);
  FIELD(limify_hooks, ctx);
  FIELD(limify_hooks, on_decision);
  FIELD(limify_hooks, on_error);

  SIZE(limify_host_api);
  FIELD(limify_host_api, struct_size);
  FIELD(limify_host_api, abi_major);
  FIELD(limify_host_api, abi_minor);
  FIELD(limify_host_api, set_error);

  SIZE(limify_limit_spec);
  FIELD(limify_limit_spec, struct_size);
  FIELD(limify_limit_spec, reserved);
  FIELD(limify_limit_spec, limit);
  FIELD(limify_limit_spec, period_us);
  FIELD(limify_limit_spec, burst);

  SIZE(limify_verdict);
  FIELD(limify_verdict, struct_size);
  FIELD(limify_verdict, allowed);
  FIELD(limify_verdict, limit);
  FIELD(limify_verdict, remaining);
  FIELD(limify_verdict, reset_after_us);
  FIELD(limify_verdict, retry_after_us);
  FIELD(limify_verdict, binding_limit);
  FIELD(limify_verdict, reserved2);

  SIZE(limify_algorithm);
  FIELD(limify_algorithm, struct_size);
  FIELD(limify_algorithm, reserved);
  FIELD(limify_algorithm, name);
  FIELD(limify_algorithm, validate);
  FIELD(limify_algorithm, state_size);
  FIELD(limify_algorithm, step);

  SIZE(limify_key);
  FIELD(limify_key, data);
  FIELD(limify_key, size);

  SIZE(limify_storage_env);
  FIELD(limify_storage_env, struct_size);
  FIELD(limify_storage_env, reserved);
  FIELD(limify_storage_env, now_us);
  FIELD(limify_storage_env, clock_ctx);

  SIZE(limify_storage_op);
  FIELD(limify_storage_op, struct_size);
  FIELD(limify_storage_op, mode);
  FIELD(limify_storage_op, n_keys);
  FIELD(limify_storage_op, keys);
  FIELD(limify_storage_op, state_sizes);
  FIELD(limify_storage_op, algorithm);
  FIELD(limify_storage_op, specs);
  FIELD(limify_storage_op, cost);
  FIELD(limify_storage_op, apply);
  FIELD(limify_storage_op, apply_ctx);

  SIZE(limify_storage);
  FIELD(limify_storage, struct_size);
  FIELD(limify_storage, flags);
  FIELD(limify_storage, name);
  FIELD(limify_storage, create);
  FIELD(limify_storage, destroy);
  FIELD(limify_storage, execute);
  FIELD(limify_storage, remove);
  FIELD(limify_storage, key_count);
  FIELD(limify_storage, execute_batch);

  SIZE(limify_plugin_manifest);
  FIELD(limify_plugin_manifest, magic);
  FIELD(limify_plugin_manifest, abi_major);
  FIELD(limify_plugin_manifest, abi_minor);
  FIELD(limify_plugin_manifest, struct_size);
  FIELD(limify_plugin_manifest, reserved);
  FIELD(limify_plugin_manifest, name);
  FIELD(limify_plugin_manifest, version);
  FIELD(limify_plugin_manifest, n_algorithms);
  FIELD(limify_plugin_manifest, algorithms);
  FIELD(limify_plugin_manifest, n_storages);
  FIELD(limify_plugin_manifest, storages);

  /* A C enum's size is the compiler's choice: the functions return int32_t. */
  SIZE(limify_plugin_code);

  CONST(LIMIFY_VERSION_NUMBER);
  CONST(LIMIFY_OK);
  CONST(LIMIFY_INVALID_ARGUMENT);
  CONST(LIMIFY_CONFIG_ERROR);
  CONST(LIMIFY_PLUGIN_ERROR);
  CONST(LIMIFY_STORAGE_ERROR);
  CONST(LIMIFY_TIMEOUT);
  CONST(LIMIFY_NOT_FOUND);
  CONST(LIMIFY_INTERNAL);
  CONST(LIMIFY_BUFFER_TOO_SMALL);
  CONST(LIMIFY_FAILED_PRECONDITION);
  CONST(LIMIFY_ERROR_MESSAGE_SIZE);
  CONST(LIMIFY_ID_MAX);
  CONST(LIMIFY_UNLIMITED);
  CONST(LIMIFY_RETRY_NEVER);
  CONST(LIMIFY_HEADERS_X_RATELIMIT);
  CONST(LIMIFY_HEADERS_RETRY_AFTER);
  CONST(LIMIFY_HEADERS_IETF);
  CONST(LIMIFY_HEADERS_DEFAULT);
  CONST(LIMIFY_OPERATION_CHECK);
  CONST(LIMIFY_OPERATION_PEEK);
  CONST(LIMIFY_OPERATION_CHECK_KEY);
  CONST(LIMIFY_STATS_JSON);
  CONST(LIMIFY_STATS_PROMETHEUS);
  CONST(LIMIFY_PLUGIN_MAGIC);
  CONST(LIMIFY_PLUGIN_ABI_MAJOR);
  CONST(LIMIFY_PLUGIN_ABI_MINOR);
  CONST(LIMIFY_PLUGIN_OK);
  CONST(LIMIFY_PLUGIN_INVALID_ARGUMENT);
  CONST(LIMIFY_PLUGIN_UNAVAILABLE);
  CONST(LIMIFY_PLUGIN_TIMEOUT);
  CONST(LIMIFY_PLUGIN_INTERNAL);
  CONST(LIMIFY_MODE_CHECK);
  CONST(LIMIFY_MODE_PEEK);
  CONST(LIMIFY_STORAGE_USES_HOST_CLOCK);
  return 0;
}
