package limify_test

// Benchmarks: ns per check through cgo, beside golang.org/x/time/rate (one
// *rate.Limiter per key in a sync.Map, the usual Go idiom) in the same run.
//
//	go test -run '^$' -bench . -benchtime 1s
//
// Both sides decide "may this key spend one token now?" under the same rate,
// high enough that every check is allowed (the cost of a denial is the same
// for both). limify's figure includes the whole engine: rule matching,
// identity hashing (SHA-256), the key map, the algorithm plugin.

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	limify "github.com/limify/limify/bindings/go"
	"golang.org/x/time/rate"
)

const benchKeys = 10000

// benchBatch is the identities per CheckKeyBatch call (each counts as a check).
const benchBatch = 64

func benchEngine(b *testing.B) *limify.Engine {
	return newEngine(b, `{"storage": {"type": "memory"},
		"rules": [{"id": "api", "path": "/api/**", "rate": "1000000000/second"}]}`)
}

var benchUsers = func() []string {
	out := make([]string, benchKeys)
	for i := range out {
		out[i] = "user-" + strconv.Itoa(i)
	}
	return out
}()

// keyedLimiter is the peer: a rate.Limiter per key, created on first use.
type keyedLimiter struct{ m sync.Map }

func (k *keyedLimiter) allow(key string) bool {
	l, ok := k.m.Load(key)
	if !ok {
		l, _ = k.m.LoadOrStore(key, rate.NewLimiter(rate.Limit(1e9), 1e9))
	}
	return l.(*rate.Limiter).Allow()
}

func reportPerCheck(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/check")
}

// The price of one cgo call that does nothing, for scale.
func BenchmarkCgoFloor(b *testing.B) {
	for i := 0; i < b.N; i++ {
		limify.VersionNumber()
	}
	reportPerCheck(b)
}

func BenchmarkCheck(b *testing.B) {
	for _, keys := range []int{1, benchKeys} {
		name := "keys=" + strconv.Itoa(keys)
		b.Run(name+"/limify.Check", func(b *testing.B) {
			e := benchEngine(b)
			req := limify.Request{Method: "GET", Path: "/api/items"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.UserID = benchUsers[i%keys]
				if d, err := e.Check(ctx, req); err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
			reportPerCheck(b)
		})
		b.Run(name+"/limify.CheckKey", func(b *testing.B) {
			e := benchEngine(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if d, err := e.CheckKey(ctx, "api", benchUsers[i%keys], 1); err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
			reportPerCheck(b)
		})
		b.Run(name+"/limify.CheckKeyBatch", func(b *testing.B) {
			e := benchEngine(b)
			ids := make([]string, benchBatch)
			b.ResetTimer()
			for i := 0; i < b.N; i += benchBatch {
				batch := ids[:min(benchBatch, b.N-i)] // b.N checks in all
				for j := range batch {
					batch[j] = benchUsers[(i+j)%keys]
				}
				ds, errs := e.CheckKeyBatch(ctx, "api", batch, nil)
				for j := range batch {
					if errs[j] != nil || !ds[j].Allowed {
						b.Fatal(ds[j], errs[j])
					}
				}
			}
			reportPerCheck(b)
		})
		b.Run(name+"/x-time-rate", func(b *testing.B) {
			var k keyedLimiter
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !k.allow(benchUsers[i%keys]) {
					b.Fatal("denied")
				}
			}
			reportPerCheck(b)
		})
	}
}

// From GOMAXPROCS goroutines at once, each on its own rotating keys.
func BenchmarkCheckParallel(b *testing.B) {
	b.Run("limify.Check", func(b *testing.B) {
		e := benchEngine(b)
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			req := limify.Request{Method: "GET", Path: "/api/items"}
			for pb.Next() {
				i++
				req.UserID = benchUsers[i%benchKeys]
				if d, err := e.Check(ctx, req); err != nil || !d.Allowed {
					b.Error(d, err)
					return
				}
			}
		})
		reportPerCheck(b)
	})
	b.Run("x-time-rate", func(b *testing.B) {
		var k keyedLimiter
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			for pb.Next() {
				i++
				if !k.allow(benchUsers[i%benchKeys]) {
					b.Error("denied")
					return
				}
			}
		})
		reportPerCheck(b)
	})
}

// One Redis round trip per check (a real redis-server on loopback); the
// peer has no shared storage, so this row stands alone.
func BenchmarkCheckRedis(b *testing.B) {
	e := newEngine(b, redisConfig(b, redisURL(b), []map[string]any{{"id": "api", "path": "/api/**", "rate": "1000000000/second"}}, nil))
	req := limify.Request{Method: "GET", Path: "/api/items"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.UserID = benchUsers[i%benchKeys]
		if d, err := e.Check(ctx, req); err != nil || !d.Allowed || d.Degraded {
			b.Fatal(d, err)
		}
	}
	reportPerCheck(b)
}
