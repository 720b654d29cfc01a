package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"epicevents/internal/seal"
	"epicevents/internal/webhook"
)

// config is every setting of the binary, read once from the environment.
type config struct {
	DatabaseURL        string
	JWTSecret          []byte
	JWTPreviousSecrets [][]byte
	HTTPAddr           string
	// PprofAddr, when set, serves net/http/pprof on a listener of its own.
	PprofAddr         string
	SentryDSN         string
	SentryEnvironment string
	LogLevel          slog.Level
	// LogFormat is "json", "text", or "" for text on a terminal and JSON
	// otherwise.
	LogFormat          string
	CORSAllowedOrigins []string
	TrustedProxies     []netip.Prefix
	// PublicBaseURL prefixes the URLs the API hands out (calendar feeds);
	// the Host header is never used for them.
	PublicBaseURL   string
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	BcryptCost      int
	RequestTimeout  time.Duration
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration

	// Login throttling (SPEC §4); see service.LoginLimits.
	LoginLockoutThreshold int
	LoginLockoutBase      time.Duration
	LoginLockoutMax       time.Duration
	LoginAccountLimit     int
	LoginAddressLimit     int
	LoginWindow           time.Duration

	BootstrapUsername string
	BootstrapEmail    string
	BootstrapPassword string

	// The change feed (SPEC §7).
	ChangesRetention  time.Duration
	ChangesMaxWaiters int

	// Webhooks (SPEC §7): the key sealing their secrets, previous keys
	// that only open, the networks targets may reach beyond the public
	// internet, and the retry ladder.
	SecretsKey             []byte
	SecretsPreviousKeys    [][]byte
	WebhookAllowedNetworks []netip.Prefix
	WebhookRetrySchedule   webhook.Schedule
}

// envReader reads settings and remembers the first bad one.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) fail(name, format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

// secret reads NAME, or the file NAME_FILE names (Docker secrets); never both.
func (e *envReader) secret(name string) string {
	v, file := e.getenv(name), e.getenv(name+"_FILE")
	if v != "" && file != "" {
		e.fail(name, "set either %s or %s_FILE, not both", name, name)
		return ""
	}
	if file == "" {
		return strings.TrimSpace(v)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		e.fail(name+"_FILE", "cannot read %s: %v", file, errors.Unwrap(err))
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.fail(name, "must be a duration such as 15m or 30s, got %q", v)
		return def
	}
	return d
}

func (e *envReader) integer(name string, def, lo, hi int) int {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.fail(name, "must be a whole number from %d to %d, got %q", lo, hi, v)
		return def
	}
	return n
}

func (e *envReader) list(name string) []string {
	var out []string
	for _, part := range strings.Split(e.str(name, ""), ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadConfig reads the configuration. Settings only some commands need
// (JWT_SECRET for serve, DATABASE_URL for migrate) are checked by them.
func loadConfig(getenv func(string) string) (config, error) {
	e := &envReader{getenv: getenv}
	c := config{
		DatabaseURL:           e.secret("DATABASE_URL"),
		HTTPAddr:              e.str("HTTP_ADDR", ":8080"),
		PprofAddr:             e.str("PPROF_ADDR", ""),
		SentryDSN:             e.secret("SENTRY_DSN"),
		SentryEnvironment:     e.str("SENTRY_ENVIRONMENT", "production"),
		AccessTokenTTL:        e.duration("ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:       e.duration("REFRESH_TOKEN_TTL", 30*24*time.Hour),
		BcryptCost:            e.integer("BCRYPT_COST", 12, 4, 31),
		RequestTimeout:        e.duration("REQUEST_TIMEOUT", 5*time.Second),
		ShutdownDelay:         e.duration("SHUTDOWN_DELAY", 0),
		ShutdownTimeout:       e.duration("SHUTDOWN_TIMEOUT", 20*time.Second),
		LoginLockoutThreshold: e.integer("LOGIN_LOCKOUT_THRESHOLD", 5, 1, 1000),
		LoginLockoutBase:      e.duration("LOGIN_LOCKOUT_BASE", time.Minute),
		LoginLockoutMax:       e.duration("LOGIN_LOCKOUT_MAX", 15*time.Minute),
		LoginAccountLimit:     e.integer("LOGIN_ACCOUNT_LIMIT", 50, 1, 1000000),
		LoginAddressLimit:     e.integer("LOGIN_ADDRESS_LIMIT", 100, 1, 1000000),
		LoginWindow:           e.duration("LOGIN_WINDOW", 15*time.Minute),
		BootstrapUsername:     e.str("BOOTSTRAP_MANAGER_USERNAME", "manager"),
		BootstrapEmail:        e.str("BOOTSTRAP_MANAGER_EMAIL", "manager@epic-events.test"),
		BootstrapPassword:     e.secret("BOOTSTRAP_MANAGER_PASSWORD"),
		ChangesRetention:      e.duration("CHANGES_RETENTION", 840*time.Hour),
		ChangesMaxWaiters:     e.integer("CHANGES_MAX_WAITERS", 1000, 1, 1000000),
	}
	if c.ChangesRetention < 72*time.Hour {
		e.fail("CHANGES_RETENTION", "must be at least 72h, got %s", c.ChangesRetention)
	}
	if password := e.secret("DATABASE_PASSWORD"); password != "" {
		if c.DatabaseURL == "" {
			e.fail("DATABASE_PASSWORD", "is set but DATABASE_URL is not")
		} else if withPassword, err := databaseURLWithPassword(c.DatabaseURL, password); err != nil {
			e.fail("DATABASE_URL", "%v", err)
		} else {
			c.DatabaseURL = withPassword
		}
	}
	if c.AccessTokenTTL <= 0 {
		e.fail("ACCESS_TOKEN_TTL", "must be positive")
	}
	if c.RefreshTokenTTL <= 0 {
		e.fail("REFRESH_TOKEN_TTL", "must be positive")
	}
	if c.RequestTimeout <= 0 {
		e.fail("REQUEST_TIMEOUT", "must be positive")
	}
	if c.LoginLockoutBase <= 0 {
		e.fail("LOGIN_LOCKOUT_BASE", "must be positive")
	}
	if c.LoginLockoutMax < c.LoginLockoutBase {
		e.fail("LOGIN_LOCKOUT_MAX", "must be at least LOGIN_LOCKOUT_BASE (%s)", c.LoginLockoutBase)
	}
	if c.LoginWindow <= 0 {
		e.fail("LOGIN_WINDOW", "must be positive")
	}
	if secret := e.secret("JWT_SECRET"); secret != "" {
		if len(secret) < 32 {
			e.fail("JWT_SECRET", "must be at least 32 bytes, got %d", len(secret))
		}
		c.JWTSecret = []byte(secret)
	}
	// Previous keys still verify tokens, so a key can be rotated without
	// logging everyone out. Commas or newlines separate them.
	previous := strings.FieldsFunc(e.secret("JWT_PREVIOUS_SECRETS"), func(r rune) bool { return r == ',' || r == '\n' })
	for _, s := range previous {
		if s = strings.TrimSpace(s); len(s) < 32 {
			e.fail("JWT_PREVIOUS_SECRETS", "each key must be at least 32 bytes")
		}
		c.JWTPreviousSecrets = append(c.JWTPreviousSecrets, []byte(strings.TrimSpace(s)))
	}
	switch level := strings.ToLower(e.str("LOG_LEVEL", "info")); level {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		e.fail("LOG_LEVEL", "must be debug, info, warn or error, got %q", level)
	}
	switch format := strings.ToLower(e.str("LOG_FORMAT", "auto")); format {
	case "auto":
	case "json", "text":
		c.LogFormat = format
	default:
		e.fail("LOG_FORMAT", "must be json, text or auto, got %q", format)
	}
	if c.DatabaseURL != "" {
		if err := checkDatabaseURLScheme(c.DatabaseURL); err != nil {
			e.fail("DATABASE_URL", "%v", err)
		}
	}
	if key := e.secret("SECRETS_KEY"); key != "" {
		k, err := seal.ParseKey(key)
		if err != nil {
			e.fail("SECRETS_KEY", "%v", err)
		}
		c.SecretsKey = k
	}
	for _, s := range strings.FieldsFunc(e.secret("SECRETS_PREVIOUS_KEYS"), func(r rune) bool { return r == ',' || r == '\n' }) {
		k, err := seal.ParseKey(strings.TrimSpace(s))
		if err != nil {
			e.fail("SECRETS_PREVIOUS_KEYS", "%v", err)
			continue
		}
		c.SecretsPreviousKeys = append(c.SecretsPreviousKeys, k)
	}
	for _, p := range e.list("WEBHOOK_ALLOWED_NETWORKS") {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			e.fail("WEBHOOK_ALLOWED_NETWORKS", "%q is not a CIDR such as 127.0.0.0/8", p)
			continue
		}
		c.WebhookAllowedNetworks = append(c.WebhookAllowedNetworks, prefix.Masked())
	}
	c.WebhookRetrySchedule = webhook.DefaultSchedule
	if v := e.str("WEBHOOK_RETRY_SCHEDULE", ""); v != "" {
		schedule, err := webhook.ParseSchedule(v)
		if err != nil {
			e.fail("WEBHOOK_RETRY_SCHEDULE", "%v", err)
		}
		c.WebhookRetrySchedule = schedule
	}
	c.PublicBaseURL = publicBaseURL(e, c.HTTPAddr)
	c.CORSAllowedOrigins = e.list("CORS_ALLOWED_ORIGINS")
	for _, p := range e.list("TRUSTED_PROXIES") {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				e.fail("TRUSTED_PROXIES", "%q is not a CIDR such as 10.0.0.0/8", p)
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	return c, e.err
}

// checkDatabaseURLScheme refuses a URL of another database than
// PostgreSQL; a keyword/value string (host=db user=app) has no scheme. The
// error names the scheme only, never the rest of the URL.
func checkDatabaseURLScheme(dsn string) error {
	scheme, _, isURL := strings.Cut(dsn, "://")
	if !isURL {
		return nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return nil
	}
	valid := scheme != ""
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			valid = false
		}
	}
	if !valid {
		return errors.New("the scheme must be postgres:// (or postgresql://)")
	}
	return fmt.Errorf("the scheme must be postgres:// (or postgresql://), not %s://", scheme)
}

// databaseURLWithPassword puts the password of DATABASE_PASSWORD into the
// URL, so that the password alone can be a secret file shared with the
// database server, and the rest of the URL plain configuration. Errors
// never quote the URL, which may hold other secrets.
func databaseURLWithPassword(dsn, password string) (string, error) {
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("is not a valid URL")
		}
		if u.User == nil || u.User.Username() == "" {
			return "", errors.New("must name the user (postgres://USER@host/db) when DATABASE_PASSWORD is set")
		}
		if _, has := u.User.Password(); has {
			return "", errors.New("carries a password and DATABASE_PASSWORD is set too: keep one")
		}
		u.User = url.UserPassword(u.User.Username(), password)
		return u.String(), nil
	}
	// Keyword/value form: host=db user=app dbname=app
	if strings.Contains(lower, "password=") {
		return "", errors.New("carries a password and DATABASE_PASSWORD is set too: keep one")
	}
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password)
	return dsn + " password='" + quoted + "'", nil
}

// publicBaseURL reads PUBLIC_BASE_URL: an http or https URL with a host
// and no query or fragment, kept without its trailing slash. It defaults
// to http://localhost:<port of HTTP_ADDR>.
func publicBaseURL(e *envReader, httpAddr string) string {
	v := e.str("PUBLIC_BASE_URL", "")
	if v == "" {
		_, port, err := net.SplitHostPort(httpAddr)
		if err != nil || port == "" {
			port = "8080"
		}
		return "http://localhost:" + port
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#") {
		// The value is not quoted: it might carry credentials.
		e.fail("PUBLIC_BASE_URL", "must be an http:// or https:// URL with a host, and no user, query or fragment, such as https://crm.example.com")
		return ""
	}
	return strings.TrimRight(v, "/")
}
