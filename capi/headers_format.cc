// limify_format_headers: the HTTP response headers of a decision.
//
//   X-RateLimit-Limit / -Remaining / -Reset   the de-facto convention (Reset in
//                                             seconds until the limit is full)
//   Retry-After                               RFC 9110 delay-seconds
//   RateLimit-Policy / RateLimit              draft-ietf-httpapi-ratelimit-headers-11
//                                             (Sections 3 and 4): Structured-Field
//                                             Lists of one Item each, the policy
//                                             named after the rule:
//       RateLimit-Policy: "search";q=100;w=60
//       RateLimit: "search";r=42;t=30
//
// Every duration is in whole seconds, rounded up, so a client that waits that
// long is never early. Fields whose value is unknown (remaining after a
// storage failure) are left out rather than invented.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "capi/struct_conversion.h"
#include "limify/limify.h"

namespace limify::capi {
namespace {

// Whole seconds, rounded up; negative durations are 0.
int64_t CeilSeconds(int64_t us) {
  if (us <= 0) return 0;
  return us / 1000000 + (us % 1000000 != 0 ? 1 : 0);
}

// Appends to a fixed buffer that is always large enough for what one
// decision produces (each line is bounded: ids are at most 64 characters).
class Text {
 public:
  void Append(std::string_view s) {
    const size_t n = s.size() < kSize - size_ ? s.size() : kSize - size_;
    std::memcpy(buf_ + size_, s.data(), n);
    size_ += n;
  }
  void AppendInt(int64_t v) {
    char digits[24];
    const int n = std::snprintf(digits, sizeof(digits), "%" PRId64, v);
    Append(std::string_view(digits, n > 0 ? static_cast<size_t>(n) : 0));
  }
  void Header(std::string_view name, int64_t value) {
    Append(name);
    Append(": ");
    AppendInt(value);
    Append("\r\n");
  }
  // A Structured-Field String (RFC 8941 Section 3.3.3): printable ASCII,
  // with '"' and '\' escaped. Rule ids never need it; a hand-made decision
  // might.
  void SfString(std::string_view s) {
    Append("\"");
    for (char c : s) {
      if (c < 0x20 || c > 0x7E) continue;
      if (c == '"' || c == '\\') Append("\\");
      Append(std::string_view(&c, 1));
    }
    Append("\"");
  }
  std::string_view view() const { return {buf_, size_}; }

 private:
  static constexpr size_t kSize = 1024;
  char buf_[kSize];
  size_t size_ = 0;
};

// The fields of a decision the caller declared; the rest read as absent.
struct Fields {
  bool allowed = false;
  int64_t limit = LIMIFY_UNLIMITED;
  int64_t remaining = LIMIFY_UNLIMITED;
  int64_t reset_after_us = 0;
  int64_t retry_after_us = 0;
  int64_t period_us = 0;
  std::string_view rule_id;
};

Fields Read(const limify_decision* d) {
  const uint32_t size = d->struct_size;
  Fields f;
  f.allowed = d->allowed != 0;
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, limit, size)) f.limit = d->limit;
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, remaining, size)) f.remaining = d->remaining;
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, reset_after_us, size)) {
    f.reset_after_us = d->reset_after_us;
  }
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, retry_after_us, size)) {
    f.retry_after_us = d->retry_after_us;
  }
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, period_us, size)) f.period_us = d->period_us;
  if (LIMIFY_CAPI_HAS_FIELD(limify_decision, rule_id, size)) {
    f.rule_id = std::string_view(d->rule_id, strnlen(d->rule_id, sizeof(d->rule_id)));
  }
  return f;
}

void Format(const Fields& f, uint32_t flags, Text* out) {
  // Waiting helps a denied request unless its cost exceeds the limit.
  const bool retry = !f.allowed && f.retry_after_us != LIMIFY_RETRY_NEVER && f.retry_after_us >= 0;
  if (flags & LIMIFY_HEADERS_X_RATELIMIT) {
    if (f.limit >= 0) out->Header("X-RateLimit-Limit", f.limit);
    if (f.remaining >= 0) out->Header("X-RateLimit-Remaining", f.remaining);
    out->Header("X-RateLimit-Reset", CeilSeconds(f.reset_after_us));
  }
  if ((flags & LIMIFY_HEADERS_RETRY_AFTER) && retry) {
    out->Header("Retry-After", CeilSeconds(f.retry_after_us));
  }
  if ((flags & LIMIFY_HEADERS_IETF) && !f.rule_id.empty()) {
    if (f.limit >= 0) {
      out->Append("RateLimit-Policy: ");
      out->SfString(f.rule_id);
      out->Append(";q=");
      out->AppendInt(f.limit);
      // "w" must be a positive integer: a sub-second window rounds up to 1.
      if (f.period_us > 0) {
        out->Append(";w=");
        out->AppendInt(CeilSeconds(f.period_us));
      }
      out->Append("\r\n");
    }
    // "r" is required: without a known remaining quota there is no field.
    if (f.remaining >= 0) {
      out->Append("RateLimit: ");
      out->SfString(f.rule_id);
      out->Append(";r=");
      out->AppendInt(f.remaining);
      // The effective window: until the quota is back, or, for a denied
      // request, until it may retry (so Retry-After is never earlier than
      // the end of the window, Section 6 of the draft).
      out->Append(";t=");
      out->AppendInt(CeilSeconds(retry ? f.retry_after_us : f.reset_after_us));
      out->Append("\r\n");
    }
  }
}

}  // namespace
}  // namespace limify::capi

extern "C" LIMIFY_EXPORT size_t limify_format_headers(const limify_decision* decision,
                                                      uint32_t flags, char* buf, size_t len) {
  try {
    limify::capi::Text text;
    if (decision != nullptr && decision->struct_size >= limify::capi::kMinDecisionSize &&
        LIMIFY_CAPI_HAS_FIELD(limify_decision, matched, decision->struct_size) &&
        decision->matched != 0) {
      limify::capi::Format(limify::capi::Read(decision), flags, &text);
    }
    const std::string_view out = text.view();
    if (buf != nullptr && len > 0) {
      const size_t n = out.size() < len - 1 ? out.size() : len - 1;
      std::memcpy(buf, out.data(), n);
      buf[n] = '\0';
    }
    return out.size();
  } catch (...) {
    if (buf != nullptr && len > 0) buf[0] = '\0';
    return 0;
  }
}
