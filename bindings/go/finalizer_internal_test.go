package limify

import (
	"runtime"
	"testing"
	"time"
)

// An engine nobody closed is freed by its finalizer once unreachable.
func TestTheFinalizerFreesAForgottenEngine(t *testing.T) {
	before := freedEngines.Load()
	for i := 0; i < 8; i++ {
		e, err := New(`{"storage": {"type": "memory"}, "rules": []}`)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // hooks and providers must not keep the engine reachable
			e.SetHooks(Hooks{OnError: func(error) {}})
			e.SetPlanProvider(func(Request, string) string { return "" })
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for freedEngines.Load()-before < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 8 forgotten engines freed after 5 s of GC", freedEngines.Load()-before)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
