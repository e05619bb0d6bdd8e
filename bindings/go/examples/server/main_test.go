package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	limify "github.com/limify/limify/bindings/go"
)

// The example as a user runs it: its built-in configuration behind a real
// HTTP server.
func TestTheExampleLimitsSearchesAndServesMetrics(t *testing.T) {
	engine, err := limify.New(builtinConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	handler, err := newHandler(engine, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-User", "alice")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for i := 9; i >= 0; i-- {
		resp, body := get("/search")
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != strings.TrimSpace(strings.Fields(body)[1][1:]) {
			t.Fatalf("search %d: %d %v %q", 10-i, resp.StatusCode, resp.Header, body)
		}
	}
	if resp, body := get("/search"); resp.StatusCode != 429 || !strings.Contains(body, `"rule":"search_route"`) {
		t.Fatalf("eleventh search: %d %q", resp.StatusCode, body)
	}
	if resp, body := get("/metrics"); resp.StatusCode != 200 ||
		!strings.Contains(body, `limify_decisions_total{rule="search_route",plan="default",outcome="denied"} 1`) {
		t.Fatalf("metrics: %d\n%s", resp.StatusCode, body)
	}
}
