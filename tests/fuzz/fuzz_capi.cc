// The C API driven by random requests: random bytes in every string field
// (embedded NULs cut them, as C strings do), NULL fields, random costs, on an
// engine with every built-in algorithm on the memory storage and the manual
// clock. Besides "no crash, no leak, no UB", checks what must hold for any
// input: a known status, consistent decisions, a peek that predicts the check
// that follows it, and never more allowed than a fixed window's limit.
//
// Input: records separated by 0xFF; in each, fields separated by 0x00:
// method, path, user_id, org_id, api_key, client_ip, plan, cost byte,
// clock step byte. A missing field is NULL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "limify/limify.h"

namespace {

// "quota" is a fixed window that never rolls over while the fuzzer runs
// (the clock moves at most 255 µs per record): its allowed total is bounded.
constexpr int64_t kQuota = 50;
constexpr const char* kConfig = R"({
  "storage": {"type": "memory", "max_keys": 10000000},
  "clock": "manual",
  "rules": [
    {"id": "quota", "method": "*", "path": "/quota/**", "algorithm": "fixed_window", "rate": "50/week"},
    {"id": "tb", "method": "GET", "path": "/tb/*", "rate": "5/second", "burst": 7,
     "plans": {"pro": ["100/minute", "1000/day"]}},
    {"id": "gcra", "method": "*", "path": "/gcra/**", "algorithm": "gcra", "rate": "3/second"},
    {"id": "sw", "method": "POST", "path": "/sw", "algorithm": "sliding_window", "rate": "4/10s"},
    {"id": "swc", "method": "*", "path": "/swc/*/x", "algorithm": "sliding_window_counter", "rate": "9/minute"}
  ],
  "default_rule": {"id": "default", "rate": "20/minute"},
  "identity_plans": {"user_id": {"p": "pro"}}
})";

limify_engine* Engine() {
  static limify_engine* engine = [] {
    limify_engine* e = nullptr;
    limify_error err;
    if (limify_engine_new(kConfig, &e, &err) != LIMIFY_OK) {
      std::fprintf(stderr, "fuzz_capi: %s\n", err.message);
      std::abort();
    }
    return e;
  }();
  return engine;
}

// Allowed "quota" checks per identity, keyed as the engine resolves it: the
// first non-empty of user_id, org_id, api_key, client_ip (else anonymous).
std::map<std::string, int64_t> quota_allowed;

std::string IdentityOf(const limify_request& r) {
  const char* kinds[] = {"user:", "org:", "key:", "ip:"};
  const char* values[] = {r.user_id, r.org_id, r.api_key, r.client_ip};
  for (int i = 0; i < 4; ++i) {
    if (values[i] != nullptr && values[i][0] != '\0') return std::string(kinds[i]) + values[i];
  }
  return "anonymous";
}

bool KnownStatus(limify_status s) {
  return s == LIMIFY_OK || s == LIMIFY_INVALID_ARGUMENT;
}

void CheckDecision(const limify_decision& d) {
  if (d.allowed != 0 && d.allowed != 1) std::abort();
  if (d.degraded) std::abort();  // the memory storage never fails
  if (!d.matched) {
    if (!d.allowed || d.limit != LIMIFY_UNLIMITED) std::abort();
    return;
  }
  if (d.limit < 1 || d.remaining < 0 || d.remaining > d.limit || d.period_us <= 0) std::abort();
  if (d.allowed && d.retry_after_us != 0) std::abort();
  if (!d.allowed && d.retry_after_us == 0) std::abort();
  if (d.rule_id[0] == '\0' || std::memchr(d.rule_id, '\0', sizeof d.rule_id) == nullptr) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  limify_engine* engine = Engine();
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\xff', start);
    if (end == std::string::npos) end = input.size();
    std::vector<std::string> fields;
    for (size_t i = start; i <= end;) {
      size_t nul = input.find('\0', i);
      if (nul == std::string::npos || nul > end) nul = end;
      fields.push_back(input.substr(i, nul - i));
      i = nul + 1;
    }
    start = end + 1;

    limify_request req;
    limify_request_init(&req);
    const char** strings[] = {&req.method, &req.path, &req.user_id, &req.org_id,
                              &req.api_key, &req.client_ip, &req.plan};
    for (size_t i = 0; i < 7; ++i) *strings[i] = i < fields.size() ? fields[i].c_str() : nullptr;
    req.cost = fields.size() > 7 && !fields[7].empty() ? static_cast<int8_t>(fields[7][0]) : 0;
    if (fields.size() > 8 && !fields[8].empty()) {
      if (limify_clock_advance(engine, static_cast<uint8_t>(fields[8][0]), nullptr) != LIMIFY_OK) {
        std::abort();
      }
    }

    limify_error err;
    limify_decision peek, check;
    limify_decision_init(&peek);
    limify_decision_init(&check);
    const limify_status ps = limify_peek(engine, &req, &peek, &err);
    const limify_status cs = limify_check(engine, &req, &check, &err);
    if (!KnownStatus(ps) || ps != cs) std::abort();
    if (cs != LIMIFY_OK) {
      if (req.cost >= 0 || err.message[0] == '\0') std::abort();  // only a negative cost is refused
      continue;
    }
    CheckDecision(peek);
    CheckDecision(check);
    if (peek.allowed != check.allowed || std::strcmp(peek.rule_id, check.rule_id) != 0) std::abort();
    if (check.allowed && std::strcmp(check.rule_id, "quota") == 0) {
      if (++quota_allowed[IdentityOf(req)] > kQuota) std::abort();
    }
    char headers[512];
    if (limify_format_headers(&check, LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF, headers,
                              sizeof headers) >= sizeof headers) {
      std::abort();
    }
  }
  return 0;
}
