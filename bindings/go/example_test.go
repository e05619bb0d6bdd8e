package limify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	limify "github.com/limify/limify/bindings/go"
)

func ExampleEngine_Check() {
	engine, err := limify.New(`{"storage": {"type": "memory"}, "clock": "manual",
		"rules": [{"id": "search", "path": "/search", "rate": "2/minute"}]}`)
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	req := limify.Request{Method: "GET", Path: "/search", UserID: "42"}
	for i := 0; i < 3; i++ {
		d, err := engine.Check(context.Background(), req)
		if err != nil {
			panic(err)
		}
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Output:
	// true 1 0s
	// true 0 0s
	// false 0 30s
}

func ExampleNew_configError() {
	_, err := limify.New(`{"rules": [{"id": "search", "path": "/search", "rate": "2/fortnight"}]}`)
	fmt.Println(errors.Is(err, limify.ErrConfig), limify.StatusOf(err))
	// Output: true config_error
}

func ExampleMiddleware_Handler() {
	engine, err := limify.New(`{"storage": {"type": "memory"}, "clock": "manual",
		"rules": [{"id": "api", "path": "/api/**", "rate": "1/hour"}]}`)
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	limiter, err := limify.NewMiddleware(engine, limify.MiddlewareOptions{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		panic(err)
	}
	handler := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	for i := 0; i < 2; i++ {
		r := httptest.NewRequest("GET", "/api/items", nil)
		r.RemoteAddr = "10.0.0.7:50000"                // the proxy...
		r.Header.Set("X-Forwarded-For", "203.0.113.5") // ...speaking for the client
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("Retry-After"), w.Body.String())
	}
	// Output:
	// 200 0  ok
	// 429 0 3600 {"detail":"Rate limit exceeded","retry_after":3600,"limit":1,"rule":"api","plan":"default"}
}
