package limify_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	limify "github.com/limify/limify/bindings/go"
)

// Many goroutines on one key: exactly the limit passes (the manual clock
// stands still, so nothing refills).
func TestSixtyFourGoroutinesOnOneKeyGetExactlyTheLimit(t *testing.T) {
	e := newEngine(t, memoryConfig(t, []map[string]any{{"id": "hot", "path": "/hot", "rate": "100/hour"}}, nil))
	var allowed, denied atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				d, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/hot", UserID: "shared"})
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				} else {
					denied.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 100 || denied.Load() != 64*50-100 {
		t.Fatalf("allowed %d, denied %d; want 100 and %d", allowed.Load(), denied.Load(), 64*50-100)
	}
}

// Every goroutine has its own key: each gets its whole limit, no more.
func TestGoroutinesOnTheirOwnKeysDoNotInterfere(t *testing.T) {
	e := newEngine(t, memoryConfig(t, []map[string]any{{"id": "k", "path": "/k", "rate": "10/hour"}}, nil))
	var wg sync.WaitGroup
	counts := make([]int, 32)
	for g := range counts {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				d, err := e.CheckKey(ctx, "k", string(rune('A'+g)), 1)
				if err == nil && d.Allowed {
					counts[g]++
				}
			}
		}(g)
	}
	wg.Wait()
	for g, c := range counts {
		if c != 10 {
			t.Fatalf("goroutine %d got %d, want 10", g, c)
		}
	}
}

// Close while goroutines check: each call either decides or returns
// ErrClosed, never touches a freed engine (the race detector and the C
// library's own checks would see it).
func TestCloseDuringChecksIsSafe(t *testing.T) {
	e, err := limify.New(memoryConfig(t, searchRules, nil))
	if err != nil {
		t.Fatal(err)
	}
	var decided, closed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for { // until Close: every goroutine must meet it
				_, err := e.Check(ctx, search("c"))
				switch {
				case err == nil:
					decided.Add(1)
				case errors.Is(err, limify.ErrClosed):
					closed.Add(1)
					return
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	close(start)
	for decided.Load() < 100 {
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if closed.Load() != 16 {
		t.Fatalf("%d of 16 goroutines saw ErrClosed (%d decided)", closed.Load(), decided.Load())
	}
}

// Hooks swapped while goroutines check: every decision reaches exactly one
// of the hook sets (or none, while none is installed), none is lost or
// counted twice.
func TestHooksSwappedDuringChecksCountEveryDecisionOnce(t *testing.T) {
	e := newEngine(t, memoryConfig(t, []map[string]any{{"id": "h", "path": "/h", "rate": "1000000/hour"}}, nil))
	var a, b atomic.Int64
	hookA := limify.Hooks{OnDecision: func(limify.Operation, *limify.Request, limify.Decision) { a.Add(1) }}
	hookB := limify.Hooks{OnDecision: func(limify.Operation, *limify.Request, limify.Decision) { b.Add(1) }}
	if err := e.SetHooks(hookA); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if _, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/h", UserID: "u"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		h := hookA
		if i%2 == 1 {
			h = hookB
		}
		if err := e.SetHooks(h); err != nil {
			t.Fatal(err)
		}
	}
	e.SetHooks(hookA)
	wg.Wait()
	if got := a.Load() + b.Load(); got != 8*500 {
		t.Fatalf("hooks saw %d decisions, want %d", got, 8*500)
	}
}

// Reload while goroutines check: every check decides, under the old
// configuration or the new one, never an error or a mix.
func TestReloadDuringChecksSwapsAtomically(t *testing.T) {
	config := func(limit int) string {
		return memoryConfig(t, []map[string]any{{"id": "r", "path": "/r", "rate": fmt.Sprintf("%d/hour", limit)}}, nil)
	}
	e := newEngine(t, config(1000))
	stop := make(chan struct{})
	seen := make([]map[int64]int, 8)
	var wg, started sync.WaitGroup
	started.Add(len(seen))
	for g := range seen {
		seen[g] = map[int64]int{}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var once sync.Once
			running := func() { once.Do(started.Done) }
			defer running() // an early return must not hold up the reloads
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Check(ctx, limify.Request{Method: "GET", Path: "/r", UserID: strconv.Itoa(g)})
				if err != nil || d.RuleID != "r" {
					t.Errorf("%+v %v", d, err)
					return
				}
				seen[g][d.Limit]++
				running()
			}
		}(g)
	}
	started.Wait() // every goroutine is checking before the first reload
	for i := 0; i < 40; i++ {
		if err := e.Reload(config(1000 + 1000*(i%2+1))); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if d := mustCheck(t, e, limify.Request{Method: "GET", Path: "/r", UserID: "after"}); d.Limit != 3000 {
		t.Fatalf("after the last reload: %+v", d)
	}
	for g, limits := range seen {
		for limit := range limits {
			if limit != 1000 && limit != 2000 && limit != 3000 {
				t.Fatalf("goroutine %d saw limit %d", g, limit)
			}
		}
	}
}
