package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
