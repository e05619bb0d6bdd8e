package limify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	limify "github.com/limify/limify/bindings/go"
)

// webRules: a global path rule, a stricter login rule, and a rule used only
// by a route limit (its path never matches).
var webRules = []map[string]any{
	{"id": "global", "path": "/**", "rate": "5/hour"},
	{"id": "login", "method": "POST", "path": "/login", "rate": "2/hour", "priority": 10},
	{"id": "search_route", "path": "/_route/search", "rate": "3/hour"},
}

func hello(w http.ResponseWriter, r *http.Request) {
	d, ok := limify.DecisionFromContext(r.Context())
	fmt.Fprintf(w, "hello %v %d", ok, d.Remaining)
}

func newMiddleware(t *testing.T, e *limify.Engine, opts limify.MiddlewareOptions) *limify.Middleware {
	t.Helper()
	m, err := limify.NewMiddleware(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func serve(h http.Handler, method, target string, edit func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if edit != nil {
		edit(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareHeadersOnEveryResponseThen429WithRetryAfterAndJSON(t *testing.T) {
	e := newEngine(t, memoryConfig(t, webRules, nil))
	h := newMiddleware(t, e, limify.MiddlewareOptions{}).Handler(http.HandlerFunc(hello))
	for want := 4; want >= 0; want-- {
		w := serve(h, "GET", "/items", nil)
		if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "5" ||
			w.Header().Get("X-RateLimit-Remaining") != fmt.Sprint(want) || w.Header().Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request with %d left: %d %v", want, w.Code, w.Header())
		}
		if w.Header().Get("Retry-After") != "" {
			t.Fatal("Retry-After on an allowed response")
		}
		if body := w.Body.String(); body != fmt.Sprintf("hello true %d", want) {
			t.Fatalf("the handler did not see the decision: %q", body)
		}
	}
	w := serve(h, "GET", "/items", nil)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth request: %d", w.Code)
	}
	if w.Header().Get("Retry-After") != "720" || w.Header().Get("X-RateLimit-Remaining") != "0" ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("429 headers %v", w.Header())
	}
	var body limify.TooManyRequestsBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Detail != "Rate limit exceeded" || body.RetryAfter == nil || *body.RetryAfter != 720 ||
		body.Limit != 5 || body.Rule != "global" || body.Plan != "default" {
		t.Fatalf("429 body %s", w.Body)
	}
}

func TestMiddlewareLeavesUnmatchedRequestsAloneAndNormalisesPaths(t *testing.T) {
	e := newEngine(t, memoryConfig(t, []map[string]any{{"id": "admin", "path": "/admin/**", "rate": "1/hour"}}, nil))
	h := newMiddleware(t, e, limify.MiddlewareOptions{}).Handler(http.HandlerFunc(hello))
	w := serve(h, "GET", "/public", nil)
	if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" || w.Body.String() != "hello true -1" {
		t.Fatalf("unmatched: %d %v %q", w.Code, w.Header(), w.Body)
	}
	if w := serve(h, "GET", "/admin/users", nil); w.Code != 200 {
		t.Fatalf("first admin request: %d", w.Code)
	}
	for _, p := range []string{"/public/../admin/users", "//admin/./users", "/admin//x?y=1"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusTooManyRequests {
			t.Fatalf("%s slipped past the admin rule: %d", p, w.Code)
		}
	}
}

func TestClientIPBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	proxies, err := limify.ParseTrustedProxies([]string{"10.0.0.0/8", "::1", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.9:5000", nil, "203.0.113.9"},
		{"203.0.113.9:5000", []string{"1.2.3.4"}, "203.0.113.9"},             // untrusted peer: header ignored
		{"10.1.2.3:5000", []string{"1.2.3.4"}, "1.2.3.4"},                    // trusted peer
		{"10.1.2.3:5000", []string{"6.6.6.6, 1.2.3.4, 10.9.9.9"}, "1.2.3.4"}, // right-most untrusted hop
		{"10.1.2.3:5000", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},         // several header lines
		{"[::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},                // IPv6 proxy
		{"[::ffff:10.0.0.1]:80", []string{"198.51.100.2"}, "198.51.100.2"},   // IPv4-mapped peer
		{"192.168.1.1:80", []string{"10.0.0.5, 192.168.1.1"}, "10.0.0.5"},    // all trusted: the left-most
		{"192.168.1.2:80", []string{"1.1.1.1"}, "192.168.1.2"},               // a neighbour of a trusted address
		{"10.0.0.1:80", []string{"not-an-ip, 10.0.0.2"}, "not-an-ip"},        // garbage is untrusted
		{"10.0.0.1:80", []string{""}, "10.0.0.1"},                            // empty header
		{"@", nil, "@"}, // not an address at all
	}
	for _, c := range cases {
		if got := limify.ClientIP(c.peer, c.xff, proxies); got != c.want {
			t.Errorf("ClientIP(%q, %q) = %q, want %q", c.peer, c.xff, got, c.want)
		}
	}
	if got := limify.ClientIP("10.1.2.3:5000", []string{"1.2.3.4"}, nil); got != "10.1.2.3" {
		t.Errorf("without trusted proxies the header counted: %q", got)
	}
	if _, err := limify.ParseTrustedProxies([]string{"10.0.0.0/8", "10.0.0.0/99"}); !errors.Is(err, limify.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "TrustedProxies[1]") {
		t.Fatalf("bad proxy: %v", err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}; proxies[0] != want[0] {
		t.Fatalf("parsed %v", proxies)
	}
}

func TestMiddlewareCountsTheForwardedClientOnlyBehindATrustedProxy(t *testing.T) {
	e := newEngine(t, memoryConfig(t, webRules, nil))
	h := newMiddleware(t, e, limify.MiddlewareOptions{TrustedProxies: []string{"10.0.0.0/8"}}).Handler(http.HandlerFunc(hello))
	from := func(peer, xff string) func(*http.Request) {
		return func(r *http.Request) {
			r.RemoteAddr = peer
			if xff != "" {
				r.Header.Set("X-Forwarded-For", xff)
			}
		}
	}
	// Through the proxy, five clients each get their own five.
	for c := 0; c < 5; c++ {
		for i := 0; i < 5; i++ {
			if w := serve(h, "GET", "/x", from("10.0.0.1:1", fmt.Sprintf("198.51.100.%d", c))); w.Code != 200 {
				t.Fatalf("client %d request %d: %d", c, i, w.Code)
			}
		}
	}
	// An untrusted peer cannot spoof its way to a fresh identity.
	for i := 0; i < 5; i++ {
		serve(h, "GET", "/x", from("203.0.113.5:1", fmt.Sprintf("1.1.1.%d", i)))
	}
	if w := serve(h, "GET", "/x", from("203.0.113.5:1", "1.1.1.99")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", w.Code)
	}
}

func TestMiddlewareIdentityFromHeadersContextAndAFunction(t *testing.T) {
	e := newEngine(t, memoryConfig(t, webRules, nil))
	m := newMiddleware(t, e, limify.MiddlewareOptions{
		UserIDHeader: "X-User",
		OrgIDHeader:  "X-Org",
		Identify: func(r *http.Request) limify.Identity {
			if r.URL.Query().Get("as") != "" {
				return limify.Identity{UserID: r.URL.Query().Get("as")}
			}
			return limify.Identity{}
		},
	})
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "192.0.2.1:9"
	r.Header.Set("X-User", "alice")
	r.Header.Set("X-Org", "acme")
	r.Header.Set("X-API-Key", "k1")
	if id := m.Identity(r); id != (limify.Identity{UserID: "alice", OrgID: "acme", APIKey: "k1", ClientIP: "192.0.2.1"}) {
		t.Fatalf("from headers: %+v", id)
	}
	r = r.WithContext(limify.WithIdentity(r.Context(), limify.Identity{UserID: "from-auth"}))
	if id := m.Identity(r); id.UserID != "from-auth" || id.OrgID != "acme" {
		t.Fatalf("from the context: %+v", id)
	}
	r.URL.RawQuery = "as=carol"
	if id := m.Identity(r); id.UserID != "carol" {
		t.Fatalf("from Identify: %+v", id)
	}

	// Counted per user: alice's five do not touch bob's.
	h := m.Handler(http.HandlerFunc(hello))
	as := func(user string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("X-User", user) } }
	for i := 0; i < 5; i++ {
		serve(h, "GET", "/x", as("alice"))
	}
	if w := serve(h, "GET", "/x", as("alice")); w.Code != 429 {
		t.Fatalf("alice's sixth: %d", w.Code)
	}
	if w := serve(h, "GET", "/x", as("bob")); w.Code != 200 {
		t.Fatalf("bob's first: %d", w.Code)
	}
}

func TestMiddlewarePlansAndIETFHeaders(t *testing.T) {
	rules := []map[string]any{{"id": "api", "path": "/api/**", "rate": "2/minute", "plans": map[string]any{"pro": "10/minute"}}}
	e := newEngine(t, memoryConfig(t, rules, nil))
	m := newMiddleware(t, e, limify.MiddlewareOptions{
		Plan:    func(r *http.Request) string { return r.Header.Get("X-Plan") },
		Headers: limify.HeadersDefault | limify.HeadersIETF,
	})
	w := serve(m.Handler(http.HandlerFunc(hello)), "GET", "/api/a", func(r *http.Request) { r.Header.Set("X-Plan", "pro") })
	if w.Header().Get("X-RateLimit-Limit") != "10" || w.Header().Get("RateLimit-Policy") == "" {
		t.Fatalf("pro plan headers %v", w.Header())
	}
}

func TestRouteLimitDeniesOnItsOwnRuleAndReportsTheStricterDecision(t *testing.T) {
	e := newEngine(t, memoryConfig(t, webRules, nil))
	m := newMiddleware(t, e, limify.MiddlewareOptions{UserIDHeader: "X-User"})
	mux := http.NewServeMux()
	mux.Handle("/search", m.Limit("search_route", 1, http.HandlerFunc(hello)))
	mux.HandleFunc("/other", hello)
	h := m.Handler(mux)
	as := func(r *http.Request) { r.Header.Set("X-User", "u") }
	for want := 2; want >= 0; want-- {
		w := serve(h, "GET", "/search", as)
		// global has 5-n left, the route 3-n: the route binds.
		if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "3" || w.Header().Get("X-RateLimit-Remaining") != fmt.Sprint(want) {
			t.Fatalf("search with %d left: %d %v", want, w.Code, w.Header())
		}
	}
	w := serve(h, "GET", "/search", as)
	var body limify.TooManyRequestsBody
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 429 || body.Rule != "search_route" || w.Header().Get("Retry-After") != "1200" {
		t.Fatalf("fourth search: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// The route's denial still consumed from global (checked first): 1 left.
	if w := serve(h, "GET", "/other", as); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("other: %d %v", w.Code, w.Header())
	}
	if _, err := e.CheckKey(ctx, "search_route", limify.RouteIdentity(e, limify.Identity{UserID: "u"}), 1); err != nil {
		t.Fatal(err)
	}
}

func TestStricterPicksTheBindingDecision(t *testing.T) {
	allowed := func(remaining, limit int64) limify.Decision {
		return limify.Decision{Allowed: true, Matched: true, Remaining: remaining, Limit: limit}
	}
	denied := func(wait time.Duration) limify.Decision {
		return limify.Decision{Matched: true, RetryAfter: wait, Limit: 5}
	}
	unmatched := limify.Decision{Allowed: true, Limit: limify.Unlimited, Remaining: limify.Unlimited}
	if got := limify.Stricter(unmatched, allowed(3, 5)); got != allowed(3, 5) {
		t.Fatalf("unmatched bound: %+v", got)
	}
	if got := limify.Stricter(allowed(4, 5), allowed(3, 10)); got != allowed(3, 10) {
		t.Fatalf("fewer left: %+v", got)
	}
	if got := limify.Stricter(allowed(3, 10), allowed(3, 5)); got != allowed(3, 5) {
		t.Fatalf("smaller limit: %+v", got)
	}
	if got := limify.Stricter(allowed(0, 5), denied(time.Second)); got != denied(time.Second) {
		t.Fatalf("a denial binds over an allowance: %+v", got)
	}
	if got := limify.Stricter(denied(time.Minute), denied(time.Second)); got != denied(time.Minute) {
		t.Fatalf("the longer wait binds: %+v", got)
	}
	if got := limify.Stricter(denied(time.Hour), denied(limify.RetryNever)); got != denied(limify.RetryNever) {
		t.Fatalf("never binds over any wait: %+v", got)
	}
}

// A failed call is not a 500: failure_mode "closed" answers 503, "open"
// lets the request through.
func TestMiddlewareAppliesTheFailureModeWhenACallFails(t *testing.T) {
	logged := captureLog(t)
	for _, mode := range []string{"open", "closed"} {
		e, err := limify.New(memoryConfig(t, webRules, map[string]any{"failure_mode": mode}))
		if err != nil {
			t.Fatal(err)
		}
		h := newMiddleware(t, e, limify.MiddlewareOptions{}).Handler(http.HandlerFunc(hello))
		e.Close() // every check now fails with ErrClosed
		w := serve(h, "GET", "/x", nil)
		switch mode {
		case "open":
			if w.Code != 200 || w.Body.String() != "hello false 0" {
				t.Fatalf("open: %d %q", w.Code, w.Body)
			}
		case "closed":
			if w.Code != 503 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "Rate limiter unavailable") {
				t.Fatalf("closed: %d %v %q", w.Code, w.Header(), w.Body)
			}
		}
		if want := "mode=" + mode; !strings.Contains(logged.String(), "the engine is closed") || !strings.Contains(logged.String(), want) {
			t.Fatalf("the failure was not logged with %s: %q", want, logged)
		}
	}

	// A logger of the application's own gets the report instead.
	var own lockedBuffer
	e, _ := limify.New(memoryConfig(t, webRules, nil))
	m := newMiddleware(t, e, limify.MiddlewareOptions{Logger: slog.New(slog.NewJSONHandler(&own, nil))})
	e.Close()
	before := logged.String()
	if w := serve(m.Handler(http.HandlerFunc(hello)), "GET", "/x", nil); w.Code != 200 {
		t.Fatalf("open: %d", w.Code)
	}
	if !strings.Contains(own.String(), `"msg":"limify: check failed; failure_mode applies"`) || logged.String() != before {
		t.Fatalf("own logger got %q; default got %q more", own.String(), strings.TrimPrefix(logged.String(), before))
	}
}

// Through a real HTTP server and client, from many goroutines at once:
// exactly the limit gets 200, the rest 429, nothing else.
func TestMiddlewareOverRealHTTPFromManyGoroutines(t *testing.T) {
	e := newEngine(t, memoryConfig(t, []map[string]any{{"id": "all", "path": "/**", "rate": "50/hour"}}, nil))
	srv := httptest.NewServer(newMiddleware(t, e, limify.MiddlewareOptions{}).Handler(http.HandlerFunc(hello)))
	defer srv.Close()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				resp, err := srv.Client().Get(srv.URL + "/x")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[200] != 50 || codes[429] != 110 || len(codes) != 2 {
		t.Fatalf("status codes %v; want 50 × 200 and 110 × 429", codes)
	}
}

// A cost over the limit can never pass: 429 without Retry-After, and the
// body says so with retry_after null.
func TestA429ThatWaitingCannotHelpHasNoRetryAfter(t *testing.T) {
	e := newEngine(t, memoryConfig(t, webRules, nil))
	m := newMiddleware(t, e, limify.MiddlewareOptions{})
	w := serve(m.Limit("search_route", 5, http.HandlerFunc(hello)), "GET", "/bulk", nil)
	if w.Code != 429 || w.Header().Get("Retry-After") != "" || w.Header().Get("X-RateLimit-Limit") != "3" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if v, ok := body["retry_after"]; !ok || v != nil {
		t.Fatalf("retry_after should be null: %s", w.Body)
	}
}
