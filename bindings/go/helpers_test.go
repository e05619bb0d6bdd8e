package limify_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	limify "github.com/limify/limify/bindings/go"
)

// memoryConfig is a memory-storage, manual-clock configuration with rules
// and any extra top-level keys.
func memoryConfig(t testing.TB, rules []map[string]any, extra map[string]any) string {
	t.Helper()
	cfg := map[string]any{"storage": map[string]any{"type": "memory"}, "clock": "manual", "rules": rules}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newEngine(t testing.TB, config string) *limify.Engine {
	t.Helper()
	e, err := limify.New(config)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var searchRules = []map[string]any{
	{"id": "search", "method": "GET", "path": "/search", "rate": "3/second"},
	{"id": "api", "path": "/api/**", "rate": "2/minute", "plans": map[string]any{"pro": "10/minute"}},
}

func searchEngine(t testing.TB) *limify.Engine {
	return newEngine(t, memoryConfig(t, searchRules, nil))
}

// captureLog sends the default slog logger to a buffer for the rest of the
// test, so a test can assert what the binding logged (and the output stays
// clean).
func captureLog(t *testing.T) *lockedBuffer {
	t.Helper()
	buf := &lockedBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
