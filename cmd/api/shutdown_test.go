package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"epicevents/internal/dbtest"
)

// buildBinary compiles the command as the image does, with a stamped
// version; with the race detector on, so is the binary (its packages are
// then already compiled).
func buildBinary(t *testing.T, version string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "api")
	args := []string{"build", "-o", bin, "-ldflags", "-X main.version=" + version}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape reads /metrics.
func scrape(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	res, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestBinaryDrainsOnSIGTERMAndExitsZero runs the real binary: on SIGTERM
// /readyz turns 503 at once, requests are served for SHUTDOWN_DELAY, then
// the listener closes, the request in flight finishes, and the exit code
// is 0. It also reads the stamped version in the log and in /metrics.
func TestBinaryDrainsOnSIGTERMAndExitsZero(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const version, password, delay = "9.9.9-test", "shutdown-test-manager-password", 2 * time.Second
	bin := buildBinary(t, version)
	url := dbtest.URL(t)
	addr := freeAddr(t)
	base := "http://" + addr

	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir() // no .env there
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + url, "SECRETS_KEY=" + testSecretsKey, "JWT_SECRET=" + strings.Repeat("s", 40),
		"HTTP_ADDR=" + addr, "SHUTDOWN_DELAY=" + delay.String(), "SHUTDOWN_TIMEOUT=15s", "REQUEST_TIMEOUT=15s",
		"BOOTSTRAP_MANAGER_PASSWORD=" + password, "BCRYPT_COST=4",
	}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Log(logs.String())
		}
	})

	// Fresh connections each time, as a load balancer's health checks.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	status := func(path string) int {
		res, err := client.Get(base + path)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for start := time.Now(); status("/readyz") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the binary exited at start: %v", err)
		default:
		}
		if time.Since(start) > time.Minute {
			t.Fatal("not ready within a minute")
		}
	}

	res, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`version="` + version + `"} 1`, "epicevents_db_pool_max_connections ",
		`epicevents_db_pool_connections{state="idle"} `, `epicevents_http_requests_total{method="GET",route="/readyz",status="200"} `} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"starting","version":"`+version+`"`) {
		t.Fatalf("no start line with the version:\n%s", logs.String())
	}

	// Hold a request in flight: it waits on a lock the test holds.
	login, err := client.Post(base+"/v1/auth/login", "application/json",
		strings.NewReader(`{"username": "manager", "password": "`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(login.Body)
	login.Body.Close()
	_, rest, _ := strings.Cut(string(body), `"access_token":"`)
	token, _, _ := strings.Cut(rest, `"`)
	// A long poll and a stream of the change feed are held too: SIGTERM
	// ends them at once, the long poll with an empty page.
	held := make(chan string, 2)
	hold := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			held <- path + ": " + err.Error()
			return
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		held <- fmt.Sprintf("%s: %d %v %s", path, res.StatusCode, err, body)
	}
	go hold("/v1/changes?types=event.created&wait=30")
	go hold("/v1/changes/stream?types=event.created")
	for start := time.Now(); !strings.Contains(scrape(t, client, base), "epicevents_feed_waiters 2"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the long poll and the stream were not held")
		}
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `LOCK TABLE collaborators IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		err    error
	}
	inFlight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			inFlight <- answer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		inFlight <- answer{status: res.StatusCode}
	}()
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'epic-events-api' AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the request never reached the database")
		}
	}

	sigterm := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case got := <-held:
			if !strings.Contains(got, ": 200 <nil>") {
				t.Fatalf("a held request at SIGTERM: %s", got)
			}
			if strings.HasPrefix(got, "/v1/changes?") && !strings.Contains(got, `"data":[]`) {
				t.Fatalf("the long poll did not answer an empty page: %s", got)
			}
		case <-time.After(delay / 2):
			t.Fatal("a held request of the change feed outlived SIGTERM")
		}
	}
	for status("/readyz") != http.StatusServiceUnavailable {
		if time.Since(sigterm) > delay/2 {
			t.Fatal("/readyz still ready well after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := status("/healthz"); s != http.StatusOK || time.Since(sigterm) > delay*8/10 {
		t.Fatalf("during the delay /healthz answered %d, %s after SIGTERM", s, time.Since(sigterm))
	}
	var closedAfter time.Duration
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			closedAfter = time.Since(sigterm)
			break
		}
		c.Close()
		if time.Since(sigterm) > delay+5*time.Second {
			t.Fatal("the listener is still open long after SHUTDOWN_DELAY")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if closedAfter < delay*9/10 {
		t.Fatalf("the listener closed %s after SIGTERM, before SHUTDOWN_DELAY (%s)", closedAfter, delay)
	}
	select {
	case a := <-inFlight:
		t.Fatalf("the request in flight ended early: %+v", a)
	case err := <-exited:
		t.Fatalf("the binary exited with a request in flight: %v", err)
	default:
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if a := <-inFlight; a.err != nil || a.status != http.StatusOK {
		t.Fatalf("the request in flight: %+v", a)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v (want status 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the binary did not exit after draining")
	}
	out := logs.String()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, `"route":"/v1/me","status":200`} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %s:\n%s", want, out)
		}
	}
	t.Logf("listener closed %s after SIGTERM", closedAfter.Round(time.Millisecond))
}
