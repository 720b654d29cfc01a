package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"epicevents/internal/dbtest"
)

func TestDatabasePasswordGoesIntoTheURL(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "db_password")
	// Characters a URL must escape, and the newline editors add.
	const password = "p@ss:w/rd?#%'\\ x"
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{
		"postgres://app@db:5432/crm?sslmode=disable",
		"postgresql://app@db/crm",
		"host=db user=app dbname=crm sslmode=disable",
	} {
		cfg, err := loadConfig(envMap(map[string]string{"DATABASE_URL": dsn, "DATABASE_PASSWORD_FILE": file}))
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		// What the driver will use is the password, exactly.
		parsed, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if parsed.Password != password || parsed.User != "app" || parsed.Database != "crm" || parsed.Host != "db" {
			t.Fatalf("%s: driver sees user %q password %q database %q host %q", dsn, parsed.User, parsed.Password, parsed.Database, parsed.Host)
		}
	}

	// Without DATABASE_PASSWORD the URL is used as given.
	cfg, err := loadConfig(envMap(map[string]string{"DATABASE_URL": "postgres://app:inline@db/crm"}))
	if err != nil || cfg.DatabaseURL != "postgres://app:inline@db/crm" {
		t.Fatalf("%q %v", cfg.DatabaseURL, err)
	}
}

func TestDatabasePasswordMistakesStopTheStartWithoutQuotingSecrets(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"password twice": {"DATABASE_URL": "postgres://app:url-secret@db/crm", "DATABASE_PASSWORD": "env-secret"},
		"keyword twice":  {"DATABASE_URL": "host=db user=app password=url-secret", "DATABASE_PASSWORD": "env-secret"},
		"no user":        {"DATABASE_URL": "postgres://db/crm", "DATABASE_PASSWORD": "env-secret"},
		"no url":         {"DATABASE_PASSWORD": "env-secret"},
		"bad url":        {"DATABASE_URL": "postgres://app@db:port-secret/crm", "DATABASE_PASSWORD": "env-secret"},
		"both forms":     {"DATABASE_URL": "postgres://app@db/crm", "DATABASE_PASSWORD": "env-secret", "DATABASE_PASSWORD_FILE": "/nowhere"},
	}
	for name, env := range cases {
		_, err := loadConfig(envMap(env))
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if !strings.HasPrefix(err.Error(), "DATABASE_") {
			t.Fatalf("%s: the error does not name the variable: %v", name, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("%s: the error quotes a secret: %v", name, err)
		}
	}
}

func TestBadSentryDSNStopsTheStartWithoutQuotingIt(t *testing.T) {
	t.Parallel()
	_, err := startApp(context.Background(), envMap(map[string]string{
		"DATABASE_URL": dbtest.URL(t), "JWT_SECRET": strings.Repeat("k", 32),
		"BOOTSTRAP_MANAGER_PASSWORD": "sentry-test-manager-password", "BCRYPT_COST": "4",
		"SENTRY_DSN": "https://key-canary@/1",
	}), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "SENTRY_DSN:") || strings.Contains(err.Error(), "canary") {
		t.Fatalf("start with a bad DSN: %v", err)
	}
}
