// Command redis_rate_bench measures go-redis/redis_rate (GCRA in one Lua
// script, the usual Go choice for a Redis rate limiter) on a given Redis
// server, the way bench/redis_bench measures limify: N concurrent callers,
// each checking its own key as fast as it can, under a limit no caller
// reaches. One JSON line per caller count on stdout:
//
//	{"peer": "go-redis/redis_rate", "callers": 8, "checks_per_s": ..., "p50_us": ..., "p99_us": ..., "errors": 0, "pool_size": 20}
//
// The client keeps go-redis's default pool (10 connections per GOMAXPROCS),
// as the limiter's users run it.
//
// Usage: redis_rate_bench -url redis://127.0.0.1:PORT [-seconds 2] [-callers 1,2,8,32,64]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// moduleVersion is the version of `path` this binary was built with.
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
	Callers    int     `json:"callers"`
	ChecksPerS float64 `json:"checks_per_s"`
	P50Us      float64 `json:"p50_us"`
	P99Us      float64 `json:"p99_us"`
	Errors     int64   `json:"errors"`
	PoolSize   int     `json:"pool_size"`
}

func parseCallers(text string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-callers: %q is not a positive integer", item)
		}
		out = append(out, n)
	}
	return out, nil
}

// run has `callers` goroutines check their own keys for `seconds`.
func run(ctx context.Context, limiter *redis_rate.Limiter, callers int, seconds float64) result {
	var stop atomic.Bool
	var errors atomic.Int64
	latencies := make([][]time.Duration, callers)
	limit := redis_rate.PerSecond(1000000)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for c := 0; c < callers; c++ {
		ready.Add(1)
		done.Add(1)
		go func(c int) {
			defer done.Done()
			key := "bench-" + strconv.Itoa(c)
			lat := make([]time.Duration, 0, 1<<16)
			ready.Done()
			<-start
			for !stop.Load() {
				t0 := time.Now()
				res, err := limiter.Allow(ctx, key, limit)
				lat = append(lat, time.Since(t0))
				if err != nil || res.Allowed == 0 {
					errors.Add(1)
				}
			}
			latencies[c] = lat
		}(c)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	stop.Store(true)
	done.Wait()
	elapsed := time.Since(t0).Seconds()
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	r := result{Peer: "go-redis/redis_rate", Version: moduleVersion("github.com/go-redis/redis_rate/v10"), Callers: callers, Errors: errors.Load()}
	if len(all) == 0 {
		return r
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.ChecksPerS = float64(len(all)) / elapsed
	r.P50Us = float64(all[len(all)/2].Nanoseconds()) / 1000
	r.P99Us = float64(all[min(len(all)-1, len(all)*99/100)].Nanoseconds()) / 1000
	return r
}

func main() {
	url := flag.String("url", "", "redis://127.0.0.1:PORT (required)")
	seconds := flag.Float64("seconds", 2, "seconds per caller count")
	callersFlag := flag.String("callers", "1,2,8,32,64", "caller counts, comma-separated")
	flag.Parse()
	callers, err := parseCallers(*callersFlag)
	if err != nil || *url == "" {
		fmt.Fprintln(os.Stderr, "usage: redis_rate_bench -url redis://127.0.0.1:PORT [-seconds S] [-callers 1,2,8]")
		os.Exit(2)
	}
	opts, err := redis.ParseURL(*url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "redis_rate_bench: -url %s: %v\n", *url, err)
		os.Exit(2)
	}
	// go-redis's own pool (10 connections per GOMAXPROCS): the limiter as its users run it.
	client := redis.NewClient(opts)
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		fmt.Fprintf(os.Stderr, "redis_rate_bench: cannot reach %s: %v\n", *url, err)
		os.Exit(1)
	}
	limiter := redis_rate.NewLimiter(client)
	out := json.NewEncoder(os.Stdout)
	for _, c := range callers {
		r := run(ctx, limiter, c, *seconds)
		r.PoolSize = client.Options().PoolSize
		if err := out.Encode(r); err != nil {
			os.Exit(1)
		}
		if r.Errors > 0 {
			fmt.Fprintf(os.Stderr, "redis_rate_bench: %d checks failed or were denied at %d callers\n", r.Errors, c)
		}
	}
}
