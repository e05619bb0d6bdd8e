/* An algorithm that fails on purpose, for the engine's tests: a plain counter
 * (state: int64 count, never reset) except that a limit of 7 always fails
 * with the code a storage uses for "unreachable" (which must not make the
 * engine apply its failure policy) and a limit of 13 fails only when asked
 * to consume. */
#include <stdint.h>
#include <string.h>

#include "limify/plugin.h"

static const limify_host_api* g_host;

static int32_t Validate(const limify_limit_spec* spec, limify_plugin_error* err) {
  (void)spec;
  (void)err;
  return LIMIFY_PLUGIN_OK;
}

static size_t StateSize(const limify_limit_spec* spec) {
  (void)spec;
  return sizeof(int64_t);
}

static int32_t Step(const limify_limit_spec* spec, void* state, size_t state_size,
                    int64_t now_us, int64_t cost, int peek, limify_verdict* out,
                    limify_plugin_error* err) {
  int64_t count;
  (void)state_size;
  (void)now_us;
  if (spec->limit == 7) {
    g_host->set_error(err, LIMIFY_PLUGIN_UNAVAILABLE, "faulty_counter failed on purpose");
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  if (spec->limit == 13 && !peek) {
    g_host->set_error(err, LIMIFY_PLUGIN_INTERNAL, "faulty_counter failed on purpose");
    return LIMIFY_PLUGIN_INTERNAL;
  }
  memcpy(&count, state, sizeof(count));
  out->allowed = count + cost <= spec->limit;
  if (out->allowed && !peek) {
    count += cost;
    memcpy(state, &count, sizeof(count));
  }
  out->limit = spec->limit;
  out->remaining = spec->limit - count;
  out->reset_after_us = count > 0 ? 1000000 : 0;
  out->retry_after_us = out->allowed ? 0 : LIMIFY_RETRY_NEVER;
  return LIMIFY_PLUGIN_OK;
}

static const limify_algorithm kAlgorithm = {sizeof(limify_algorithm), 0, "faulty_counter",
                                            Validate, StateSize, Step};
static const limify_algorithm* const kAlgorithms[] = {&kAlgorithm};
static const limify_plugin_manifest kManifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0, "faulty_counter", "0.1.0", 1, kAlgorithms, 0, NULL};

LIMIFY_PLUGIN_EXPORT const limify_plugin_manifest* limify_plugin_entry(const limify_host_api* host) {
  g_host = host;
  return &kManifest;
}
