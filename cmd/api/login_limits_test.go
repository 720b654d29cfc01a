package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoginLimitsDefaultToTheContract(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginLockoutThreshold != 5 || c.LoginLockoutBase != time.Minute || c.LoginLockoutMax != 15*time.Minute ||
		c.LoginAccountLimit != 50 || c.LoginAddressLimit != 100 || c.LoginWindow != 15*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoginLimitsAreRead(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(envOf(map[string]string{
		"LOGIN_LOCKOUT_THRESHOLD": "3", "LOGIN_LOCKOUT_BASE": "30s", "LOGIN_LOCKOUT_MAX": "1h",
		"LOGIN_ACCOUNT_LIMIT": "20", "LOGIN_ADDRESS_LIMIT": "500", "LOGIN_WINDOW": "1h",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7, 2001:db8::/32",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginLockoutThreshold != 3 || c.LoginLockoutBase != 30*time.Second || c.LoginLockoutMax != time.Hour ||
		c.LoginAccountLimit != 20 || c.LoginAddressLimit != 500 || c.LoginWindow != time.Hour {
		t.Fatalf("limits: %+v", c)
	}
	var proxies []string
	for _, p := range c.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	if strings.Join(proxies, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32" {
		t.Fatalf("trusted proxies %v", proxies)
	}
}

func TestBadLoginLimitsStopTheStart(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"LOGIN_LOCKOUT_THRESHOLD": {"LOGIN_LOCKOUT_THRESHOLD": "0"},
		"LOGIN_LOCKOUT_BASE":      {"LOGIN_LOCKOUT_BASE": "0s"},
		"LOGIN_LOCKOUT_MAX":       {"LOGIN_LOCKOUT_BASE": "10m", "LOGIN_LOCKOUT_MAX": "5m"},
		"LOGIN_ACCOUNT_LIMIT":     {"LOGIN_ACCOUNT_LIMIT": "many"},
		"LOGIN_ADDRESS_LIMIT":     {"LOGIN_ADDRESS_LIMIT": "-1"},
		"LOGIN_WINDOW":            {"LOGIN_WINDOW": "15"},
		"TRUSTED_PROXIES":         {"TRUSTED_PROXIES": "the-proxy"},
		"JWT_PREVIOUS_SECRETS":    {"JWT_PREVIOUS_SECRETS": "short"},
	}
	for name, vars := range cases {
		if _, err := loadConfig(envOf(vars)); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%v: error %v, want one naming %s", vars, err, name)
		}
	}
}

func TestPreviousSigningKeysAreRead(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("a", 32), strings.Repeat("b", 40)
	for _, v := range []string{a + "," + b, a + "\n" + b + "\n", " " + a + " , " + b} {
		c, err := loadConfig(envOf(map[string]string{"JWT_PREVIOUS_SECRETS": v}))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.JWTPreviousSecrets) != 2 || string(c.JWTPreviousSecrets[0]) != a || string(c.JWTPreviousSecrets[1]) != b {
			t.Fatalf("%q read as %q", v, c.JWTPreviousSecrets)
		}
	}
}
