// Package netguard keeps outgoing connections (webhook deliveries) away
// from addresses that are not globally reachable: loopback, private,
// shared, link-local, unique-local, multicast, unspecified, NAT64,
// documentation and the other special-purpose ranges of IANA's registries.
// The check runs at connect time, on the address the socket is about to
// reach, after name resolution and after unmapping IPv4-mapped IPv6: a name
// that resolves (or rebinds) to 127.0.0.1 is refused like the literal.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrNotAllowed is the failure of a connection to a refused address.
var ErrNotAllowed = errors.New("address not allowed")

// notGlobal lists the ranges IANA's IPv4 and IPv6 special-purpose address
// registries do not mark globally reachable (plus multicast and the
// reserved 240/4), which no webhook may reach.
var notGlobal = mustPrefixes(
	// IPv4
	"0.0.0.0/8",       // "this network"
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (carrier-grade NAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
	// IPv6
	"::/96",          // unspecified, loopback and IPv4-compatible
	"::ffff:0:0/96",  // IPv4-mapped (checked unmapped; kept as a net)
	"64:ff9b::/96",   // NAT64
	"64:ff9b:1::/48", // local-use NAT64
	"100::/64",       // discard-only
	"2001::/23",      // IETF protocol assignments
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4
	"3fff::/20",      // documentation
	"5f00::/16",      // segment routing SIDs
	"fc00::/7",       // unique-local
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
)

func mustPrefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// Resolver finds the addresses of a host name (net.Resolver does).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard decides which addresses may be dialled.
type Guard struct {
	allowed  []netip.Prefix
	resolver Resolver
}

// New builds a guard; allowed opens networks that would be refused
// (WEBHOOK_ALLOWED_NETWORKS). A nil resolver is the system's.
func New(allowed []netip.Prefix, resolver Resolver) *Guard {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	return &Guard{allowed: allowed, resolver: resolver}
}

// Allowed reports whether a connection may reach addr.
func (g *Guard) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return false
	}
	if g.InAllowedNetwork(addr) {
		return true
	}
	for _, p := range notGlobal {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// InAllowedNetwork reports whether addr is in a network opened by
// configuration (where plain http is accepted too).
func (g *Guard) InAllowedNetwork(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range g.allowed {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Control is a net.Dialer Control function: it runs once the address of
// the socket is known, just before connecting, and refuses what Allowed
// refuses.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrNotAllowed, address)
	}
	return nil
}

// DialContext resolves address with the guard's resolver and connects to
// the first address that answers, each one checked by Control. It is an
// http.Transport's DialContext.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if literal, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{literal}
	} else if addrs, err = g.resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: g.Control}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return nil, errors.Join(errs...)
}
