package limify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	limify "github.com/limify/limify/bindings/go"
)

// One throwaway redis-server (scripts/redis-local, a free loopback port) for
// the whole package, started by the first test that needs it and stopped by
// TestMain.
var redis struct {
	once sync.Once
	dir  string
	url  string
	err  error
}

func redisLocal() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "scripts", "redis-local")
}

func redisURL(t testing.TB) string {
	t.Helper()
	redis.once.Do(func() {
		if _, err := exec.LookPath("redis-server"); err != nil {
			redis.err = fmt.Errorf("redis-server is not installed (scripts/setup installs it)")
			return
		}
		redis.dir, redis.err = os.MkdirTemp("", "limify-go-redis-")
		if redis.err != nil {
			return
		}
		out, err := exec.Command(redisLocal(), "server", redis.dir).Output()
		if err != nil {
			redis.err = fmt.Errorf("scripts/redis-local server: %v", err)
			return
		}
		redis.url = strings.TrimSpace(string(out))
	})
	if redis.err != nil {
		t.Fatal(redis.err)
	}
	port := redis.url[strings.LastIndexByte(redis.url, ':')+1:]
	if out, err := exec.Command("redis-cli", "-p", port, "flushall").CombinedOutput(); err != nil {
		t.Fatalf("redis-cli flushall: %v %s", err, out)
	}
	return redis.url
}

func TestMain(m *testing.M) {
	code := m.Run()
	if redis.dir != "" {
		exec.Command(redisLocal(), "stop", redis.dir).Run()
	}
	os.Exit(code)
}

func redisConfig(t testing.TB, url string, rules []map[string]any, extra map[string]any) string {
	t.Helper()
	cfg := map[string]any{
		// Generous: a loaded CI machine must not turn a live server into a degraded decision.
		"storage": map[string]any{"type": "redis", "url": url, "connect_timeout_ms": 2000, "command_timeout_ms": 2000},
		"rules":   rules,
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var redisRules = []map[string]any{{"id": "search", "path": "/search", "rate": "3/hour"}}

// deadURL is a loopback port where nothing listens: every connect is refused.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "redis://" + addr
}

func TestTwoEnginesShareOneRedisLimit(t *testing.T) {
	url := redisURL(t)
	a := newEngine(t, redisConfig(t, url, redisRules, nil))
	b := newEngine(t, redisConfig(t, url, redisRules, nil))
	var got []bool
	for _, e := range []*limify.Engine{a, b, a, b} {
		d := mustCheck(t, e, search("u"))
		if d.Degraded {
			t.Fatalf("degraded with Redis up: %+v", d)
		}
		got = append(got, d.Allowed)
	}
	if fmt.Sprint(got) != "[true true true false]" {
		t.Fatalf("decisions across two engines: %v", got)
	}
}

func TestGoroutinesOnOneRedisKeyNeverExceedTheLimit(t *testing.T) {
	e := newEngine(t, redisConfig(t, redisURL(t), []map[string]any{{"id": "hot", "path": "/hot", "rate": "100/hour"}}, nil))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				d, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/hot", UserID: "shared"})
				if err != nil || d.Degraded {
					t.Errorf("%+v %v", d, err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// 320 tries in well under the 36 s a token takes to come back.
	if allowed.Load() != 100 {
		t.Fatalf("allowed %d of 320, want exactly 100", allowed.Load())
	}
}

func TestRedisBatchMatchesSingleChecks(t *testing.T) {
	e := newEngine(t, redisConfig(t, redisURL(t), redisRules, nil))
	ds, errs := e.CheckBatch(ctx, []limify.Request{search("b"), search("b"), search("b"), search("b")})
	for i, want := range []bool{true, true, true, false} {
		if errs[i] != nil || ds[i].Allowed != want || ds[i].Degraded {
			t.Fatalf("request %d: %+v %v", i, ds[i], errs[i])
		}
	}
}

// A key batch is decided on the real server, in order, and what it consumed
// is there for the next engine to see.
func TestRedisKeyBatchMatchesSingleChecks(t *testing.T) {
	url := redisURL(t)
	e := newEngine(t, redisConfig(t, url, redisRules, nil))
	ds, errs := e.CheckKeyBatch(ctx, "search", []string{"b", "b", "b", "b", "c"}, nil)
	for i, want := range []bool{true, true, true, false, true} {
		if errs[i] != nil || ds[i].Allowed != want || ds[i].Degraded {
			t.Fatalf("identity %d: %+v %v", i, ds[i], errs[i])
		}
	}
	other := newEngine(t, redisConfig(t, url, redisRules, nil))
	ds, errs = other.CheckKeyBatch(ctx, "search", []string{"b", "c", "x\x00"}, []int64{1, 2, 1})
	if errs[0] != nil || ds[0].Allowed || ds[0].Degraded || errs[1] != nil || !ds[1].Allowed || ds[1].Remaining != 0 {
		t.Fatalf("the second engine does not see the first's batch: %+v %v", ds, errs)
	}
	if !errors.Is(errs[2], limify.ErrInvalidArgument) {
		t.Fatalf("identity 2 (NUL): %v", errs[2])
	}
}

// A storage that is down is no error: failure_mode decides, the decision is
// degraded, and the error hook hears about it.
func TestRedisDownFollowsTheFailureMode(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			e := newEngine(t, redisConfig(t, deadURL(t), redisRules, map[string]any{"failure_mode": mode}))
			errs := make(chan error, 8)
			e.SetHooks(limify.Hooks{OnError: func(err error) {
				select {
				case errs <- err:
				default:
				}
			}})
			d, err := e.Check(ctx, search("u"))
			if err != nil {
				t.Fatalf("a storage outage became an error: %v", err)
			}
			if !d.Degraded || d.Allowed != (mode == "open") {
				t.Fatalf("%s: %+v", mode, d)
			}
			select {
			case err := <-errs:
				if !errors.Is(err, limify.ErrStorage) {
					t.Fatalf("the error hook got %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the error hook heard nothing")
			}
		})
	}
}

// A server that accepts and never answers: the check is degraded within
// the command timeout (and the breaker), it does not hang.
func TestSilentRedisTimesOutDegraded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e := newEngine(t, `{"storage": {"type": "redis", "url": "redis://`+l.Addr().String()+`", "command_timeout_ms": 300},
		"rules": [{"id": "search", "path": "/search", "rate": "3/hour"}]}`)
	start := time.Now()
	d, err := e.Check(ctx, search("u"))
	if err != nil || !d.Allowed || !d.Degraded {
		t.Fatalf("%+v %v", d, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("a silent server held the check for %v", took)
	}
}

// Through the middleware: Redis down is never a 500.
func TestMiddlewareWithRedisDownAnswersByFailureMode(t *testing.T) {
	for mode, want := range map[string]int{"open": 200, "closed": 429} {
		e := newEngine(t, redisConfig(t, deadURL(t), []map[string]any{{"id": "all", "path": "/**", "rate": "5/hour"}},
			map[string]any{"failure_mode": mode}))
		h := newMiddleware(t, e, limify.MiddlewareOptions{}).Handler(http.HandlerFunc(hello))
		for i := 0; i < 3; i++ {
			if w := serve(h, "GET", "/x", nil); w.Code != want {
				t.Fatalf("%s, request %d: %d %s", mode, i, w.Code, w.Body)
			}
		}
	}
}

func TestMiddlewareSharesLimitsAcrossServersThroughRedis(t *testing.T) {
	url := redisURL(t)
	rules := []map[string]any{{"id": "all", "path": "/**", "rate": "4/hour"}}
	var handlers []http.Handler
	for i := 0; i < 2; i++ {
		e := newEngine(t, redisConfig(t, url, rules, nil))
		handlers = append(handlers, newMiddleware(t, e, limify.MiddlewareOptions{UserIDHeader: "X-User"}).Handler(http.HandlerFunc(hello)))
	}
	as := func(r *http.Request) { r.Header.Set("X-User", "shared") }
	var codes []int
	for i := 0; i < 6; i++ {
		codes = append(codes, serve(handlers[i%2], "GET", "/x", as).Code)
	}
	if fmt.Sprint(codes) != "[200 200 200 200 429 429]" {
		t.Fatalf("two servers, one limit: %v", codes)
	}
}
