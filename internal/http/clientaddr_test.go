package http

import (
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer without proxies", "192.0.2.1:1234", nil, nil, "192.0.2.1"},
		{"header from an untrusted peer is ignored", "192.0.2.1:1234", []string{"203.0.113.1"}, proxies, "192.0.2.1"},
		{"header ignored when no proxy is trusted", "10.0.0.1:80", []string{"203.0.113.1"}, nil, "10.0.0.1"},
		{"entry added by a trusted proxy", "10.0.0.1:80", []string{"203.0.113.1"}, proxies, "203.0.113.1"},
		{"forged entries left of the proxy's are ignored", "10.0.0.1:80", []string{"1.1.1.1, 8.8.8.8, 203.0.113.1"}, proxies, "203.0.113.1"},
		{"chain of trusted proxies is walked", "10.0.0.1:80", []string{"203.0.113.1, 10.0.0.7,10.1.2.3"}, proxies, "203.0.113.1"},
		{"several header lines read as one list", "10.0.0.1:80", []string{"1.1.1.1", "203.0.113.1"}, proxies, "203.0.113.1"},
		{"only trusted hops: the farthest one", "10.0.0.1:80", []string{"10.0.0.9"}, proxies, "10.0.0.9"},
		{"trusted peer without header", "10.0.0.1:80", nil, proxies, "10.0.0.1"},
		{"garbage written by a trusted proxy stops the walk", "10.0.0.1:80", []string{"203.0.113.1, garbage"}, proxies, "10.0.0.1"},
		{"garbage left of the client is never reached", "10.0.0.1:80", []string{"garbage, 203.0.113.1"}, proxies, "203.0.113.1"},
		{"empty entry stops the walk", "10.0.0.1:80", []string{"203.0.113.1, "}, proxies, "10.0.0.1"},
		{"entries with ports", "10.0.0.1:80", []string{"[2001:db8::2]:4711, 10.0.0.3:80"}, proxies, "2001:db8::2"},
		{"IPv4 entry with port", "10.0.0.1:80", []string{"203.0.113.1:4711"}, proxies, "203.0.113.1"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, proxies, "2001:db8::1"},
		{"trusted IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::5"}, proxies, "2001:db8:1::5"},
		{"IPv4-mapped peer is IPv4", "[::ffff:10.0.0.1]:80", []string{"203.0.113.1"}, proxies, "203.0.113.1"},
		{"peer without port", "192.0.2.1", nil, nil, "192.0.2.1"},
		{"unreadable peer", "", []string{"203.0.113.1"}, proxies, "invalid IP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := clientAddr(c.remote, c.xff, c.trusted).String(); got != c.want {
				t.Fatalf("clientAddr(%q, %q) = %s, want %s", c.remote, c.xff, got, c.want)
			}
		})
	}
}
