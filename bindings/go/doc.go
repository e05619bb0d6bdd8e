// Package limify is the Go binding of limify, an embeddable rate-limiting
// engine: a thin cgo layer over the C API in limify.h (liblimify.so, found
// through pkg-config).
//
//	engine, err := limify.New(`{"storage": {"type": "memory"},
//	    "rules": [{"id": "search", "path": "/search", "rate": "5/second"}]}`)
//	if err != nil { log.Fatal(err) }
//	defer engine.Close()
//	d, err := engine.Check(ctx, limify.Request{Method: "GET", Path: "/search", UserID: "alice"})
//	if err == nil && !d.Allowed { /* 429; retry after d.RetryAfter */ }
//
// An Engine is safe for concurrent use. A denial is a Decision with Allowed
// false, never an error; errors are *Error values carrying the C status
// (compare with errors.Is against ErrConfig, ErrNotFound, ...). Middleware
// limits a net/http handler.
package limify
