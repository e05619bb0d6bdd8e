// An HTTP server limited by limify: every request against the config's path
// rules, /search also against a rule of its own, the engine's metrics at
// /metrics.
//
//	go run ./examples/server -addr 127.0.0.1:8080 [-config limify.json]
//	curl -i -H 'X-User: alice' http://127.0.0.1:8080/search
//
// Without -config it uses the built-in configuration below (memory storage).
// Behind a reverse proxy, pass its address with -trusted-proxy so
// X-Forwarded-For counts the real client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	limify "github.com/limify/limify/bindings/go"
)

const builtinConfig = `{
  "storage": {"type": "memory"},
  "rules": [
    {"id": "global", "path": "/**", "rate": "60/minute"},
    {"id": "login", "method": "POST", "path": "/login", "rate": "5/minute", "priority": 10},
    {"id": "search_route", "path": "/_route/search", "rate": "10/minute", "plans": {"pro": "100/minute"}}
  ]
}`

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	config := flag.String("config", "", "limify JSON configuration file (default: a built-in one)")
	proxy := flag.String("trusted-proxy", "", "CIDR of a reverse proxy whose X-Forwarded-For is believed")
	flag.Parse()

	var engine *limify.Engine
	var err error
	if *config != "" {
		engine, err = limify.NewFromFile(*config)
	} else {
		engine, err = limify.New(builtinConfig)
	}
	if err != nil {
		log.Fatal(err) // names the JSON path of a bad setting
	}
	defer engine.Close()

	var trusted []string
	if *proxy != "" {
		trusted = []string{*proxy}
	}
	handler, err := newHandler(engine, trusted)
	if err != nil {
		log.Fatal(err)
	}

	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	log.Printf("limify %s: listening on http://%s", limify.Version(), *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// newHandler is the whole application: the limiter around a mux with a
// route limit on /search and the engine's metrics on /metrics.
func newHandler(engine *limify.Engine, trustedProxies []string) (http.Handler, error) {
	limiter, err := limify.NewMiddleware(engine, limify.MiddlewareOptions{
		UserIDHeader:   "X-User",
		TrustedProxies: trustedProxies,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	mux.Handle("/search", limiter.Limit("search_route", 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := limify.DecisionFromContext(r.Context())
		fmt.Fprintf(w, "results (%d searches left under %s)\n", d.Remaining, d.RuleID)
	})))
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		text, err := engine.Stats(limify.StatsPrometheus)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(text)
	})
	return limiter.Handler(mux), nil
}
