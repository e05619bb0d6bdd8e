/*
 * rollover — an example third-party algorithm plugin for limify, in C99,
 * built against the installed <limify/plugin.h> only (see the Makefile and
 * the README's "Write your own algorithm").
 *
 * The algorithm: fixed windows aligned to multiples of the period (like
 * fixed_window), where the allowance a caller does not use ROLLS OVER into
 * the next windows, up to `burst` units in total. Think of a monthly API
 * quota where unused calls carry over, capped at three months' worth:
 *
 *   "algorithm": "rollover", "rate": "1000/week", "burst": 3000
 *
 * Each window boundary adds `limit` units to the balance, never above
 * `burst` (default: the limit, which makes it exactly fixed_window). A new
 * caller starts full. Refill happens in steps at the boundaries, not
 * continuously as in token_bucket: no built-in algorithm behaves like this.
 *
 * Rules every algorithm follows (from plugin.h):
 *  - it is a pure function of (spec, state, now_us, cost): no I/O, no clock,
 *    no globals written after loading;
 *  - a state of all zero bytes is a fresh key;
 *  - the state may be unaligned: read and write it with memcpy;
 *  - it writes the state only when the request is allowed and not a peek;
 *  - time may go backwards: no refill, no crash;
 *  - reset_after_us is also the key's TTL: after it the state may be dropped,
 *    so by then the state must be equivalent to a fresh one.
 *
 * State (16 bytes): the start of the window the balance belongs to, and how
 * much is SPENT below full (burst - balance), so that zero bytes mean "full".
 */
#include <stdint.h>
#include <string.h>

#include <limify/plugin.h>

typedef struct rollover_state {
  int64_t window_start_us;
  int64_t spent;
} rollover_state;

/* limit × period and burst × period stay below this, so every wait computed
 * below (at most burst/limit + 1 periods) fits an int64. */
#define ROLLOVER_MAX_PRODUCT (INT64_C(1) << 61)

/* The host's services, set once by the entry function. */
static const limify_host_api* host_api;

static int32_t fail(limify_plugin_error* err, int32_t code, const char* message) {
  host_api->set_error(err, code, message);
  return code;
}

static int64_t burst_of(const limify_limit_spec* spec) {
  return spec->burst == 0 ? spec->limit : spec->burst;
}

/* ceil(a / b) for a >= 0, b > 0. */
static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

static int32_t rollover_validate(const limify_limit_spec* spec, limify_plugin_error* err) {
  if (spec == NULL || spec->struct_size < sizeof(limify_limit_spec)) {
    return fail(err, LIMIFY_PLUGIN_INTERNAL, "rollover: limit spec is missing or too short");
  }
  if (spec->limit <= 0 || spec->period_us <= 0) {
    return fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                "rollover: limit and period must be positive");
  }
  if (spec->burst != 0 && spec->burst < spec->limit) {
    return fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                "rollover: burst is the most a balance can hold with rollover; it must be at "
                "least the limit");
  }
  if (burst_of(spec) > ROLLOVER_MAX_PRODUCT / spec->period_us) {
    return fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                "rollover: burst (or limit) x period must stay below 2^61 microseconds");
  }
  return LIMIFY_PLUGIN_OK;
}

static size_t rollover_state_size(const limify_limit_spec* spec) {
  (void)spec;
  return sizeof(rollover_state);
}

static int32_t rollover_step(const limify_limit_spec* spec, void* state, size_t state_size,
                             int64_t now_us, int64_t cost, int peek, limify_verdict* out,
                             limify_plugin_error* err) {
  rollover_state s;
  int64_t limit, period, burst, current, balance, spent_after, t;
  int32_t code;

  /* Never trust what the host hands in: validate again (a few comparisons). */
  code = rollover_validate(spec, err);
  if (code != LIMIFY_PLUGIN_OK) return code;
  if (out == NULL || out->struct_size < sizeof(limify_verdict) || state == NULL ||
      state_size != sizeof(rollover_state)) {
    return fail(err, LIMIFY_PLUGIN_INTERNAL, "rollover: verdict or state is missing or too short");
  }
  if (cost < 1) return fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT, "rollover: cost must be >= 1");

  limit = spec->limit;
  period = spec->period_us;
  burst = burst_of(spec);
  memcpy(&s, state, sizeof s);
  if (s.spent < 0 || s.spent > burst) s.spent = s.spent < 0 ? 0 : burst; /* foreign state */

  /* The window `now` falls in: floor(now / period) * period, negatives too. */
  current = now_us - ((now_us % period) + period) % period;
  if (current > s.window_start_us) {
    /* k boundaries passed, each adding `limit`, the balance capped at burst. */
    const int64_t k = (current - s.window_start_us) / period;
    if (s.spent > 0) s.spent = k >= ceil_div(s.spent, limit) ? 0 : s.spent - k * limit;
    s.window_start_us = current;
  }
  /* else: the same window, or the clock went back: no refill. */
  balance = burst - s.spent;
  /* Waits are counted from the start of the stored window when the clock went
   * back, so they never exceed what the arithmetic bounds allow. */
  t = now_us < s.window_start_us ? s.window_start_us : now_us;

  out->limit = burst;
  out->binding_limit = 0;
  /* `remaining` and `reset_after_us` describe the state after this step: a
   * peek or a denied request leaves it as it was. */
  if (cost <= balance) {
    spent_after = peek ? s.spent : s.spent + cost;
    out->allowed = 1;
    out->remaining = burst - spent_after;
    out->retry_after_us = 0;
    if (!peek) {
      s.spent = spent_after;
      memcpy(state, &s, sizeof s);
    }
  } else {
    spent_after = s.spent;
    out->allowed = 0;
    out->remaining = balance;
    out->retry_after_us =
        cost > burst ? LIMIFY_RETRY_NEVER
                     : ceil_div(cost - balance, limit) * period - (t - s.window_start_us);
  }
  /* Full again after enough boundaries to refill what is spent. */
  out->reset_after_us =
      spent_after == 0 ? 0 : ceil_div(spent_after, limit) * period - (t - s.window_start_us);
  return LIMIFY_PLUGIN_OK;
}

static const limify_algorithm rollover_algorithm = {
    sizeof(limify_algorithm), 0, "rollover",
    rollover_validate, rollover_state_size, rollover_step};
static const limify_algorithm* const algorithms[] = {&rollover_algorithm};
static const limify_plugin_manifest manifest = {
    LIMIFY_PLUGIN_MAGIC, LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR,
    sizeof(limify_plugin_manifest), 0,
    "rollover", "1.0.0",
    1, algorithms, /* algorithms */
    0, NULL};      /* storages */

/* The one exported symbol. The host calls it right after loading. */
LIMIFY_PLUGIN_EXPORT const limify_plugin_manifest* limify_plugin_entry(
    const limify_host_api* host) {
  /* Refuse (NULL) a host whose ABI this plugin was not built for. */
  if (host == NULL || host->struct_size < sizeof(limify_host_api) ||
      host->abi_major != LIMIFY_PLUGIN_ABI_MAJOR || host->set_error == NULL) {
    return NULL;
  }
  host_api = host;
  return &manifest;
}
