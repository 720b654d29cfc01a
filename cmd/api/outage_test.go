package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"epicevents/internal/pgserver"
)

// lockedBuffer collects the server's log lines from concurrent requests.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLostDatabaseGives503AndRecoversBySelf stops the database under the
// API and starts it again: meanwhile every request is a quick 503 with
// Retry-After, and once it is back the API serves within 2 s without help.
func TestLostDatabaseGives503AndRecoversBySelf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Under /tmp itself, so that an unprivileged server user can reach it.
	dir, err := os.MkdirTemp("", "epic-events-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pg, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	logs := &lockedBuffer{}
	a, err := startApp(ctx, envOf(map[string]string{
		"DATABASE_URL": pg.URL("postgres"),
		"SECRETS_KEY":  testSecretsKey, "JWT_SECRET": strings.Repeat("k", 32),
		"BOOTSTRAP_MANAGER_PASSWORD": "outage-test-manager-password",
		"BCRYPT_COST":                "4",
	}), logs, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.cleanup)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()

	do := func(method, path, token, body string) (*httptest.ResponseRecorder, time.Duration) {
		var r *http.Request
		if body == "" {
			r = httptest.NewRequest(method, path, nil)
		} else {
			r = httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		start := time.Now()
		a.handler.ServeHTTP(w, r)
		return w, time.Since(start)
	}
	login := `{"username": "manager", "password": "outage-test-manager-password"}`
	res, _ := do("POST", "/v1/auth/login", "", login)
	if res.Code != http.StatusOK {
		t.Fatalf("login: %d %s", res.Code, res.Body)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(res.Body.Bytes(), &pair)
	// Fill the pool with several connections, so that the outage finds
	// dead idle ones as well as refused new ones.
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { do("GET", "/v1/me", pair.AccessToken, "") })
	}
	wg.Wait()

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	requests := []struct{ method, path, token, body string }{
		{"GET", "/v1/me", pair.AccessToken, ""},
		{"GET", "/v1/collaborators", pair.AccessToken, ""},
		{"POST", "/v1/auth/login", "", login},
		{"POST", "/v1/collaborators", pair.AccessToken, `{"employee_number": 7, "first_name": "Kate", "last_name": "Hastroff",
			"email": "kate@epic-events.test", "username": "kate", "department": "support", "password": "a-perfectly-fine-password"}`},
		{"GET", "/readyz", "", ""},
	}
	for round := range 3 {
		for _, rq := range requests {
			res, took := do(rq.method, rq.path, rq.token, rq.body)
			if res.Code != http.StatusServiceUnavailable || res.Header().Get("Retry-After") == "" ||
				!strings.Contains(res.Body.String(), "urn:epic-events:problem:unavailable") {
				t.Fatalf("round %d, %s %s with the database down: %d %v %s", round, rq.method, rq.path, res.Code, res.Header(), res.Body)
			}
			if took > a.cfg.RequestTimeout {
				t.Fatalf("%s %s took %s with the database down (deadline %s)", rq.method, rq.path, took, a.cfg.RequestTimeout)
			}
		}
	}

	pg, err = pgserver.Start(ctx, pgserver.Options{DataDir: dir, Port: pg.Port, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	back := time.Now()
	for {
		res, _ := do("GET", "/v1/me", pair.AccessToken, "")
		if res.Code == http.StatusOK {
			break
		}
		if time.Since(back) > 2*time.Second {
			t.Fatalf("still %d %s 2 s after the database came back", res.Code, res.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("serving again %s after the database came back", time.Since(back).Round(time.Millisecond))
	for _, rq := range requests {
		if res, _ := do(rq.method, rq.path, rq.token, rq.body); res.Code >= 500 {
			t.Fatalf("%s %s after recovery: %d %s", rq.method, rq.path, res.Code, res.Body)
		}
	}
}
