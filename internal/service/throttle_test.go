package service

import (
	"net/netip"
	"testing"
	"time"
)

func TestLockoutDurations(t *testing.T) {
	t.Parallel()
	l := DefaultLoginLimits
	want := map[int]time.Duration{
		1: 0, 4: 0, 5: time.Minute, 6: 2 * time.Minute, 7: 4 * time.Minute, 8: 8 * time.Minute,
		9: 15 * time.Minute, 10: 15 * time.Minute, 1 << 30: 15 * time.Minute,
	}
	for failures, d := range want {
		if got := l.lockoutFor(failures); got != d {
			t.Errorf("lockoutFor(%d) = %s, want %s", failures, got, d)
		}
	}
}

func TestZeroLimitsTakeTheDefaults(t *testing.T) {
	t.Parallel()
	if got := (LoginLimits{}).withDefaults(); got != DefaultLoginLimits {
		t.Fatalf("%+v", got)
	}
	if got := (LoginLimits{LockoutBase: time.Hour}).withDefaults(); got.LockoutMax != time.Hour {
		t.Fatalf("a maximum below the base: %+v", got)
	}
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"192.0.2.1":               "192.0.2.1",
		"::ffff:192.0.2.1":        "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::1%eth0":    "2001:db8:1:2::/64",
		"2001:db8:1:3:ffff::abcd": "2001:db8:1:3::/64",
	}
	for in, want := range cases {
		if got := addressKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("addressKey(%s) = %s, want %s", in, got, want)
		}
	}
	if got := addressKey(netip.Addr{}); got != "unknown" {
		t.Errorf("no address: %s", got)
	}
}

func TestUnknownNamesAreKeptAsDigests(t *testing.T) {
	t.Parallel()
	if accountOfUnknownName("Ghost") != accountOfUnknownName("gHOST") {
		t.Fatal("unknown names are not matched case-insensitively")
	}
	if a := accountOfUnknownName("my-secret-password"); len(a) != len("name:")+43 || a == "name:my-secret-password" {
		t.Fatalf("account %q", a)
	}
}
