package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"epicevents/internal/dbtest"
)

func TestStartNeedsTheFirstManagersPassword(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.URL(t), "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret})
	_, err := startApp(context.Background(), env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || err.Error() != "BOOTSTRAP_MANAGER_PASSWORD: is required while no collaborator exists (or its _FILE)" {
		t.Fatalf("err = %v", err)
	}
}

func TestStartOnADatabaseURL(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": dbtest.URL(t), "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret,
		"BCRYPT_COST": "5", "BOOTSTRAP_MANAGER_USERNAME": "boss", "BOOTSTRAP_MANAGER_PASSWORD": "boss-password-long"})
	var stdout, stderr bytes.Buffer
	a, err := startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	if strings.Contains(stdout.String()+stderr.String(), "boss-password-long") {
		t.Fatal("the bootstrap password reached the output")
	}
	login(t, a, "boss", "boss-password-long")
	// BCRYPT_COST reaches the hashes.
	var hash string
	if err := a.pool.QueryRow(context.Background(), `SELECT password_hash FROM collaborators WHERE username = 'boss'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 5 {
		t.Fatalf("bcrypt cost %d (%v), want BCRYPT_COST 5", cost, err)
	}
	ready := httptest.NewRecorder()
	a.handler.ServeHTTP(ready, httptest.NewRequest("GET", "/readyz", nil))
	if ready.Code != 200 {
		t.Fatalf("readyz = %d", ready.Code)
	}
	a.draining.Store(true)
	ready = httptest.NewRecorder()
	a.handler.ServeHTTP(ready, httptest.NewRequest("GET", "/readyz", nil))
	if ready.Code != 503 || ready.Header().Get("Retry-After") == "" {
		t.Fatalf("readyz while draining = %d", ready.Code)
	}
}

// chdirReachable moves the test into a new directory the unprivileged
// server user can reach when the tests run as root.
func chdirReachable(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

// fakeTerminal is an output a person reads.
type fakeTerminal struct{ bytes.Buffer }

func (*fakeTerminal) IsTerminal() bool { return true }

// records decodes JSON log lines, failing on any line that is not one.
func records(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		recs = append(recs, rec)
	}
	return recs
}

func record(t *testing.T, recs []map[string]any, msg string) map[string]any {
	t.Helper()
	for _, r := range recs {
		if r["msg"] == msg {
			return r
		}
	}
	t.Fatalf("no %q log record in %v", msg, recs)
	return nil
}

// With no DATABASE_URL the binary runs its own PostgreSQL with data kept in
// ./.data. With no terminal, the first manager's generated password goes
// to ./.data/bootstrap-password, never to a log line, and standard output
// is JSON only.
func TestStartOnTheEmbeddedDatabase(t *testing.T) {
	dir := chdirReachable(t)
	env := envOf(map[string]string{"BCRYPT_COST": "4", "HTTP_ADDR": "127.0.0.1:0"})
	var stdout, stderr bytes.Buffer
	a, err := startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	passwordFile := filepath.Join(dir, ".data", "bootstrap-password")
	b, err := os.ReadFile(passwordFile)
	if err != nil {
		a.cleanup()
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(b))
	st, _ := os.Stat(passwordFile)
	recs := records(t, stdout.String())
	started := record(t, recs, "embedded PostgreSQL started")
	created := record(t, recs, "created the first manager")
	got := map[string]any{
		"mode": st.Mode().Perm().String(), "stderr": stderr.String(),
		"data_dir": started["data_dir"], "password_file": created["password_file"],
		"password in the logs": strings.Contains(stdout.String(), password),
	}
	want := map[string]any{
		"mode": "-rw-------", "stderr": "",
		"data_dir": filepath.Join(dir, ".data"), "password_file": passwordFile,
		"password in the logs": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		a.cleanup()
		t.Fatalf("first run (-want +got):\n%s", diff)
	}
	token := login(t, a, "manager", password)
	a.cleanup()

	stdout.Reset()
	a, err = startApp(context.Background(), env, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	for _, r := range records(t, stdout.String()) {
		if r["msg"] == "created the first manager" {
			t.Fatalf("second run created a manager: %v", r)
		}
	}
	if b2, _ := os.ReadFile(passwordFile); string(b2) != string(b) {
		t.Fatal("the second run changed the password file")
	}
	// Data and signing key survived the restart: the old token still works.
	res := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	a.handler.ServeHTTP(res, req)
	if res.Code != 200 {
		t.Fatalf("me after restart: %d %s", res.Code, res.Body)
	}
	// The data is durable, as the README says it persists.
	var fsync string
	if err := a.pool.QueryRow(context.Background(), "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync = %q (%v)", fsync, err)
	}
}

// On a terminal the generated password is shown there, once, and written
// nowhere.
func TestEmbeddedFirstPasswordGoesToTheTerminal(t *testing.T) {
	dir := chdirReachable(t)
	env := envOf(map[string]string{"BCRYPT_COST": "4"})
	var stdout bytes.Buffer
	tty := &fakeTerminal{}
	a, err := startApp(context.Background(), env, &stdout, tty)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	m := regexp.MustCompile(`username "manager", password "([^"]+)"`).FindStringSubmatch(tty.String())
	if m == nil {
		t.Fatalf("terminal output:\n%s", tty.String())
	}
	login(t, a, "manager", m[1])
	created := record(t, records(t, stdout.String()), "created the first manager")
	if diff := cmp.Diff("shown on the terminal", created["password"]); diff != "" || strings.Contains(stdout.String(), m[1]) {
		t.Fatalf("log record %v (%s)", created, diff)
	}
	if _, err := os.Stat(filepath.Join(dir, ".data", "bootstrap-password")); !os.IsNotExist(err) {
		t.Fatalf("password file written though a terminal showed it: %v", err)
	}
}

// startOrHang runs startApp and fails the test when it has not returned
// well after ctx ended: a start that waits for good is the bug it catches.
func startOrHang(t *testing.T, ctx context.Context, env func(string) string, stdout, stderr io.Writer) (*app, error) {
	t.Helper()
	type result struct {
		a   *app
		err error
	}
	ch := make(chan result, 1)
	go func() {
		a, err := startApp(ctx, env, stdout, stderr)
		ch <- result{a, err}
	}()
	deadline, _ := ctx.Deadline()
	select {
	case r := <-ch:
		return r.a, r.err
	case <-time.After(time.Until(deadline) + 10*time.Second):
		t.Fatal("the start did not return after its context ended")
		return nil, nil
	}
}

func TestASecondEmbeddedInstanceStopsAtOnceNamingTheFirst(t *testing.T) {
	chdirReachable(t)
	env := envOf(map[string]string{"BCRYPT_COST": "4"})
	first, err := startApp(context.Background(), env, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer first.cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second, err := startOrHang(t, ctx, env, io.Discard, io.Discard)
	if err == nil {
		second.cleanup()
		t.Fatal("a second instance started on the same ./.data")
	}
	m := regexp.MustCompile(`^another instance is using \./\.data \(its PostgreSQL is pid (\d+), from \./\.data/pg/postmaster\.pid\)`).
		FindStringSubmatch(err.Error())
	if m == nil || ctx.Err() != nil {
		t.Fatalf("err = %v", err)
	}
	pid, _ := os.ReadFile(filepath.Join(".data", "pg", "postmaster.pid"))
	if diff := cmp.Diff(strings.SplitN(string(pid), "\n", 2)[0], m[1]); diff != "" {
		t.Fatalf("pid (-postmaster.pid +message):\n%s", diff)
	}
	// serve says the same before it tries the address, which the first
	// instance holds too.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	serveEnv := envOf(map[string]string{"BCRYPT_COST": "4", "HTTP_ADDR": taken.Addr().String()})
	if err := run(ctx, []string{"serve"}, serveEnv, io.Discard, io.Discard); err == nil || !strings.HasPrefix(err.Error(), "another instance is using ./.data (its PostgreSQL is pid "+m[1]+",") {
		t.Fatalf("serve: %v", err)
	}
	// The first instance still serves.
	ready := httptest.NewRecorder()
	first.handler.ServeHTTP(ready, httptest.NewRequest("GET", "/readyz", nil))
	if ready.Code != 200 {
		t.Fatalf("first instance's readyz = %d", ready.Code)
	}
}

func login(t *testing.T, a *app, username, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res := httptest.NewRecorder()
	a.handler.ServeHTTP(res, req)
	if res.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.Code, res.Body)
	}
	var tokens map[string]any
	_ = json.Unmarshal(res.Body.Bytes(), &tokens)
	return tokens["access_token"].(string)
}

func TestDisplayAddrIsOneABrowserOpens(t *testing.T) {
	got := map[string]string{}
	for _, addr := range []string{"127.0.0.1:18080", "[::]:8080", "0.0.0.0:8080", "[::1]:9000"} {
		got[addr] = displayAddr(addr)
	}
	want := map[string]string{
		"127.0.0.1:18080": "127.0.0.1:18080", "[::]:8080": "localhost:8080",
		"0.0.0.0:8080": "localhost:8080", "[::1]:9000": "[::1]:9000",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// The collector is tuned unless the environment tunes it.
func TestTuneGCKeepsWhatTheEnvironmentSays(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GOGC %d, want 200", got)
	}
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		tuneGC(func(n string) string {
			if n == name {
				return "100"
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("with %s set: GOGC %d, want it untouched", name, got)
		}
	}
}
