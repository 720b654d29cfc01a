package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"epicevents/internal/dbtest"
)

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"frobnicate"}, envOf(nil), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeNeedsAJWTSecretWithADatabaseURL(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "JWT_SECRET:") {
		t.Fatalf("err = %v", err)
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("healthcheck asked %s", r.URL.Path)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	env := envOf(map[string]string{"HTTP_ADDR": addr})
	if err := run(context.Background(), []string{"healthcheck"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("ready server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := run(context.Background(), []string{"healthcheck"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("healthcheck passed on a 503")
	}
	srv.Close()
	if err := run(context.Background(), []string{"healthcheck"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("healthcheck passed with no server")
	}
}

func TestMigrateAndCreateManager(t *testing.T) {
	url := dbtest.URL(t)
	env := envOf(map[string]string{"DATABASE_URL": url, "BCRYPT_COST": "4", "BOOTSTRAP_MANAGER_PASSWORD": "second-manager-pass"})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "status"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "00001_collaborators.sql") || !strings.Contains(out.String(), "applied") {
		t.Fatalf("status output:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"create-manager", "-username", "boss", "-email", "boss@epic-events.test", "-employee-number", "7"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created manager boss") || strings.Contains(out.String(), "second-manager-pass") {
		t.Fatalf("create-manager output: %s", out.String())
	}
	if err := run(context.Background(), []string{"migrate", "sideways"}, env, &out, &out); err == nil {
		t.Fatal("migrate sideways accepted")
	}
	noPassword := envOf(map[string]string{"DATABASE_URL": url})
	if err := run(context.Background(), []string{"create-manager", "-username", "x2"}, noPassword, &out, &out); err == nil ||
		!strings.HasPrefix(err.Error(), "BOOTSTRAP_MANAGER_PASSWORD:") {
		t.Fatalf("create-manager without password: %v", err)
	}
}
