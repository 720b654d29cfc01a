package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"epicevents/internal/netguard"
)

func TestAllowedRefusesEveryNotGloballyReachableRange(t *testing.T) {
	t.Parallel()
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.255",
		"169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1",
		"192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
		"239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
		"64:ff9b::a00:1", "64:ff9b:1::1", "100::1", "2001::1", "2001:db8::1", "2002:7f00:1::1",
		"3fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1",
		"ff02::1", "ff05::1:3",
	}
	allowed := []string{
		"1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
		"192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.255",
		"2606:4700::1111", "2a00:1450:4007::1", "::ffff:8.8.8.8", "2001:200::1",
	}
	g := netguard.New(nil, nil)
	var wrong []string
	for _, s := range refused {
		if g.Allowed(netip.MustParseAddr(s)) {
			wrong = append(wrong, s+" allowed")
		}
	}
	for _, s := range allowed {
		if !g.Allowed(netip.MustParseAddr(s)) {
			wrong = append(wrong, s+" refused")
		}
	}
	if diff := cmp.Diff([]string(nil), wrong); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if g.Allowed(netip.Addr{}) {
		t.Fatal("the zero address is allowed")
	}
}

func TestAllowedNetworksOpenOnlyThemselves(t *testing.T) {
	t.Parallel()
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	for s, want := range map[string]bool{"127.0.0.1": true, "::ffff:127.0.0.2": true, "::1": false, "10.0.0.1": false} {
		if got := g.Allowed(netip.MustParseAddr(s)); got != want {
			t.Errorf("%s: allowed %v, want %v", s, got, want)
		}
	}
}

// resolver answers from a table, as a rebinding DNS server would.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if addrs, ok := r[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// A name that resolves to loopback is refused at connect time, before any
// packet leaves; opening 127.0.0.0/8 lets it reach a loopback listener.
// No test traffic goes anywhere but loopback.
func TestDialRefusesANameThatResolvesToLoopback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	names := resolver{
		"rebind.test":   {netip.MustParseAddr("127.0.0.1")},
		"mapped.test":   {netip.MustParseAddr("::ffff:127.0.0.1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"twofaced.test": {netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("127.0.0.1")},
	}
	ctx := context.Background()
	closed := netguard.New(nil, names)
	for _, address := range []string{"rebind.test:" + port, "mapped.test:" + port, "metadata.test:" + port,
		"twofaced.test:" + port, "127.0.0.1:" + port, "[::ffff:127.0.0.1]:" + port} {
		conn, err := closed.DialContext(ctx, "tcp", address)
		if err == nil {
			conn.Close()
			t.Errorf("%s: connected", address)
			continue
		}
		if !errors.Is(err, netguard.ErrNotAllowed) {
			t.Errorf("%s: %v, want ErrNotAllowed", address, err)
		}
	}
	select {
	case <-accepted:
		t.Fatal("a refused dial reached the listener")
	default:
	}
	open := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, names)
	for _, address := range []string{"rebind.test:" + port, "twofaced.test:" + port} {
		conn, err := open.DialContext(ctx, "tcp", address)
		if err != nil {
			t.Fatalf("%s with 127.0.0.0/8 open: %v", address, err)
		}
		conn.Close()
		<-accepted
	}
	// A plain net.Dialer with the guard's Control checks literals too.
	d := net.Dialer{Control: closed.Control}
	if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+port); !errors.Is(err, netguard.ErrNotAllowed) {
		t.Fatalf("net.Dialer with Control: %v", err)
	}
}
