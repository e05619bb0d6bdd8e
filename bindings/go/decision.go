package limify

// #include <stdlib.h>
// #include <limify/limify.h>
import "C"

import (
	"net/http"
	"strings"
	"time"
	"unsafe"
)

// Request is one request to decide on. An empty string means "absent" for
// every field; Cost 0 means 1.
type Request struct {
	Method   string // "GET"; upper-cased before matching, as rules match methods case-insensitively
	Path     string // "/api/items/42"; normalise it first (see NormalizePath)
	UserID   string
	OrgID    string
	APIKey   string
	ClientIP string
	Plan     string // an explicit plan wins over every other source
	Cost     int64
}

// Unlimited is Decision.Limit and Decision.Remaining when no rule matched.
const Unlimited int64 = C.LIMIFY_UNLIMITED

// RetryNever is Decision.RetryAfter when waiting can never help (the cost
// exceeds the limit).
const RetryNever time.Duration = -1

// Decision is the engine's answer to one request. A denial is a Decision
// with Allowed false, not an error.
type Decision struct {
	Allowed  bool // let it through; false: answer 429
	Matched  bool // a rule (or the default rule) applied
	Degraded bool // decided by the failure policy, without storage

	Limit     int64 // of the binding limit; Unlimited if no rule matched
	Remaining int64 // whole requests left under it; Unlimited if no rule matched

	ResetAfter time.Duration // until every limit of the rule is full again
	RetryAfter time.Duration // 0 when allowed; RetryNever if waiting cannot help
	Period     time.Duration // the window of the binding limit (0 if unmatched)

	RuleID string // "" when no rule matched
	PlanID string
}

// RetryAfterSeconds is Retry-After as HTTP sends it: whole seconds, rounded
// up; -1 when waiting can never help.
func (d Decision) RetryAfterSeconds() int64 {
	if d.RetryAfter == RetryNever {
		return -1
	}
	return int64((d.RetryAfter + time.Second - 1) / time.Second)
}

// HeaderFlags choose which response headers Headers writes.
type HeaderFlags uint32

const (
	// HeadersXRateLimit: X-RateLimit-Limit, -Remaining, -Reset (seconds, rounded up).
	HeadersXRateLimit HeaderFlags = C.LIMIFY_HEADERS_X_RATELIMIT
	// HeadersRetryAfter: Retry-After, only on a denial that waiting can help.
	HeadersRetryAfter HeaderFlags = C.LIMIFY_HEADERS_RETRY_AFTER
	// HeadersIETF: the IETF httpapi draft's RateLimit and RateLimit-Policy fields.
	HeadersIETF HeaderFlags = C.LIMIFY_HEADERS_IETF
	// HeadersDefault is X-RateLimit-* and Retry-After.
	HeadersDefault = HeadersXRateLimit | HeadersRetryAfter
)

// Headers are the response headers the library formats for d (the same text
// in every binding). A decision that matched no rule has none.
func (d Decision) Headers(flags HeaderFlags) http.Header {
	h := http.Header{}
	d.WriteHeaders(h, flags)
	return h
}

// WriteHeaders sets d's response headers on h, replacing any of the same name.
func (d Decision) WriteHeaders(h http.Header, flags HeaderFlags) {
	if !d.Matched {
		return
	}
	var cd C.limify_decision
	d.toC(&cd)
	var stack [256]byte
	buf := stack[:]
	for {
		n := int(C.limify_format_headers(&cd, C.uint32_t(flags),
			(*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, n+1)
	}
	for _, line := range strings.Split(string(buf), "\r\n") {
		if name, value, ok := strings.Cut(line, ": "); ok {
			h.Set(name, value)
		}
	}
}

func (d *Decision) toC(cd *C.limify_decision) {
	cd.struct_size = C.uint32_t(unsafe.Sizeof(*cd))
	cd.allowed = cbool(d.Allowed)
	cd.matched = cbool(d.Matched)
	cd.degraded = cbool(d.Degraded)
	cd.limit = C.int64_t(d.Limit)
	cd.remaining = C.int64_t(d.Remaining)
	cd.reset_after_us = C.int64_t(d.ResetAfter / time.Microsecond)
	if d.RetryAfter == RetryNever {
		cd.retry_after_us = C.LIMIFY_RETRY_NEVER
	} else {
		cd.retry_after_us = C.int64_t(d.RetryAfter / time.Microsecond)
	}
	cd.period_us = C.int64_t(d.Period / time.Microsecond)
	copyID(&cd.rule_id, d.RuleID)
	copyID(&cd.plan_id, d.PlanID)
}

func copyID(dst *[C.LIMIFY_ID_MAX + 1]C.char, s string) {
	if len(s) > C.LIMIFY_ID_MAX {
		s = s[:C.LIMIFY_ID_MAX]
	}
	for i := 0; i < len(s); i++ {
		dst[i] = C.char(s[i])
	}
	dst[len(s)] = 0
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// fromC reads a decision the library wrote. Rule and plan ids go through
// ids, so the steady state allocates no string per decision.
func decisionFromC(cd *C.limify_decision, ids *idCache) Decision {
	d := Decision{
		Allowed:    cd.allowed != 0,
		Matched:    cd.matched != 0,
		Degraded:   cd.degraded != 0,
		Limit:      int64(cd.limit),
		Remaining:  int64(cd.remaining),
		ResetAfter: time.Duration(cd.reset_after_us) * time.Microsecond,
		RetryAfter: time.Duration(cd.retry_after_us) * time.Microsecond,
		Period:     time.Duration(cd.period_us) * time.Microsecond,
		RuleID:     ids.rules.get(&cd.rule_id),
		PlanID:     ids.plans.get(&cd.plan_id),
	}
	if cd.retry_after_us == C.LIMIFY_RETRY_NEVER {
		d.RetryAfter = RetryNever
	}
	return d
}
