package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/pgserver"
)

// stopImmediately stops the server as `pg_ctl stop -m immediate` does in
// production: every backend is killed at once, mid-query, and the next
// start replays the WAL. pg_ctl refuses to run as root, so it runs as the
// owner of the data directory.
func stopImmediately(t *testing.T, pg *pgserver.Server) {
	t.Helper()
	bin, err := pgserver.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "stop", "-D", pg.DataDir, "-m", "immediate", "-w", "-t", "10")
	cmd.Dir = os.TempDir()
	if os.Geteuid() == 0 {
		st, err := os.Stat(pg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		owner := st.Sys().(*syscall.Stat_t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: owner.Uid, Gid: owner.Gid}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v: %s", err, out)
	}
	_ = pg.Stop() // reaps the postmaster, which is gone already
}

// answer is what one write of the load got back.
type answer struct {
	status      int
	contentType string
	retryAfter  string
	email       string // the email the request sent
	body        []byte
	at          time.Time
}

type unavailableProblem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// TestCrashUnderWritesLosesNoAcknowledgedWrite kills PostgreSQL
// (`pg_ctl stop -m immediate`) while several writers create clients through
// the real server, and restarts it at once on the same data directory and
// port, a few times over. Every answer is 201 or 503 unavailable with
// Retry-After, every 201's client is in the database afterwards, and the
// API creates clients again within 2 s of the database accepting
// connections.
func TestCrashUnderWritesLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "epic-events-crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// Durable, as production runs (not Throwaway): with synchronous_commit
	// off, a crash drops the last acknowledged commits by design, and this
	// test would rightly see them lost.
	pg, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	logs := &lockedBuffer{}
	a, err := startApp(ctx, envOf(map[string]string{
		"DATABASE_URL": pg.URL("postgres"),
		"SECRETS_KEY":  testSecretsKey, "JWT_SECRET": strings.Repeat("k", 32),
		"BOOTSTRAP_MANAGER_PASSWORD": "crash-test-manager-password",
		"BCRYPT_COST":                "4",
	}), logs, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.cleanup)
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 15 * time.Second}
	defer func() {
		if t.Failed() { // the log lines of the answers that were neither 201 nor 503
			for line := range strings.Lines(logs.String()) {
				if !strings.Contains(line, `"status":201`) && !strings.Contains(line, `"status":503`) {
					t.Log(strings.TrimSpace(line))
				}
			}
		}
	}()

	send := func(method, path, token string, body any) (*http.Response, []byte) {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return nil, nil
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Errorf("%s %s: reading the answer: %v", method, path, err)
		}
		return res, b
	}
	login := func(username, password string) string {
		t.Helper()
		res, body := send("POST", "/v1/auth/login", "", map[string]string{"username": username, "password": password})
		if res == nil || res.StatusCode != http.StatusOK {
			t.Fatalf("login %s: %v %s", username, res, body)
		}
		var pair struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &pair); err != nil || pair.AccessToken == "" {
			t.Fatalf("login %s: %v %s", username, err, body)
		}
		return pair.AccessToken
	}
	manager := login("manager", "crash-test-manager-password")
	if res, body := send("POST", "/v1/collaborators", manager, map[string]any{
		"employee_number": 7, "first_name": "Bill", "last_name": "Boquet", "email": "bill@epic-events.test",
		"username": "bill", "department": "commercial", "password": "a-perfectly-fine-password",
	}); res == nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create the commercial: %v %s", res, body)
	}
	bill := login("bill", "a-perfectly-fine-password")

	// The load: writers create clients until told to stop, each in a
	// bounded loop, pausing a little after a 503 as its Retry-After asks
	// (but much shorter, to see the recovery).
	const writers, maxWrites = 4, 3000
	var (
		stop     atomic.Bool
		created  atomic.Int64 // 201s so far
		refused  atomic.Int64 // 503s so far
		last201  atomic.Int64 // UnixNano of the latest 201
		wg       sync.WaitGroup
		answers  = make([][]answer, writers)
		sequence atomic.Int64
	)
	for w := range writers {
		wg.Go(func() {
			for range maxWrites {
				if stop.Load() || t.Failed() {
					return
				}
				email := fmt.Sprintf("client%d@crash.test", sequence.Add(1))
				res, body := send("POST", "/v1/clients", bill, map[string]any{
					"full_name": "Kevin Casey", "email": email, "phone": "+678 123 456 78",
				})
				if res == nil {
					return
				}
				ans := answer{status: res.StatusCode, contentType: res.Header.Get("Content-Type"),
					retryAfter: res.Header.Get("Retry-After"), email: email, body: body, at: time.Now()}
				answers[w] = append(answers[w], ans)
				switch res.StatusCode {
				case http.StatusCreated:
					created.Add(1)
					last201.Store(ans.at.UnixNano())
				case http.StatusServiceUnavailable:
					refused.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	waitFor := func(what string, limit time.Duration, done func() bool) bool {
		deadline := time.Now().Add(limit)
		for !done() {
			if time.Now().After(deadline) || t.Failed() {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		}
		return true
	}

	const crashes = 3
	var recoveries, restarts []time.Duration
	for crash := range crashes {
		// The crash comes while writes are going on.
		before := created.Load()
		if !waitFor("writes", 10*time.Second, func() bool { return created.Load() >= before+20 }) {
			t.Fatalf("crash %d: the writers made %d clients in 10 s before the crash", crash, created.Load()-before)
		}
		stopImmediately(t, pg)
		down := refused.Load()
		waitFor("503s", time.Second, func() bool { return refused.Load() >= down+2 })

		restart := time.Now()
		pg, err = pgserver.Start(ctx, pgserver.Options{DataDir: dir, Port: pg.Port})
		if err != nil {
			t.Fatalf("crash %d: restart: %v", crash, err)
		}
		t.Cleanup(func() { _ = pg.Stop() })
		back := time.Now()
		restarts = append(restarts, back.Sub(restart).Round(time.Millisecond))
		if !waitFor("a 201", 2*time.Second, func() bool { return last201.Load() > back.UnixNano() }) {
			t.Fatalf("crash %d: no client created within 2 s of the database accepting connections", crash)
		}
		recoveries = append(recoveries, time.Unix(0, last201.Load()).Sub(back).Round(time.Millisecond))
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d clients created, %d answers 503; restart and recovery took %v, first 201 after the database accepted connections: %v",
		created.Load(), refused.Load(), restarts, recoveries)

	// Every answer was a 201 or a 503 unavailable with Retry-After.
	var acknowledged []string // emails of the 201s
	want503 := unavailableProblem{Type: "urn:epic-events:problem:unavailable", Status: http.StatusServiceUnavailable}
	bad := 0
	for _, w := range answers {
		for _, ans := range w {
			switch ans.status {
			case http.StatusCreated:
				var c struct {
					ID    string `json:"id"`
					Email string `json:"email"`
				}
				if err := json.Unmarshal(ans.body, &c); err != nil || c.ID == "" || c.Email != ans.email {
					t.Errorf("a 201 at %s that does not show the client sent (%s): %s", ans.at.Format(time.StampMilli), ans.email, ans.body)
				}
				acknowledged = append(acknowledged, ans.email)
			case http.StatusServiceUnavailable:
				var p unavailableProblem
				_ = json.Unmarshal(ans.body, &p)
				n, err := strconv.Atoi(ans.retryAfter)
				if diff := cmp.Diff(want503, p); diff != "" || ans.contentType != "application/problem+json" || err != nil || n < 1 {
					t.Errorf("a 503 at %s that is not a problem+json unavailable with Retry-After (%q, %q): %s",
						ans.at.Format(time.StampMilli), ans.contentType, ans.retryAfter, ans.body)
				}
			default:
				if bad++; bad <= 10 {
					t.Errorf("a %d at %s, want 201 or 503: %s", ans.status, ans.at.Format(time.StampMilli), ans.body)
				}
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d answers neither 201 nor 503 in all", bad)
	}

	// Every acknowledged write survived the crashes.
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT email FROM clients WHERE email = ANY($1)`, acknowledged)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range stored {
		found[e] = true
	}
	var lost []string
	for _, e := range acknowledged {
		if !found[e] {
			lost = append(lost, e)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged clients are not in the database: %v", len(lost), len(acknowledged), lost)
	}
}
