package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/seal"
	"epicevents/internal/service"
)

func TestHelpAndVersionPrintOnStdoutAndSucceed(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"-help"}, {"help"}, {"version"}, {"-version"}, {"--version"},
		{"help", "migrate"}, {"serve", "-h"}, {"migrate", "-h"}, {"create-manager", "-h"},
		{"create-manager", "--help"}, {"healthcheck", "-h"}, {"version", "-h"}, {"help", "-h"},
	} {
		var stdout, stderr bytes.Buffer
		// No settings at all: help needs none, and nothing may start.
		err := run(context.Background(), args, envOf(map[string]string{"LOG_LEVEL": "bogus"}), &stdout, &stderr)
		got := map[string]any{"exit": exitCode(err), "stderr": stderr.String(), "usage or version": strings.HasPrefix(stdout.String(), "Usage: api") || stdout.String() == "api dev\n"}
		if diff := cmp.Diff(map[string]any{"exit": 0, "stderr": "", "usage or version": true}, got); diff != "" {
			t.Errorf("api %v (-want +got):\n%s\nstdout:\n%s", args, diff, stdout.String())
		}
	}
	var out bytes.Buffer
	_ = run(context.Background(), []string{"help"}, envOf(nil), &out, &out)
	for _, name := range []string{"serve", "migrate", "create-manager", "healthcheck", "version", "help"} {
		if !strings.Contains(out.String(), "\n  "+name+" ") {
			t.Errorf("the usage does not list %s:\n%s", name, out.String())
		}
	}
	out.Reset()
	_ = run(context.Background(), []string{"create-manager", "-h"}, envOf(nil), &out, &out)
	for _, flag := range []string{"-username", "-email", "-employee-number"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("create-manager -h does not show %s:\n%s", flag, out.String())
		}
	}
}

func TestUnknownCommandsFlagsAndExtraArgumentsAreUsageErrors(t *testing.T) {
	for args, want := range map[string]string{
		"frobnicate":                        `unknown command "frobnicate"`,
		"serve --port 1":                    "serve: flag provided but not defined: -port",
		"serve extra":                       `serve: unexpected argument "extra"`,
		"migrate up extra":                  `migrate: unexpected argument "extra"`,
		"migrate":                           "migrate: say up, down or status",
		"migrate sideways":                  "migrate: say up, down or status",
		"create-manager zed":                `create-manager: unexpected argument "zed"`,
		"create-manager -nope":              "create-manager: flag provided but not defined: -nope",
		"healthcheck now":                   `healthcheck: unexpected argument "now"`,
		"version 2":                         `version: unexpected argument "2"`,
		"help frobnicate":                   `help: unknown command "frobnicate"`,
		"create-manager -employee-number 0": "create-manager: -employee-number must be from 1 to 999999",
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), strings.Fields(args), envOf(nil), &stdout, &stderr)
		var usage *usageError
		if !errors.As(err, &usage) {
			t.Errorf("api %s: err = %v, want a usage error", args, err)
			continue
		}
		got := map[string]any{"exit": exitCode(err), "msg": err.Error(), "usage": strings.HasPrefix(usage.usage, "Usage: api"), "stdout": stdout.String()}
		if diff := cmp.Diff(map[string]any{"exit": 2, "msg": want, "usage": true, "stdout": ""}, got); diff != "" {
			t.Errorf("api %s (-want +got):\n%s", args, diff)
		}
	}
	if diff := cmp.Diff([]int{0, 1}, []int{exitCode(nil), exitCode(errors.New("x"))}); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

func TestServeNeedsAJWTSecretWithADatabaseURL(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "JWT_SECRET:") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeNeedsASecretsKeyWithADatabaseURL(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "JWT_SECRET": testSecret}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "SECRETS_KEY:") {
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
	// Without -employee-number, the next free one.
	out.Reset()
	if err := run(context.Background(), []string{"create-manager", "-username", "zed", "-email", "zed@example.com"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "employee number 8\n") {
		t.Fatalf("create-manager output: %s", out.String())
	}
	// A value already taken names its field and flag, not a constraint.
	for args, want := range map[string]string{
		"-username ann -email ann@example.com -employee-number 7": "create-manager: employee_number 7 is already taken by another collaborator (-employee-number)",
		"-username zed -email zed2@example.com":                   "create-manager: username zed is already taken by another collaborator (-username)",
		"-username zed2 -email ZED@example.com":                   "create-manager: email ZED@example.com is already taken by another collaborator (-email)",
	} {
		err := run(context.Background(), append([]string{"create-manager"}, strings.Fields(args)...), env, &out, &out)
		if err == nil || err.Error() != want {
			t.Errorf("create-manager %s: err = %v, want %q", args, err, want)
		}
	}
	noPassword := envOf(map[string]string{"DATABASE_URL": url})
	if err := run(context.Background(), []string{"create-manager", "-username", "x2"}, noPassword, &out, &out); err == nil ||
		!strings.HasPrefix(err.Error(), "BOOTSTRAP_MANAGER_PASSWORD:") {
		t.Fatalf("create-manager without password: %v", err)
	}
	weak := envOf(map[string]string{"DATABASE_URL": url, "BOOTSTRAP_MANAGER_PASSWORD": "short"})
	if err := run(context.Background(), []string{"create-manager", "-username", "xavier", "-email", "xavier@example.com"}, weak, &out, &out); err == nil ||
		!strings.HasPrefix(err.Error(), "create-manager: password ") || !strings.HasSuffix(err.Error(), "(BOOTSTRAP_MANAGER_PASSWORD)") {
		t.Fatalf("create-manager with a weak password: %v", err)
	}
}

// Without DATABASE_URL the commands work on the embedded ./.data database:
// started for the command, or the running one.
func TestCommandsWorkOnTheEmbeddedDatabase(t *testing.T) {
	chdirReachable(t)
	env := envOf(map[string]string{"BCRYPT_COST": "4", "BOOTSTRAP_MANAGER_PASSWORD": "embedded-manager-pass"})
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "up"}, env, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "applied 1 ") || stderr.String() != "api: no DATABASE_URL: using the embedded database in ./.data\n" {
		t.Fatalf("migrate up:\n%s\n%s", stdout.String(), stderr.String())
	}
	a, err := startApp(context.Background(), envOf(map[string]string{"BCRYPT_COST": "4"}), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.cleanup()
	stdout.Reset()
	stderr.Reset()
	if err := run(context.Background(), []string{"create-manager", "-username", "ann", "-email", "ann@example.com"}, env, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "on the server already running") {
		t.Fatalf("create-manager while serving: %s", stderr.String())
	}
	login(t, a, "ann", "embedded-manager-pass")
	stdout.Reset()
	if err := run(context.Background(), []string{"migrate", "status"}, env, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "00001_collaborators.sql") || strings.Contains(stdout.String(), "pending") {
		t.Fatalf("migrate status:\n%s", stdout.String())
	}
}

// "secrets reencrypt" moves every webhook secret to the current key: once
// it ran, the previous key can go and the secrets still open.
func TestSecretsReencryptMovesToTheCurrentKey(t *testing.T) {
	ctx := context.Background()
	url := dbtest.URL(t)
	pool, err := db.OpenPool(ctx, url, db.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	oldKey, newKey := strings.Repeat("1", 64), strings.Repeat("2", 64)
	old, _ := seal.ParseKey(oldKey)
	oldRing, _ := seal.NewKeyring(old)
	svc := service.NewWebhookService(service.Deps{Store: db.NewStore(pool)}, service.WebhookConfig{Keyring: oldRing})
	caller := service.Caller{ID: firstManagerID(t, pool), RequestID: "test"}
	created, err := svc.Create(ctx, caller, service.CreateWebhookInput{URL: "https://hooks.example.com/", Types: []service.ChangeType{}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := envOf(map[string]string{"DATABASE_URL": url, "SECRETS_KEY": newKey, "SECRETS_PREVIOUS_KEYS": oldKey})
	if err := run(ctx, []string{"secrets", "reencrypt"}, env, &out, &out); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if out.String() != "re-encrypted the secrets of 1 webhooks\n" {
		t.Errorf("output %q", out.String())
	}
	current, _ := seal.ParseKey(newKey)
	newRing, _ := seal.NewKeyring(current) // the old key dropped
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT secret_sealed FROM webhooks WHERE id = $1`, created.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if plain, err := newRing.Open(sealed, created.ID[:]); err != nil || string(plain) != created.Secret {
		t.Fatalf("under the new key alone: %q, %v", plain, err)
	}
	// Without the previous key the old secrets cannot be read: refused.
	out.Reset()
	if err := run(ctx, []string{"secrets", "reencrypt"}, envOf(map[string]string{"DATABASE_URL": url, "SECRETS_KEY": oldKey}), &out, &out); err == nil {
		t.Fatal("re-encryption without the key the secrets are under succeeded")
	}
}

func firstManagerID(t *testing.T, pool *pgxpool.Pool) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	svc := service.NewCollaboratorService(service.Deps{Store: db.NewStore(pool), Passwords: service.NewPasswords(4),
		Render: apihttp.RenderRecord})
	if _, err := svc.EnsureFirstManager(ctx, service.BootstrapInput{Username: "manager", Email: "manager@epic-events.test",
		Password: "first-manager-secret"}); err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT id FROM collaborators WHERE username = 'manager'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
