package limify_test

// Fuzz targets for what the middleware parses from outside input: paths and
// X-Forwarded-For. `go test` runs the seeds; `go test -fuzz FuzzClientIP`
// (or FuzzNormalizePath) searches further.

import (
	"net/netip"
	"strings"
	"testing"

	limify "github.com/limify/limify/bindings/go"
)

func FuzzNormalizePath(f *testing.F) {
	for _, seed := range []string{"/", "", "/a/b", "/a//b/../c", "/../../etc", "/./x/.", "a/b?x=/../y", "/%2e%2e/x", "/a/b/.."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := limify.NormalizePath(p)
		if !strings.HasPrefix(n, "/") {
			t.Fatalf("%q -> %q does not start with /", p, n)
		}
		if n != "/" && strings.HasSuffix(n, "/") {
			t.Fatalf("%q -> %q ends with /", p, n)
		}
		for _, seg := range strings.Split(n[1:], "/") {
			if (seg == "" && n != "/") || seg == "." || seg == ".." {
				t.Fatalf("%q -> %q keeps segment %q", p, n, seg)
			}
		}
		if strings.Contains(n, "?") {
			t.Fatalf("%q -> %q keeps the query", p, n)
		}
		if again := limify.NormalizePath(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", p, n, again)
		}
	})
}

func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:80", "1.2.3.4, 10.0.0.2")
	f.Add("203.0.113.9:1", "6.6.6.6")
	f.Add("[::1]:443", "2001:db8::1, ::1")
	f.Add("[::ffff:10.0.0.1]:80", "garbage,,  ,[2001:db8::2]:9")
	f.Add("", "1.1.1.1")
	proxies, err := limify.ParseTrustedProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := limify.ClientIP(peer, []string{xff}, proxies)
		// Without trusted proxies, or from an untrusted peer, the header never counts.
		if untrusted := limify.ClientIP(peer, []string{xff}, nil); untrusted != limify.ClientIP(peer, nil, nil) {
			t.Fatalf("no proxies, yet %q counted: %q", xff, untrusted)
		}
		if ap, err := netip.ParseAddrPort(peer); err == nil {
			a := ap.Addr().Unmap().WithZone("")
			if !proxies[0].Contains(a) && !proxies[1].Contains(a) && got != a.String() {
				t.Fatalf("untrusted peer %q: got %q", peer, got)
			}
		}
		// The answer is the peer or one of the hops, never made up.
		if got != limify.ClientIP(peer, nil, nil) && !strings.Contains(xff, strings.Trim(got, "[]")) {
			if a, err := netip.ParseAddr(got); err != nil || !hopIs(xff, a) {
				t.Fatalf("ClientIP(%q, %q) = %q: neither the peer nor a hop", peer, xff, got)
			}
		}
	})
}

// hopIs: some hop of xff parses (with or without a port) to a.
func hopIs(xff string, a netip.Addr) bool {
	for _, h := range strings.Split(xff, ",") {
		h = strings.TrimSpace(h)
		if ap, err := netip.ParseAddrPort(h); err == nil && ap.Addr().Unmap().WithZone("") == a {
			return true
		}
		if b, err := netip.ParseAddr(h); err == nil && b.Unmap().WithZone("") == a {
			return true
		}
	}
	return false
}
