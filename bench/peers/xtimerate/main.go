// Command xtimerate_bench measures golang.org/x/time/rate used per key (one
// *rate.Limiter per key in a sync.Map, created on first use: the usual Go
// idiom) the way bench/capi_bench measures limify: 1 and 2 threads, 1 and
// 1,000,000 keys, every key created before timing, a rate no key reaches so
// every check is allowed. One JSON line per case on stdout:
//
//	{"peer": "golang.org/x/time/rate", "keys": 1000000, "threads": 2, "ns_per_check": ..., "checks_per_s": ...}
//
// ns_per_check is wall time over all threads' checks together, as Google
// Benchmark reports a threaded benchmark with real time.
//
// Usage: xtimerate_bench [-seconds 1] [-keys 1,1000000] [-threads 1,2]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

type keyed struct{ m sync.Map }

func (k *keyed) allow(key string) bool {
	l, ok := k.m.Load(key)
	if !ok {
		l, _ = k.m.LoadOrStore(key, rate.NewLimiter(rate.Limit(1e9), 1e9))
	}
	return l.(*rate.Limiter).Allow()
}

func parseList(flagName, text string) []int {
	var out []int
	for _, item := range strings.Split(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "xtimerate_bench: -%s: %q is not a positive integer\n", flagName, item)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}

type result struct {
	Peer       string  `json:"peer"`
	Version    string  `json:"version"`
	Keys       int     `json:"keys"`
	Threads    int     `json:"threads"`
	NsPerCheck float64 `json:"ns_per_check"`
	ChecksPerS float64 `json:"checks_per_s"`
}

// run has `threads` goroutines (on as many OS threads) check keys round-robin
// from their own offsets for `seconds`.
func run(ids []string, threads int, seconds float64) (float64, bool) {
	var k keyed
	for _, id := range ids {
		k.allow(id)
	}
	var stop atomic.Bool
	var denied atomic.Bool
	counts := make([]int64, threads)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for t := 0; t < threads; t++ {
		ready.Add(1)
		done.Add(1)
		go func(t int) {
			defer done.Done()
			runtime.LockOSThread()
			i := t * 7919
			var n int64
			ready.Done()
			<-start
			for !stop.Load() {
				for j := 0; j < 64; j++ {
					if !k.allow(ids[i%len(ids)]) {
						denied.Store(true)
					}
					i++
				}
				n += 64
			}
			counts[t] = n
		}(t)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	stop.Store(true)
	done.Wait()
	elapsed := time.Since(t0)
	var total int64
	for _, n := range counts {
		total += n
	}
	return float64(elapsed.Nanoseconds()) / float64(total), !denied.Load()
}

func main() {
	seconds := flag.Float64("seconds", 1, "seconds per case")
	keysFlag := flag.String("keys", "1,1000000", "key counts, comma-separated")
	threadsFlag := flag.String("threads", "1,2", "thread counts, comma-separated")
	flag.Parse()
	keys, threads := parseList("keys", *keysFlag), parseList("threads", *threadsFlag)
	out := json.NewEncoder(os.Stdout)
	version := moduleVersion("golang.org/x/time")
	for _, n := range keys {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "user-" + strconv.Itoa(i)
		}
		rand.New(rand.NewSource(42)).Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for _, t := range threads {
			ns, ok := run(ids, t, *seconds)
			if !ok {
				fmt.Fprintf(os.Stderr, "xtimerate_bench: a check was denied at %d keys, %d threads\n", n, t)
				os.Exit(1)
			}
			if err := out.Encode(result{"golang.org/x/time/rate", version, n, t, ns, 1e9 / ns}); err != nil {
				os.Exit(1)
			}
		}
	}
}
