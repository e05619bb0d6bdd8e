package limify

import (
	"net"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads CIDRs ("10.0.0.0/8") and single addresses
// ("127.0.0.1", "::1"); a bad entry is an ErrInvalidArgument naming it.
func ParseTrustedProxies(items []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, unmapPrefix(p.Masked()))
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, invalid("ParseTrustedProxies", "TrustedProxies[%d]: %q is neither a CIDR nor an address", i, item)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// unmapPrefix turns "::ffff:10.0.0.0/104" into "10.0.0.0/8", so IPv4 peers
// seen through an IPv6 socket match either spelling.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// parseIP reads an address with an optional port ("1.2.3.4:5", "[::1]:5",
// "::1"); IPv4-mapped IPv6 addresses come back as IPv4.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the client's address: the peer (remoteAddr, as
// http.Request.RemoteAddr has it), or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For hop that is not one (each proxy appends the
// address it saw). Without trusted proxies the header is ignored: anyone can
// send it. "" when the peer address is empty.
func ClientIP(remoteAddr string, forwardedFor []string, proxies []netip.Prefix) string {
	peer, ok := parseIP(remoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return remoteAddr // not an address (a Unix socket): still an identity
		}
		return host
	}
	if len(proxies) == 0 || len(forwardedFor) == 0 || !trusted(peer, proxies) {
		return peer.String()
	}
	var hops []string
	for _, h := range forwardedFor {
		for _, hop := range strings.Split(h, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	client := peer.String()
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseIP(hops[i])
		if !ok {
			return hops[i] // no address, so no trusted proxy: the first untrusted hop
		}
		client = a.String()
		if !trusted(a, proxies) {
			return client
		}
	}
	return client // every hop is a trusted proxy: the left-most is the client
}

// NormalizePath resolves "." and ".." and drops empty segments and the
// query ("/a//b/../c?x" -> "/a/c"), so "/api/../admin" cannot slip past a
// rule on "/admin".
func NormalizePath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	segs := make([]string, 0, 8)
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	return "/" + strings.Join(segs, "/")
}
