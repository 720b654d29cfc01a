package http

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request came from: the peer's, or, when the
// peer is a trusted proxy, the X-Forwarded-For entry the nearest untrusted
// hop was seen from. Entries are read from the right, each one written by
// the proxy it reached; the walk stops at the first address no trusted
// proxy owns, since everything left of it may be forged. A header from an
// untrusted peer is never read.
func clientAddr(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(remoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range forwardedFor {
		hops = append(hops, strings.Split(h, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parseHostAddr(strings.TrimSpace(hops[i]))
		if !hop.IsValid() {
			// A trusted proxy wrote something unreadable: the last address
			// known for sure is the proxy that passed it on.
			return addr
		}
		addr = hop
		if !isTrusted(hop, trusted) {
			return hop
		}
	}
	return addr
}

// parseHostAddr reads "203.0.113.9", "203.0.113.9:5678", "2001:db8::1" or
// "[2001:db8::1]:5678".
func parseHostAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.WithZone("")
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddrOf applies the server's trusted proxies to a request.
func (s *server) clientAddrOf(r *http.Request) netip.Addr {
	return clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)
}
