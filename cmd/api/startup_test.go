package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/dbtest"
)

// A port in use stops serve before it migrates or creates anything.
func TestServeTakesTheAddressBeforeCreatingTheFirstManager(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dbURL := dbtest.URL(t)
	env := envOf(map[string]string{"DATABASE_URL": dbURL, "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret, "BCRYPT_COST": "4",
		"HTTP_ADDR": taken.Addr().String(), "BOOTSTRAP_MANAGER_PASSWORD": "manager-password-long"})
	err = run(context.Background(), []string{"serve"}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "HTTP_ADDR: ") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v", err)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM collaborators").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d collaborators (%v) after a start that could not listen", n, err)
	}
}

// A database that does not exist, or a role it refuses, stops the start at
// once: well before the 30 s given to a database that is still starting.
func TestPermanentDatabaseErrorsStopTheStartAtOnce(t *testing.T) {
	base, err := url.Parse(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	noDatabase, noRole := *base, *base
	noDatabase.Path = "/no_such_database"
	noRole.User = url.User("no_such_role")
	for name, c := range map[string]struct {
		url  string
		want string
	}{
		"no database": {noDatabase.String(), `DATABASE_URL: the server refused the connection: database "no_such_database" does not exist (SQLSTATE 3D000)`},
		"no role":     {noRole.String(), `DATABASE_URL: the server refused the connection: role "no_such_role" does not exist (SQLSTATE 28000)`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var logs bytes.Buffer
		_, err := startApp(ctx, envOf(map[string]string{"DATABASE_URL": c.url, "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret}), &logs, &logs)
		gaveUp := ctx.Err() != nil
		cancel()
		if err == nil || gaveUp || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v (deadline reached: %v), want %q", name, err, gaveUp, c.want)
		}
		if strings.Contains(logs.String(), "waiting for the database") {
			t.Errorf("%s: retried a permanent error:\n%s", name, logs.String())
		}
	}
}

// A database that refuses connections (not started yet) is waited for.
func TestTransientDatabaseErrorsAreRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var logs bytes.Buffer
	_, err = startApp(ctx, envOf(map[string]string{"DATABASE_URL": "postgres://app@" + closed + "/crm", "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret}), &logs, &logs)
	if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL: stopped waiting for the database") {
		t.Fatalf("err = %v", err)
	}
	waits := 0
	for _, r := range records(t, logs.String()) {
		if r["msg"] == "waiting for the database" && strings.Contains(r["error"].(string), "connect") {
			waits++
		}
	}
	if waits < 2 {
		t.Fatalf("%d waits logged:\n%s", waits, logs.String())
	}
}

// A first manager's setting the service refuses is named like every other
// bad setting.
func TestARefusedFirstManagerNamesTheVariable(t *testing.T) {
	for env, want := range map[string]string{
		"BOOTSTRAP_MANAGER_PASSWORD=short":                                         "BOOTSTRAP_MANAGER_PASSWORD: must be at least 12 bytes",
		"BOOTSTRAP_MANAGER_PASSWORD=long-enough-pass BOOTSTRAP_MANAGER_EMAIL=nope": "BOOTSTRAP_MANAGER_EMAIL: ",
	} {
		settings := map[string]string{"DATABASE_URL": dbtest.URL(t), "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret, "BCRYPT_COST": "4"}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			settings[k] = v
		}
		_, err := startApp(context.Background(), envOf(settings), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q...", env, err, want)
		}
	}
}

// Every log record of a process has one format: LOG_FORMAT's, else text
// on a terminal and JSON otherwise.
func TestLogFormat(t *testing.T) {
	got := map[string]string{}
	for _, c := range []struct {
		format   string
		terminal bool
	}{{"", false}, {"", true}, {"auto", true}, {"json", true}, {"text", false}, {"TEXT", false}} {
		cfg, err := loadConfig(envOf(map[string]string{"LOG_FORMAT": c.format}))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		var w io.Writer = &out
		tty := &fakeTerminal{}
		if c.terminal {
			w = tty
		}
		newLogger(cfg, w).Info("hello", "n", 1)
		line := out.String() + tty.String()
		kind := "other"
		switch {
		case strings.HasPrefix(line, `{"time":`) && strings.HasSuffix(line, `"msg":"hello","n":1}`+"\n"):
			kind = "json"
		case strings.HasPrefix(line, "time=") && strings.HasSuffix(line, "level=INFO msg=hello n=1\n"):
			kind = "text"
		}
		got[c.format+" terminal="+map[bool]string{true: "yes", false: "no"}[c.terminal]] = kind
	}
	want := map[string]string{
		" terminal=no": "json", " terminal=yes": "text", "auto terminal=yes": "text",
		"json terminal=yes": "json", "text terminal=no": "text", "TEXT terminal=no": "text",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := loadConfig(envOf(map[string]string{"LOG_FORMAT": "yaml"})); err == nil || err.Error() != `LOG_FORMAT: must be json, text or auto, got "yaml"` {
		t.Fatalf("err = %v", err)
	}
}

// A URL of another database says the scheme must be postgres, and no URL
// error quotes the password.
func TestDatabaseURLErrorsNameTheSchemeAndNeverThePassword(t *testing.T) {
	got := map[string]string{}
	for _, dsn := range []string{"mysql://root:hunter2@db/crm", "jdbc:postgresql://root:hunter2@db/crm", "postgres://root:hunter2@db:notaport/crm"} {
		_, err := startApp(context.Background(), envOf(map[string]string{"DATABASE_URL": dsn, "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret}), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Fatalf("%s accepted", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error quotes the password: %v", err)
		}
		got[dsn] = err.Error()
	}
	want := map[string]string{
		"mysql://root:hunter2@db/crm":             "DATABASE_URL: the scheme must be postgres:// (or postgresql://), not mysql://",
		"jdbc:postgresql://root:hunter2@db/crm":   "DATABASE_URL: the scheme must be postgres:// (or postgresql://)",
		"postgres://root:hunter2@db:notaport/crm": "DATABASE_URL: is not a valid PostgreSQL URL or keyword/value connection string",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
