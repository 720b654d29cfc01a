package http_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"epicevents/internal/apitest"
	"epicevents/internal/service"
)

// loginFrom logs in from a peer address, with extra headers.
func loginFrom(api *apitest.API, remote, name, password string, header map[string]string) apitest.Response {
	api.T.Helper()
	return api.Do(apitest.Request{Method: http.MethodPost, Path: "/v1/auth/login", RemoteAddr: remote, Header: header,
		Body: map[string]string{"username": name, "password": password}})
}

// expectStatus checks a login answer's status (and, for 429, Retry-After).
func expectStatus(t *testing.T, res apitest.Response, status int, retryAfter time.Duration) {
	t.Helper()
	switch status {
	case http.StatusTooManyRequests:
		apitest.AssertProblem(t, res, status, "rate-limited")
		if got, want := res.Header.Get("Retry-After"), strconv.Itoa(int(retryAfter.Seconds())); got != want {
			t.Fatalf("Retry-After %q, want %q", got, want)
		}
	case http.StatusUnauthorized:
		apitest.AssertProblem(t, res, status, "unauthenticated")
	default:
		if res.Status != status {
			t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
		}
	}
}

const (
	home  = "203.0.113.10:40000"
	cafe  = "198.51.100.20:40000"
	wrong = "not-the-password-at-all"
)

func TestLockoutAfterConsecutiveFailuresHoldsAgainstTheRightPassword(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	for range 5 {
		expectStatus(t, loginFrom(api, home, "kate", wrong, nil), 401, 0)
	}
	compared := api.Deps.Passwords.Comparisons()
	// Refused for 60 s, even with the right password, without a comparison.
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 429, time.Minute)
	expectStatus(t, loginFrom(api, home, "KATE", apitest.CollaboratorPassword, nil), 429, time.Minute)
	if api.Deps.Passwords.Comparisons() != compared {
		t.Fatal("a refused attempt compared a password")
	}
	if n := api.Count(`SELECT count(*) FROM login_lockouts WHERE failures = 5 AND locked_until IS NOT NULL`); n != 1 {
		t.Fatalf("lockout rows = %d", n)
	}
	// The lock is on the pair: Kate from elsewhere, and others from here, go on.
	expectStatus(t, loginFrom(api, cafe, "kate", apitest.CollaboratorPassword, nil), 200, 0)
	expectStatus(t, loginFrom(api, home, "manager", apitest.ManagerPassword, nil), 200, 0)

	api.Clock.Advance(59 * time.Second)
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 429, time.Second)
	api.Clock.Advance(time.Second)
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 200, 0)

	// The success reset the pair: four more failures lock nothing.
	if n := api.Count(`SELECT count(*) FROM login_lockouts`); n != 0 {
		t.Fatalf("lockout rows after success = %d", n)
	}
	for range 4 {
		expectStatus(t, loginFrom(api, home, "kate", wrong, nil), 401, 0)
	}
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 200, 0)
	// Successes leave no failure behind: 5 + 4 real failures are counted.
	if n := api.Count(`SELECT count(*) FROM login_failures`); n != 9 {
		t.Fatalf("failures recorded = %d, want 9", n)
	}
}

func TestLockoutDoublesUpToFifteenMinutes(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	for range 5 {
		expectStatus(t, loginFrom(api, home, "kate", wrong, nil), 401, 0)
	}
	for _, lock := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 429, lock)
		api.Clock.Advance(lock)
		expectStatus(t, loginFrom(api, home, "kate", wrong, nil), 401, 0)
	}
	api.Clock.Advance(15 * time.Minute)
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 200, 0)
}

func TestUnknownNameIsThrottledLikeARealOne(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	var answers [2][]string
	for i, name := range []string{"kate", "ghost"} {
		for range 5 {
			res := loginFrom(api, home, name, wrong, nil)
			expectStatus(t, res, 401, 0)
			answers[i] = append(answers[i], apitest.AssertProblem(t, res, 401, "unauthenticated")["detail"].(string))
		}
		res := loginFrom(api, home, name, wrong, nil)
		expectStatus(t, res, 429, time.Minute)
		answers[i] = append(answers[i], res.JSON(t)["detail"].(string))
	}
	if answers[0][0] != answers[1][0] || answers[0][5] != answers[1][5] {
		t.Fatalf("answers differ: %q vs %q", answers[0], answers[1])
	}
	// The name is matched case-insensitively, like a real one.
	expectStatus(t, loginFrom(api, home, "GHOST", wrong, nil), 429, time.Minute)
	// The name itself is not stored: only a digest of it.
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE account ILIKE '%ghost%'`); n != 0 {
		t.Fatal("an unknown name is stored in clear")
	}
	if n := api.Count(`SELECT count(DISTINCT account) FROM login_failures`); n != 2 {
		t.Fatalf("accounts with failures = %d, want 2", n)
	}
}

// An unknown name, a wrong password, a deactivated and a deleted account
// each cost exactly one bcrypt comparison, like a successful login: the
// answer's timing tells nothing, by construction.
func TestEveryLoginCostsOnePasswordComparison(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	gone, _ := api.CreateCollaborator("gone", "support")
	deleted, _ := api.CreateCollaborator("deleted", "support")
	if res := api.Patch("/v1/collaborators/"+gone, api.ManagerToken, map[string]any{"is_active": false}); res.Status != 200 {
		t.Fatalf("deactivate: %d", res.Status)
	}
	if res := api.Delete("/v1/collaborators/"+deleted, api.ManagerToken); res.Status != 204 {
		t.Fatalf("delete: %d", res.Status)
	}
	cases := []struct {
		name, password string
		status         int
	}{
		{"kate", apitest.CollaboratorPassword, 200},
		{"kate", wrong, 401},
		{"nobody-of-this-name", wrong, 401},
		{"nobody@epic-events.test", apitest.CollaboratorPassword, 401},
		{"gone", apitest.CollaboratorPassword, 401},
		{"deleted", apitest.CollaboratorPassword, 401},
	}
	for _, c := range cases {
		before := api.Deps.Passwords.Comparisons()
		expectStatus(t, loginFrom(api, home, c.name, c.password, nil), c.status, 0)
		if n := api.Deps.Passwords.Comparisons() - before; n != 1 {
			t.Fatalf("login as %q made %d comparisons, want 1", c.name, n)
		}
	}
}

func TestAccountLimitCountsEveryAddress(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Limits: func(l *service.LoginLimits) { l.AccountLimit = 4 }})
	api.CreateCollaborator("kate", "support")
	for i := range 4 {
		expectStatus(t, loginFrom(api, "192.0.2."+strconv.Itoa(i+1)+":1", "kate", wrong, nil), 401, 0)
		api.Clock.Advance(time.Minute)
	}
	// Four failures in the window: every address is refused, right password
	// or not, until the first failure leaves the window (15 min after it).
	expectStatus(t, loginFrom(api, "192.0.2.99:1", "kate", apitest.CollaboratorPassword, nil), 429, 11*time.Minute)
	expectStatus(t, loginFrom(api, home, "Kate@Epic-Events.test", apitest.CollaboratorPassword, nil), 429, 11*time.Minute)
	// Other accounts are not affected.
	expectStatus(t, loginFrom(api, "192.0.2.1:1", "manager", apitest.ManagerPassword, nil), 200, 0)
	// An unknown name has its own account limit.
	for i := range 4 {
		expectStatus(t, loginFrom(api, "192.0.2."+strconv.Itoa(i+1)+":1", "ghost", wrong, nil), 401, 0)
	}
	expectStatus(t, loginFrom(api, "192.0.2.99:1", "ghost", wrong, nil), 429, 15*time.Minute)

	api.Clock.Advance(11 * time.Minute)
	expectStatus(t, loginFrom(api, "192.0.2.99:1", "kate", apitest.CollaboratorPassword, nil), 200, 0)
	// The first failure left the window, and the housekeeping took it.
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE account NOT LIKE 'name:%'`); n != 3 {
		t.Fatalf("failures of kate = %d, want 3", n)
	}
}

func TestAddressLimitCountsEveryAccount(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Limits: func(l *service.LoginLimits) { l.AddressLimit = 3 }})
	api.CreateCollaborator("kate", "support")
	for _, name := range []string{"kate", "ghost", "manager"} {
		expectStatus(t, loginFrom(api, home, name, wrong, nil), 401, 0)
	}
	expectStatus(t, loginFrom(api, home, "manager", apitest.ManagerPassword, nil), 429, 15*time.Minute)
	expectStatus(t, loginFrom(api, home, "somebody-else", wrong, nil), 429, 15*time.Minute)
	expectStatus(t, loginFrom(api, cafe, "manager", apitest.ManagerPassword, nil), 200, 0)
	api.Clock.Advance(15 * time.Minute)
	expectStatus(t, loginFrom(api, home, "manager", apitest.ManagerPassword, nil), 200, 0)
}

func TestAnIPv6NetworkCountsAsOneAddress(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Limits: func(l *service.LoginLimits) { l.AddressLimit = 2 }})
	expectStatus(t, loginFrom(api, "[2001:db8:1:2::a]:1", "ghost", wrong, nil), 401, 0)
	expectStatus(t, loginFrom(api, "[2001:db8:1:2:ffff::b]:1", "ghost", wrong, nil), 401, 0)
	expectStatus(t, loginFrom(api, "[2001:db8:1:2::c]:1", "manager", apitest.ManagerPassword, nil), 429, 15*time.Minute)
	expectStatus(t, loginFrom(api, "[2001:db8:1:3::a]:1", "manager", apitest.ManagerPassword, nil), 200, 0)
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE address = '2001:db8:1:2::/64'`); n != 2 {
		t.Fatalf("failures of the /64 = %d", n)
	}
}

func TestClientAddressComesFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Limits:         func(l *service.LoginLimits) { l.AddressLimit = 2 },
	})
	proxy := "10.0.0.2:5555"
	via := func(xff string) map[string]string { return map[string]string{"X-Forwarded-For": xff} }

	// Behind the proxy, each client is its own address.
	expectStatus(t, loginFrom(api, proxy, "ghost", wrong, via("203.0.113.7")), 401, 0)
	expectStatus(t, loginFrom(api, proxy, "ghost", wrong, via("203.0.113.7")), 401, 0)
	expectStatus(t, loginFrom(api, proxy, "manager", apitest.ManagerPassword, via("203.0.113.7")), 429, 15*time.Minute)
	expectStatus(t, loginFrom(api, proxy, "manager", apitest.ManagerPassword, via("203.0.113.8")), 200, 0)
	// A client writing its own X-Forwarded-For through the proxy gains
	// nothing: the proxy appends what it saw.
	expectStatus(t, loginFrom(api, proxy, "manager", apitest.ManagerPassword, via("192.0.2.50, 203.0.113.7")), 429, 15*time.Minute)
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE address = '203.0.113.7'`); n != 2 {
		t.Fatalf("failures of the client behind the proxy = %d", n)
	}

	// A client reaching the API directly cannot pick its address.
	direct := "198.51.100.9:4444"
	expectStatus(t, loginFrom(api, direct, "ghost", wrong, via("192.0.2.1")), 401, 0)
	expectStatus(t, loginFrom(api, direct, "ghost", wrong, via("192.0.2.2")), 401, 0)
	expectStatus(t, loginFrom(api, direct, "manager", apitest.ManagerPassword, via("192.0.2.3")), 429, 15*time.Minute)
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE address = '198.51.100.9'`); n != 2 {
		t.Fatalf("failures of the direct client = %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM login_failures WHERE address LIKE '192.0.2.%'`); n != 0 {
		t.Fatal("a forged X-Forwarded-For was believed")
	}
}

func TestWrongCurrentPasswordCountsAsAFailedLogin(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	token := loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil).JSON(t)["access_token"].(string)
	change := func(current string) apitest.Response {
		return api.Do(apitest.Request{Method: http.MethodPut, Path: "/v1/me/password", Token: token, RemoteAddr: home,
			Body: map[string]string{"current_password": current, "new_password": "a brand new passphrase"}})
	}
	for range 3 {
		apitest.AssertProblem(t, change(wrong), 422, "validation")
	}
	for range 2 {
		expectStatus(t, loginFrom(api, home, "kate", wrong, nil), 401, 0)
	}
	// Five failures of the pair, by either route: both are refused now.
	expectStatus(t, change(apitest.CollaboratorPassword), 429, time.Minute)
	expectStatus(t, loginFrom(api, home, "kate", apitest.CollaboratorPassword, nil), 429, time.Minute)
	api.Login("kate", apitest.CollaboratorPassword) // from another address: the old password still holds

	api.Clock.Advance(time.Minute)
	if res := change(apitest.CollaboratorPassword); res.Status != http.StatusNoContent {
		t.Fatalf("change after the lock: %d %s", res.Status, res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM login_lockouts`); n != 0 {
		t.Fatal("a successful change did not reset the pair")
	}
}

func TestThrottlingAndSessionRecordsAreCleanedUp(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	expectStatus(t, loginFrom(api, home, "ghost", wrong, nil), 401, 0)
	access, _ := api.LoginPair("manager", apitest.ManagerPassword)
	if res := api.Post("/v1/auth/logout", access, nil); res.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", res.Status)
	}
	api.Clock.Advance(25 * time.Hour)
	api.Login("manager", apitest.ManagerPassword) // logins do the housekeeping
	if n := api.Count(`SELECT count(*) FROM login_failures`); n != 0 {
		t.Fatalf("old failures kept: %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM login_lockouts`); n != 0 {
		t.Fatalf("quiet pairs kept: %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL`); n != 0 {
		t.Fatalf("sessions ended a day ago kept: %d", n)
	}
	// The sessions still open are kept, and they still work.
	if n := api.Count(`SELECT count(*) FROM sessions`); n != 2 {
		t.Fatalf("sessions = %d, want 2", n)
	}
}

// Attempts are recorded before their password is compared, under a lock
// per account and per address, so a burst of parallel guesses gets exactly
// as many tries as the limits allow.
func TestParallelGuessesCannotSlipUnderTheLimits(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Limits: func(l *service.LoginLimits) { l.AccountLimit = 7 }})
	api.CreateCollaborator("kate", "support")
	burst := func(remote func(i int) string) (tried, refused int) {
		const n = 20
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = api.Do(apitest.Request{Method: http.MethodPost, Path: "/v1/auth/login", RemoteAddr: remote(i),
					Body: `{"username": "kate", "password": "` + wrong + `"}`}).Status
			})
		}
		wg.Wait()
		for _, s := range statuses {
			switch s {
			case http.StatusUnauthorized:
				tried++
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("status %d", s)
			}
		}
		return tried, refused
	}
	// One address: the pair locks after 5.
	if tried, refused := burst(func(int) string { return home }); tried != 5 || refused != 15 {
		t.Fatalf("one address: %d tried, %d refused; want 5 and 15", tried, refused)
	}
	// Many addresses: the account stops at 7 failures in all.
	if tried, refused := burst(func(i int) string { return "192.0.2." + strconv.Itoa(i+1) + ":1" }); tried != 2 || refused != 18 {
		t.Fatalf("many addresses: %d tried, %d refused; want 2 and 18", tried, refused)
	}
	if n := api.Count(`SELECT count(*) FROM login_failures`); n != 7 {
		t.Fatalf("failures recorded = %d, want 7", n)
	}
}
