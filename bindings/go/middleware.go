package limify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
)

// Identity is who a request counts against. The engine uses the first
// present field in its identity.order (by default user, org, API key,
// client address).
type Identity struct {
	UserID   string
	OrgID    string
	APIKey   string
	ClientIP string
}

// merge overrides id's fields with the non-empty fields of o.
func (id Identity) merge(o Identity) Identity {
	if o.UserID != "" {
		id.UserID = o.UserID
	}
	if o.OrgID != "" {
		id.OrgID = o.OrgID
	}
	if o.APIKey != "" {
		id.APIKey = o.APIKey
	}
	if o.ClientIP != "" {
		id.ClientIP = o.ClientIP
	}
	return id
}

type ctxKey int

const (
	identityKey ctxKey = iota
	decisionKey
)

// WithIdentity returns a context carrying id, for an authentication layer
// that runs before the middleware: its non-empty fields override what the
// middleware reads from the request.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// DecisionFromContext is the binding decision the middleware (and route
// limits) took for this request, for handlers that want the numbers.
func DecisionFromContext(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey).(*Decision)
	if !ok || d == nil {
		return Decision{}, false
	}
	return *d, true
}

// MiddlewareOptions say how the middleware reads requests and writes
// responses. The zero value is usable.
type MiddlewareOptions struct {
	// TrustedProxies (CIDRs or addresses): only a peer among them may set
	// the client address through X-Forwarded-For.
	TrustedProxies []string
	// Header names read for the identity; empty: not read. APIKeyHeader
	// defaults to "X-API-Key" (set "-" to read no API key header).
	UserIDHeader string
	OrgIDHeader  string
	APIKeyHeader string
	// Identify, when set, overrides the identity's fields it returns non-empty.
	Identify func(r *http.Request) Identity
	// Plan, when set, names the request's plan ("" for none).
	Plan func(r *http.Request) string
	// Headers chooses the rate-limit headers (default HeadersDefault).
	Headers HeaderFlags
	// Logger receives the failures the failure mode decided (default slog.Default()).
	Logger *slog.Logger
}

// Middleware limits the requests of an http.Handler with an Engine:
// rate-limit headers on every limited response, 429 with Retry-After and a
// JSON body when denied. If a call fails (not a denial: a storage outage is
// decided by the engine's failure_mode and marked degraded), the same
// policy applies here: "open" lets the request through, "closed" answers
// 503. Never a 500.
type Middleware struct {
	engine  *Engine
	opts    MiddlewareOptions
	proxies []netip.Prefix
}

// NewMiddleware checks the options (a bad trusted proxy is an
// ErrInvalidArgument naming it).
func NewMiddleware(e *Engine, opts MiddlewareOptions) (*Middleware, error) {
	if e == nil {
		return nil, invalid("NewMiddleware", "the engine is nil")
	}
	proxies, err := ParseTrustedProxies(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if opts.APIKeyHeader == "" {
		opts.APIKeyHeader = "X-API-Key"
	}
	if opts.Headers == 0 {
		opts.Headers = HeadersDefault
	}
	return &Middleware{engine: e, opts: opts, proxies: proxies}, nil
}

// Identity is the identity the middleware counts r against.
func (m *Middleware) Identity(r *http.Request) Identity {
	id := Identity{ClientIP: ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), m.proxies)}
	if m.opts.UserIDHeader != "" {
		id.UserID = r.Header.Get(m.opts.UserIDHeader)
	}
	if m.opts.OrgIDHeader != "" {
		id.OrgID = r.Header.Get(m.opts.OrgIDHeader)
	}
	if m.opts.APIKeyHeader != "-" {
		id.APIKey = r.Header.Get(m.opts.APIKeyHeader)
	}
	if fromCtx, ok := r.Context().Value(identityKey).(Identity); ok {
		id = id.merge(fromCtx)
	}
	if m.opts.Identify != nil {
		id = id.merge(m.opts.Identify(r))
	}
	return id
}

// Handler checks every request against the engine's path rules.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := m.Identity(r)
		req := Request{
			Method: r.Method, Path: NormalizePath(r.URL.Path),
			UserID: id.UserID, OrgID: id.OrgID, APIKey: id.APIKey, ClientIP: id.ClientIP,
		}
		if m.opts.Plan != nil {
			req.Plan = m.opts.Plan(r)
		}
		d, err := m.engine.Check(r.Context(), req)
		if err != nil {
			if m.failed(w, r, "", err) {
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !d.Allowed {
			m.tooManyRequests(w, d)
			return
		}
		d.WriteHeaders(w.Header(), m.opts.Headers&^HeadersRetryAfter)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey, &d)))
	})
}

// Limit counts each request to next under one more rule, by id (with
// CheckKey, the rule's own rate, the identity the engine's order picks).
// Behind Handler both must allow, and the response reports the stricter
// decision.
func (m *Middleware) Limit(ruleID string, cost int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := m.engine.CheckKey(r.Context(), ruleID, RouteIdentity(m.engine, m.Identity(r)), cost)
		if err != nil {
			if m.failed(w, r, ruleID, err) {
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !d.Allowed {
			m.tooManyRequests(w, d)
			return
		}
		binding := d
		if prev, ok := DecisionFromContext(r.Context()); ok {
			binding = Stricter(prev, d)
		}
		binding.WriteHeaders(w.Header(), m.opts.Headers&^HeadersRetryAfter)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey, &binding)))
	})
}

// failed applies the failure mode to a failed call; true when it answered.
func (m *Middleware) failed(w http.ResponseWriter, r *http.Request, ruleID string, err error) bool {
	mode := m.engine.FailureMode()
	if errors.Is(err, context.Canceled) {
		// The client went away: nobody reads the answer, nothing to report.
		return mode == "closed"
	}
	logger := m.opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Error("limify: check failed; failure_mode applies", "err", err, "mode", mode,
		"rule", ruleID, "path", r.URL.Path)
	if mode != "closed" {
		return false
	}
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": UnavailableDetail})
	return true
}

// The "detail" of the JSON bodies (the same text in every binding).
const (
	RateLimitedDetail = "Rate limit exceeded"
	UnavailableDetail = "Rate limiter unavailable"
)

// TooManyRequestsBody is the JSON body of a 429. RetryAfter is nil when
// waiting can never help (the cost exceeds the limit).
type TooManyRequestsBody struct {
	Detail     string `json:"detail"`
	RetryAfter *int64 `json:"retry_after"`
	Limit      int64  `json:"limit"`
	Rule       string `json:"rule"`
	Plan       string `json:"plan"`
}

func (m *Middleware) tooManyRequests(w http.ResponseWriter, d Decision) {
	WriteTooManyRequests(w, d, m.opts.Headers)
}

// WriteTooManyRequests answers 429 for a denied decision: its rate-limit
// headers, Retry-After whenever waiting helps, and a TooManyRequestsBody.
func WriteTooManyRequests(w http.ResponseWriter, d Decision, flags HeaderFlags) {
	d.WriteHeaders(w.Header(), flags|HeadersRetryAfter)
	body := TooManyRequestsBody{Detail: RateLimitedDetail, Limit: d.Limit, Rule: d.RuleID, Plan: d.PlanID}
	if s := d.RetryAfterSeconds(); s >= 0 {
		body.RetryAfter = &s
	}
	writeJSON(w, http.StatusTooManyRequests, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// RouteIdentity is the identity a route limit counts: the first present
// field in the engine's identity order, shaped "<field>:<value>" so a user
// id can never collide with an address (the engine hashes it before it
// reaches storage); "anonymous" when none is present.
func RouteIdentity(e *Engine, id Identity) string {
	for _, field := range e.settings.Load().Identity.Order {
		var v string
		switch field {
		case "user_id":
			v = id.UserID
		case "org_id":
			v = id.OrgID
		case "api_key":
			v = id.APIKey
		case "client_ip":
			v = id.ClientIP
		}
		if v != "" {
			return field + ":" + v
		}
	}
	return "anonymous"
}

// Stricter is the decision that binds when two limits apply to one request:
// a denial over an allowance (of two denials, the longer wait); of two
// allowances, the one with fewer requests left, then the smaller limit.
// Unmatched decisions bind nothing.
func Stricter(a, b Decision) Decision {
	if !a.Matched {
		return b
	}
	if !b.Matched {
		return a
	}
	if a.Allowed != b.Allowed {
		if a.Allowed {
			return b
		}
		return a
	}
	if !a.Allowed {
		if wait(b) > wait(a) {
			return b
		}
		return a
	}
	if b.Remaining < a.Remaining || (b.Remaining == a.Remaining && b.Limit < a.Limit) {
		return b
	}
	return a
}

func wait(d Decision) int64 {
	if d.RetryAfter == RetryNever {
		return 1 << 62
	}
	return int64(d.RetryAfter)
}
