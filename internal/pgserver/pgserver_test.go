package pgserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// reachableTempDir is a test directory the unprivileged server user can
// reach when the tests run as root.
func reachableTempDir(t *testing.T) string {
	tmp := t.TempDir()
	for _, d := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

func TestStartKeepsDataAcrossRestarts(t *testing.T) {
	dir := filepath.Join(reachableTempDir(t), "pg")
	srv, err := Start(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(s *Server, sql string) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), s.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(srv, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)`)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv, err = Start(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	exec(srv, `SELECT 1/x FROM kept WHERE x = 1`)
}

func TestReachable(t *testing.T) {
	parent := filepath.Join(reachableTempDir(t), "home")
	if err := os.MkdirAll(filepath.Join(parent, "project"), 0o700); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(parent, "project", ".data")
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	if Reachable(data) {
		t.Fatal("a path under a 0700 directory is reachable")
	}
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(parent, "project"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !Reachable(data) {
		t.Fatal("a path under traversable directories is not reachable")
	}
}

// startOrHang runs Start and fails the test when it has not returned well
// after ctx ended: a start that waits for good is the bug this catches.
func startOrHang(t *testing.T, ctx context.Context, opts Options) (*Server, error) {
	t.Helper()
	type result struct {
		srv *Server
		err error
	}
	ch := make(chan result, 1)
	go func() {
		srv, err := Start(ctx, opts)
		ch <- result{srv, err}
	}()
	deadline, _ := ctx.Deadline()
	select {
	case r := <-ch:
		return r.srv, r.err
	case <-time.After(time.Until(deadline) + 10*time.Second):
		t.Fatal("Start did not return after its context ended")
		return nil, nil
	}
}

func TestASecondServerOnTheSameDataStopsAtOnceNamingTheFirst(t *testing.T) {
	dir := filepath.Join(reachableTempDir(t), "pg")
	first, err := Start(context.Background(), Options{DataDir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second, err := startOrHang(t, ctx, Options{DataDir: dir, Throwaway: true})
	if err == nil {
		second.Stop()
		t.Fatal("a second server started on the same data directory")
	}
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("err = %v, want an InUseError", err)
	}
	if diff := cmp.Diff(&InUseError{DataDir: dir, PID: first.cmd.Process.Pid}, inUse); diff != "" {
		t.Fatalf("InUseError (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", first.cmd.Process.Pid)) {
		t.Fatalf("message does not name the pid: %v", err)
	}
	if diff := cmp.Diff(error(inUse), InUse(dir)); diff != "" {
		t.Fatalf("InUse (-want +got):\n%s", diff)
	}
	// The first one is untouched, and its port is found from its data.
	port, ok := Running(dir)
	if diff := cmp.Diff([]any{first.Port, true}, []any{port, ok}); diff != "" {
		t.Fatalf("Running (-want +got):\n%s", diff)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := InUse(dir); err != nil {
		t.Fatalf("InUse after Stop: %v", err)
	}
}

func TestAFailedStartSaysWhatTheServerSaid(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := startOrHang(t, ctx, Options{DataDir: filepath.Join(reachableTempDir(t), "pg"), Port: port, Throwaway: true})
	if err == nil {
		srv.Stop()
		t.Fatal("started on a port in use")
	}
	for _, want := range []string{"FATAL: could not create any TCP/IP sockets", fmt.Sprintf("port %d", port)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the cause spans several lines: %q", err)
	}
	if _, ok := Running(filepath.Join(t.TempDir(), "none")); ok {
		t.Error("Running found a server where there is none")
	}
}

func TestTheServerIsDurableUnlessThrowaway(t *testing.T) {
	got := map[bool]string{}
	for _, throwaway := range []bool{false, true} {
		srv, err := Start(context.Background(), Options{DataDir: filepath.Join(reachableTempDir(t), "pg"), Throwaway: throwaway})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(context.Background(), srv.URL("postgres"))
		if err != nil {
			srv.Stop()
			t.Fatal(err)
		}
		var fsync, syncCommit, fullPages string
		err = conn.QueryRow(context.Background(),
			`SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('full_page_writes')`).
			Scan(&fsync, &syncCommit, &fullPages)
		conn.Close(context.Background())
		srv.Stop()
		if err != nil {
			t.Fatal(err)
		}
		got[throwaway] = fsync + " " + syncCommit + " " + fullPages
	}
	if diff := cmp.Diff(map[bool]string{false: "on on on", true: "off off off"}, got); diff != "" {
		t.Fatalf("fsync, synchronous_commit, full_page_writes by Throwaway (-want +got):\n%s", diff)
	}
}

func TestWithoutBinariesOneLineSaysHowToGetThem(t *testing.T) {
	saved := binGlobs
	binGlobs = []string{filepath.Join(t.TempDir(), "*", "bin")}
	t.Cleanup(func() { binGlobs = saved })
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{DataDir: filepath.Join(t.TempDir(), "pg")})
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"apt-get install postgresql", "brew install postgresql", "docker compose up", "DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("more than one line: %q", err)
	}
}
