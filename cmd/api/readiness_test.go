package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/service"
)

func TestReadinessNeedsAnAnsweringMigratedDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	draining := &atomic.Bool{}
	ready := readiness(pool, draining)
	latest, err := db.LatestVersion()
	if err != nil || latest < 1 {
		t.Fatalf("latest version %d: %v", latest, err)
	}
	unavailable := func(err error) bool {
		var e *service.Error
		return errors.As(err, &e) && e.Code == service.CodeUnavailable && e.RetryAfter > 0
	}

	if err := ready(ctx); err != nil {
		t.Fatalf("migrated database: %v", err)
	}
	// A newer schema (a rolling upgrade's new replica migrated it) keeps
	// this older binary ready.
	if _, err := pool.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, latest+1); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx); err != nil {
		t.Fatalf("newer schema: %v", err)
	}
	// An older schema is not ready.
	if _, err := pool.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id >= $1`, latest); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx); !unavailable(err) || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("older schema: %v", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, latest); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx); err != nil {
		t.Fatalf("migrated again: %v", err)
	}
	draining.Store(true)
	if err := ready(ctx); !unavailable(err) {
		t.Fatalf("draining: %v", err)
	}
}

// A database that holds a request (here: a lock it waits on) costs the
// request its deadline, then a 503, never a hang or a 500; /readyz gives up
// after 1 s.
func TestStuckDatabaseAnswers503WithinTheRequestDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.URL(t)
	a, err := startApp(ctx, envOf(map[string]string{
		"DATABASE_URL": url, "SECRETS_KEY": testSecretsKey, "JWT_SECRET": strings.Repeat("k", 32), "BCRYPT_COST": "4",
		"BOOTSTRAP_MANAGER_PASSWORD": "stuck-test-manager-password", "REQUEST_TIMEOUT": "1500ms",
	}), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.cleanup)
	token := loginToken(t, a.handler, "manager", "stuck-test-manager-password")

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
	if _, err := tx.Exec(ctx, `LOCK TABLE collaborators, goose_db_version IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	for path, limit := range map[string]time.Duration{"/v1/me": 1500 * time.Millisecond, "/readyz": time.Second} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		start := time.Now()
		a.handler.ServeHTTP(w, r)
		took := time.Since(start)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Fatalf("%s with the database stuck: %d %s", path, w.Code, w.Body)
		}
		if took < limit-100*time.Millisecond || took > limit+time.Second {
			t.Fatalf("%s answered after %s; its deadline is %s", path, took, limit)
		}
	}
}

func loginToken(t *testing.T, h http.Handler, username, password string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/auth/login",
		strings.NewReader(`{"username": "`+username+`", "password": "`+password+`"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	_, rest, _ := strings.Cut(w.Body.String(), `"access_token":"`)
	token, _, _ := strings.Cut(rest, `"`)
	return token
}
