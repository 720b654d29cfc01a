package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/dbtest"
	"epicevents/internal/webhook"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const testSecret = "a-signing-key-that-is-long-enough-1234"

// testSecretsKey is a SECRETS_KEY (64 hex digits).
const testSecretsKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.AccessTokenTTL != 15*time.Minute || cfg.RefreshTokenTTL != 720*time.Hour ||
		cfg.BcryptCost != 12 || cfg.RequestTimeout != 5*time.Second || cfg.ShutdownDelay != 0 ||
		cfg.ShutdownTimeout != 20*time.Second || cfg.LogLevel != slog.LevelInfo ||
		cfg.BootstrapUsername != "manager" || len(cfg.CORSAllowedOrigins) != 0 ||
		cfg.ChangesRetention != 840*time.Hour || cfg.ChangesMaxWaiters != 1000 ||
		!cmp.Equal(cfg.WebhookRetrySchedule, webhook.DefaultSchedule) {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestConfigReadsEverySetting(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{
		"DATABASE_URL": "postgres://u@db/crm", "SECRETS_KEY": testSecretsKey, "JWT_SECRET": testSecret,
		"JWT_PREVIOUS_SECRETS": "old-key-number-one-long-enough-12345, old-key-number-two-long-enough-12345",
		"HTTP_ADDR":            "127.0.0.1:9000", "LOG_LEVEL": "debug", "BCRYPT_COST": "10",
		"ACCESS_TOKEN_TTL": "5m", "REFRESH_TOKEN_TTL": "24h", "REQUEST_TIMEOUT": "2s",
		"SHUTDOWN_DELAY": "3s", "SHUTDOWN_TIMEOUT": "9s",
		"CORS_ALLOWED_ORIGINS": "https://app.example, https://m.example",
		"TRUSTED_PROXIES":      "10.0.0.0/8, 192.0.2.7",
		"SENTRY_DSN":           "dsn", "SENTRY_ENVIRONMENT": "staging",
		"BOOTSTRAP_MANAGER_USERNAME": "boss", "BOOTSTRAP_MANAGER_EMAIL": "boss@epic-events.test",
		"BOOTSTRAP_MANAGER_PASSWORD": "boss-password-long",
		"CHANGES_RETENTION":          "100h", "CHANGES_MAX_WAITERS": "50",
		"SECRETS_PREVIOUS_KEYS":    strings.Repeat("ab", 32) + "\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, 10.1.0.0/16",
		"WEBHOOK_RETRY_SCHEDULE":   "10ms,20ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://u@db/crm" || string(cfg.JWTSecret) != testSecret || len(cfg.JWTPreviousSecrets) != 2 ||
		cfg.HTTPAddr != "127.0.0.1:9000" || cfg.LogLevel != slog.LevelDebug || cfg.BcryptCost != 10 ||
		cfg.AccessTokenTTL != 5*time.Minute || cfg.RefreshTokenTTL != 24*time.Hour || cfg.RequestTimeout != 2*time.Second ||
		cfg.ShutdownDelay != 3*time.Second || cfg.ShutdownTimeout != 9*time.Second ||
		len(cfg.CORSAllowedOrigins) != 2 || len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1].String() != "192.0.2.7/32" ||
		cfg.SentryDSN != "dsn" || cfg.SentryEnvironment != "staging" ||
		cfg.BootstrapUsername != "boss" || cfg.BootstrapPassword != "boss-password-long" ||
		cfg.ChangesRetention != 100*time.Hour || cfg.ChangesMaxWaiters != 50 {
		t.Fatalf("config: %+v", cfg)
	}
	if hex.EncodeToString(cfg.SecretsKey) != testSecretsKey || len(cfg.SecretsPreviousKeys) != 2 ||
		!cmp.Equal(cfg.WebhookAllowedNetworks, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) ||
		!cmp.Equal(cfg.WebhookRetrySchedule, webhook.Schedule{10 * time.Millisecond, 20 * time.Millisecond}) {
		t.Fatalf("webhook settings: %+v", cfg)
	}
}

func TestConfigSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := loadConfig(envOf(map[string]string{
		"DATABASE_URL_FILE":               write("db", "postgres://u:p@db/crm"),
		"JWT_SECRET_FILE":                 write("jwt", testSecret),
		"BOOTSTRAP_MANAGER_PASSWORD_FILE": write("pw", "boss-password-long"),
		"JWT_PREVIOUS_SECRETS_FILE":       write("prev", "old-key-number-one-long-enough-12345\nold-key-number-two-long-enough-12345"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://u:p@db/crm" || string(cfg.JWTSecret) != testSecret ||
		cfg.BootstrapPassword != "boss-password-long" || len(cfg.JWTPreviousSecrets) != 2 {
		t.Fatalf("secrets from files: %+v", cfg)
	}
}

// A bad setting stops the start with a message naming the variable.
func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"JWT_SECRET":               {"JWT_SECRET": "short"},
		"SECRETS_KEY":              {"SECRETS_KEY": "not-a-key"},
		"SECRETS_PREVIOUS_KEYS":    {"SECRETS_PREVIOUS_KEYS": strings.Repeat("a", 64) + ",short"},
		"WEBHOOK_ALLOWED_NETWORKS": {"WEBHOOK_ALLOWED_NETWORKS": "localhost"},
		"WEBHOOK_RETRY_SCHEDULE":   {"WEBHOOK_RETRY_SCHEDULE": "5s,soon"},
		"JWT_PREVIOUS_SECRETS":     {"JWT_PREVIOUS_SECRETS": "short"},
		"ACCESS_TOKEN_TTL":         {"ACCESS_TOKEN_TTL": "fifteen"},
		"REQUEST_TIMEOUT":          {"REQUEST_TIMEOUT": "0s"},
		"BCRYPT_COST":              {"BCRYPT_COST": "40"},
		"LOG_LEVEL":                {"LOG_LEVEL": "loud"},
		"TRUSTED_PROXIES":          {"TRUSTED_PROXIES": "not-a-cidr"},
		"CHANGES_RETENTION":        {"CHANGES_RETENTION": "71h"},
		"CHANGES_MAX_WAITERS":      {"CHANGES_MAX_WAITERS": "0"},
		"DATABASE_URL_FILE":        {"DATABASE_URL_FILE": "/nonexistent/secret"},
		"DATABASE_URL":             {"DATABASE_URL": "x", "DATABASE_URL_FILE": "/etc/hostname"},
	}
	for name, env := range cases {
		_, err := loadConfig(envOf(env))
		if err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s: error %v does not name it", name, err)
		}
	}
}

func TestDotEnvFileYieldsToTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("HTTP_ADDR=:7000\nLOG_LEVEL=debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	real := map[string]string{"LOG_LEVEL": "error"}
	getenv := envWithDotEnv(path, func(k string) (string, bool) { v, ok := real[k]; return v, ok })
	if getenv("HTTP_ADDR") != ":7000" || getenv("LOG_LEVEL") != "error" || getenv("NOTHING") != "" {
		t.Fatalf("HTTP_ADDR=%q LOG_LEVEL=%q", getenv("HTTP_ADDR"), getenv("LOG_LEVEL"))
	}
}

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
		cfg, err := loadConfig(envOf(map[string]string{"DATABASE_URL": dsn, "DATABASE_PASSWORD_FILE": file}))
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
	cfg, err := loadConfig(envOf(map[string]string{"DATABASE_URL": "postgres://app:inline@db/crm"}))
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
		_, err := loadConfig(envOf(env))
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
	_, err := startApp(context.Background(), envOf(map[string]string{
		"DATABASE_URL": dbtest.URL(t), "SECRETS_KEY": testSecretsKey, "JWT_SECRET": strings.Repeat("k", 32),
		"BOOTSTRAP_MANAGER_PASSWORD": "sentry-test-manager-password", "BCRYPT_COST": "4",
		"SENTRY_DSN": "https://key-canary@/1",
	}), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "SENTRY_DSN:") || strings.Contains(err.Error(), "canary") {
		t.Fatalf("start with a bad DSN: %v", err)
	}
}

// PUBLIC_BASE_URL defaults to localhost on HTTP_ADDR's port, loses a
// trailing slash, and must be an http(s) URL with a host and no query.
func TestConfigPublicBaseURL(t *testing.T) {
	for _, c := range []struct{ addr, value, want string }{
		{"", "", "http://localhost:8080"},
		{"127.0.0.1:9000", "", "http://localhost:9000"},
		{":8081", "", "http://localhost:8081"},
		{"", "https://crm.example.com/", "https://crm.example.com"},
		{"", "https://example.com/crm", "https://example.com/crm"},
		{"", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	} {
		cfg, err := loadConfig(envOf(map[string]string{"HTTP_ADDR": c.addr, "PUBLIC_BASE_URL": c.value}))
		if err != nil || cfg.PublicBaseURL != c.want {
			t.Errorf("HTTP_ADDR %q PUBLIC_BASE_URL %q: %q, %v; want %q", c.addr, c.value, cfg.PublicBaseURL, err, c.want)
		}
	}
	for _, bad := range []string{"crm.example.com", "ftp://crm.example.com", "https://", "https://crm.example.com/?a=1",
		"https://crm.example.com/#x", "https://user:pw@crm.example.com"} {
		_, err := loadConfig(envOf(map[string]string{"PUBLIC_BASE_URL": bad}))
		if err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL") {
			t.Errorf("PUBLIC_BASE_URL %q: %v", bad, err)
		}
	}
}

// The embedded mode makes its SECRETS_KEY once and keeps it: a second
// start reads the same key, so sealed secrets still open.
func TestEmbeddedSecretsKeyIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets-key")
	first, err := persistentKey(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := persistentKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 || !cmp.Equal(first, again) || string(b) != hex.EncodeToString(first) {
		t.Fatalf("key %x, again %x, file %q", first, again, b)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", info.Mode(), err)
	}
}
