// Package dbtest gives each test its own migrated PostgreSQL database,
// cloned from a template (pgtestdb), on the server named by
// TEST_DATABASE_URL or, without it, on a throwaway server started for the
// test binary.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"epicevents/internal/db"
	"epicevents/internal/pgserver"
)

var adminURL string

// Main runs the tests of a package, around a throwaway PostgreSQL when
// TEST_DATABASE_URL is not set. Call it from TestMain.
func Main(m *testing.M) int {
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		srv, cleanup, err := StartThrowaway()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dbtest:", err)
			return 1
		}
		defer cleanup()
		adminURL = srv.URL("postgres")
	}
	return m.Run()
}

// StartThrowaway starts a private server in a temporary directory.
func StartThrowaway() (*pgserver.Server, func(), error) {
	dir, err := os.MkdirTemp("", "epic-events-test-pg-")
	if err != nil {
		return nil, nil, err
	}
	srv, err := pgserver.Start(context.Background(), pgserver.Options{DataDir: dir, Throwaway: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start throwaway PostgreSQL: %w", err)
	}
	return srv, func() { _ = srv.Stop(); _ = os.RemoveAll(dir) }, nil
}

// URL returns the URL of a new database for this test, migrated, dropped
// when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	if adminURL == "" {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("dbtest: TEST_DATABASE_URL: %v", err)
	}
	password, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName: "pgx", Host: u.Hostname(), Port: u.Port(), User: u.User.Username(),
		Password: password, Database: trimSlash(u.Path), Options: u.RawQuery,
		ForceTerminateConnections: true,
	}
	if conf.Port == "" {
		conf.Port = "5432"
	}
	if conf.Options == "" {
		conf.Options = "sslmode=disable"
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// New returns a pool on a new migrated database for this test.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewTraced(t, nil)
}

// NewTraced is New with a tracer that hears of every query (nil for none).
func NewTraced(t testing.TB, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	pool, err := db.OpenPool(context.Background(), URL(t), db.PoolOptions{MaxConns: 8, Tracer: tracer})
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func trimSlash(p string) string {
	if len(p) > 0 && p[0] == '/' {
		return p[1:]
	}
	return p
}

// migrator builds the template with the embedded goose migrations.
type migrator struct{}

func (migrator) Hash() (string, error) { return db.MigrationsHash() }

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	return db.MigrateURL(ctx, conf.URL())
}

// EmptyURL returns the URL of a new database with nothing in it, not
// migrated, dropped when the test ends: for tests of the migrations.
func EmptyURL(t testing.TB) string {
	t.Helper()
	if adminURL == "" {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close(ctx)
	name := "empty_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("dbtest: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("dbtest: TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
