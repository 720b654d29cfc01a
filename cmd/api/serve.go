package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents"
	"epicevents/internal/db"
	apihttp "epicevents/internal/http"
	"epicevents/internal/pgserver"
	"epicevents/internal/service"
	"epicevents/internal/telemetry"
)

// app is the running service's parts, built by startApp.
type app struct {
	cfg      config
	log      *slog.Logger
	pool     *pgxpool.Pool
	handler  http.Handler
	draining *atomic.Bool
	closers  []func() // run in reverse order by cleanup
	// embedded is set when the database is the built-in development one.
	embedded bool
}

// onCleanup registers what cleanup releases, the last registered first.
func (a *app) onCleanup(f func()) { a.closers = append(a.closers, f) }

// cleanup releases the app's parts in the reverse order of their start.
func (a *app) cleanup() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	a, err := startApp(ctx, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	defer a.cleanup()
	defer startProfiler(getenv, a.log)()

	listener, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      a.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	a.log.Info("listening", "addr", listener.Addr().String())
	if a.embedded {
		announce(stderr, listener.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop being ready at once, keep serving while the load
	// balancer notices, then drain in-flight requests. Answers say
	// "Connection: close" from now on, so clients reconnect elsewhere.
	a.draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	a.log.Info("shutting down", "delay", a.cfg.ShutdownDelay.String(), "timeout", a.cfg.ShutdownTimeout.String())
	time.Sleep(a.cfg.ShutdownDelay)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after SHUTDOWN_TIMEOUT are cut; stopping
		// was asked for, so this is still a clean exit.
		a.log.Warn("shutdown timeout reached; closing the remaining connections", "error", err.Error())
		_ = srv.Close()
	}
	a.log.Info("stopped")
	return nil
}

// startApp reads the configuration, reaches (or starts) the database,
// migrates it, creates the first manager and builds the handler.
func startApp(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) (*app, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("starting", "version", version, "go_version", runtime.Version())
	a := &app{cfg: cfg, log: log, draining: &atomic.Bool{}}
	embedded := cfg.DatabaseURL == ""
	if !embedded && cfg.JWTSecret == nil {
		return nil, errors.New("JWT_SECRET: is required (at least 32 bytes) when DATABASE_URL is set")
	}
	if embedded {
		dev, err := startEmbedded(ctx, stderr)
		if err != nil {
			return nil, err
		}
		a.onCleanup(dev.stop)
		a.cfg.DatabaseURL = dev.url
		if a.cfg.JWTSecret == nil {
			a.cfg.JWTSecret = dev.jwtSecret
		}
		cfg = a.cfg
	}
	fail := func(err error) (*app, error) { a.cleanup(); return nil, err }

	pool, err := db.OpenPool(ctx, cfg.DatabaseURL, db.PoolOptions{StatementTimeout: cfg.RequestTimeout})
	if err != nil {
		return fail(fmt.Errorf("DATABASE_URL: %w", err))
	}
	a.pool = pool
	a.onCleanup(pool.Close)
	if err := migrateUp(ctx, pool, log); err != nil {
		return fail(err)
	}

	reporter, err := telemetry.NewReporter(telemetry.SentryOptions{
		DSN: cfg.SentryDSN, Environment: cfg.SentryEnvironment, Release: version,
	})
	if err != nil {
		// The parse error may quote the DSN, which holds a key: keep it out.
		return fail(errors.New("SENTRY_DSN: is not a valid Sentry DSN"))
	}
	a.onCleanup(func() { reporter.Flush(2 * time.Second); reporter.Close() })
	if reporter.Enabled() {
		log.Info("reporting errors to Sentry", "environment", cfg.SentryEnvironment)
	}
	metrics := telemetry.NewMetrics(version, poolStats(pool))

	store := db.NewStore(pool)
	deps := service.Deps{Store: store, Passwords: service.NewPasswords(cfg.BcryptCost), Notifier: reporter}
	collaborators := service.NewCollaboratorService(deps)
	bootstrap := service.BootstrapInput{Username: cfg.BootstrapUsername, Email: cfg.BootstrapEmail, Password: cfg.BootstrapPassword}
	generated := false
	if embedded && bootstrap.Password == "" {
		bootstrap.Password, generated = generatePassword(), true
	}
	created, err := collaborators.EnsureFirstManager(ctx, bootstrap)
	if err != nil {
		return fail(fmt.Errorf("first manager: %w", err))
	}
	if created {
		log.Info("created the first manager", "username", bootstrap.Username)
		if generated {
			fmt.Fprintf(stderr, "\nFirst manager created: username %q, password %q\n(shown this once; change it with PUT /v1/me/password)\n\n",
				bootstrap.Username, bootstrap.Password)
		}
	}
	auth := service.NewAuthService(deps, service.TokenConfig{
		Secret: cfg.JWTSecret, PreviousSecrets: cfg.JWTPreviousSecrets,
		Issuer: "epic-events", Audience: "epic-events-api",
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
	}, service.LoginLimits{
		LockoutThreshold: cfg.LoginLockoutThreshold, LockoutBase: cfg.LoginLockoutBase,
		LockoutMax: cfg.LoginLockoutMax, AccountLimit: cfg.LoginAccountLimit,
		AddressLimit: cfg.LoginAddressLimit, Window: cfg.LoginWindow,
	})
	a.handler = apihttp.NewHandler(apihttp.Config{
		Auth: auth, Collaborators: collaborators, Logger: log,
		RequestTimeout: cfg.RequestTimeout,
		TrustedProxies: cfg.TrustedProxies,
		Ready:          readiness(pool, a.draining),
		Observe: func(rec apihttp.RequestRecord) {
			metrics.ObserveRequest(rec)
			reporter.ObserveRequest(rec)
		},
		Metrics:            metrics.Handler(),
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,

		Clients:   service.NewClientService(deps),
		Contracts: service.NewContractService(deps),
		Events:    service.NewEventService(deps),

		Idempotency: service.NewIdempotencyService(deps),
		History:     service.NewHistoryService(deps),
		OpenAPI:     epicevents.OpenAPI,
	})
	a.embedded = embedded
	return a, nil
}

// readiness is 503 while draining, when the database does not answer, or
// when its schema is older than this binary's.
func readiness(pool *pgxpool.Pool, draining *atomic.Bool) func(context.Context) error {
	latest, _ := db.LatestVersion()
	unavailable := func(detail string) error {
		return &service.Error{Code: service.CodeUnavailable, Detail: detail, RetryAfter: 5 * time.Second}
	}
	return func(ctx context.Context) error {
		if draining.Load() {
			return unavailable("The server is shutting down.")
		}
		v, err := db.SchemaVersion(ctx, pool)
		if err != nil {
			return unavailable("The database does not answer.")
		}
		if v < latest {
			return unavailable(fmt.Sprintf("The database schema is at version %d; this server needs %d.", v, latest))
		}
		return nil
	}
}

// poolStats reads the pool's statistics for the metrics; the HTTP and
// telemetry packages stay free of the driver.
func poolStats(pool *pgxpool.Pool) func() telemetry.PoolStats {
	return func() telemetry.PoolStats {
		s := pool.Stat()
		return telemetry.PoolStats{
			MaxConns: s.MaxConns(), AcquiredConns: s.AcquiredConns(), IdleConns: s.IdleConns(),
			ConstructingConns: s.ConstructingConns(), AcquireCount: s.AcquireCount(),
			EmptyAcquireCount: s.EmptyAcquireCount(), CanceledAcquireCount: s.CanceledAcquireCount(),
			AcquireDuration: s.AcquireDuration(), NewConnsCount: s.NewConnsCount(),
		}
	}
}

// migrateUp applies pending migrations, waiting up to 30 s for a database
// that is still starting.
func migrateUp(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := pool.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("database not reachable: %w", err)
		}
		log.Warn("waiting for the database", "error", err.Error())
		time.Sleep(time.Second)
	}
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	results, err := m.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migrated", "version", r.Source.Version, "file", filepath.Base(r.Source.Path))
	}
	return nil
}

func generatePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// announce tells the developer where the API and its docs page are, at the
// address actually bound (HTTP_ADDR may name port 0 or no host).
func announce(w io.Writer, listenAddr string) {
	base := "http://" + displayAddr(listenAddr)
	fmt.Fprintf(w, "API on %s\nDocs at %s/docs\n", base, base)
}

// displayAddr turns a listening address into one a browser can open: a
// wildcard host becomes localhost.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// embeddedDB is the development database of `go run ./cmd/api`.
type embeddedDB struct {
	url       string
	jwtSecret []byte
	stop      func()
}

// startEmbedded runs PostgreSQL with its data in ./.data, kept between
// runs. As root the server runs as an unprivileged user, so the data goes
// where that user can reach it.
func startEmbedded(ctx context.Context, stderr io.Writer) (*embeddedDB, error) {
	base, err := filepath.Abs(".data")
	if err != nil {
		return nil, err
	}
	if pgserver.NeedsUnprivilegedUser() && !pgserver.Reachable(base) {
		// One directory per checkout, outside the unreachable one.
		sum := sha256.Sum256([]byte(base))
		base = filepath.Join("/var/tmp", fmt.Sprintf("epic-events-data-%x", sum[:6]))
	}
	if err := os.MkdirAll(base, 0o711); err != nil {
		return nil, fmt.Errorf("embedded database directory: %w", err)
	}
	_ = os.Chmod(base, 0o711)
	secret, err := persistentSecret(filepath.Join(base, "jwt-secret"))
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(base, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(base, "pg"), Log: logFile})
	if err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("embedded PostgreSQL (no DATABASE_URL set): %w", err)
	}
	url := srv.URL("postgres")
	fmt.Fprintf(stderr, "Embedded PostgreSQL: %s (data in %s)\n", url, base)
	return &embeddedDB{url: url, jwtSecret: secret, stop: func() { _ = srv.Stop(); _ = logFile.Close() }}, nil
}

// persistentSecret keeps a generated signing key next to the embedded
// data, so tokens survive a restart of the development server.
func persistentSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	secret := []byte(base64.RawURLEncoding.EncodeToString(b))
	return secret, os.WriteFile(path, secret, 0o600)
}
