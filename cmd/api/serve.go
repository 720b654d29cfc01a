package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"epicevents"
	"epicevents/internal/db"
	apihttp "epicevents/internal/http"
	"epicevents/internal/jobs"
	"epicevents/internal/netguard"
	"epicevents/internal/seal"
	"epicevents/internal/service"
	"epicevents/internal/telemetry"
	"epicevents/internal/webhook"
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
	// drain ends held requests (long polls, streams) at SIGTERM.
	drain func()
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

func serve(ctx context.Context, inv invocation) error {
	if _, err := inv.parse(nil, 0); err != nil {
		return err
	}
	cfg, err := loadServeConfig(inv.getenv)
	if err != nil {
		return err
	}
	tuneGC(inv.getenv)
	// A second instance on ./.data would find the address taken too: say
	// the cause.
	if cfg.DatabaseURL == "" {
		if err := embeddedInUse(); err != nil {
			return err
		}
	}
	// The address is taken before anything is migrated or created, so a
	// port in use stops the start with nothing done.
	listener, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	defer listener.Close()
	a, err := newApp(ctx, cfg, inv.stdout, inv.stderr)
	if err != nil {
		return err
	}
	defer a.cleanup()
	defer startProfiler(cfg.PprofAddr, a.log)()

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
	if a.embedded {
		base := "http://" + displayAddr(listener.Addr().String())
		a.log.Info("listening", "addr", listener.Addr().String(), "url", base, "docs", base+"/docs")
	} else {
		a.log.Info("listening", "addr", listener.Addr().String())
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
	a.drain()
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

// loadServeConfig reads the configuration of serve, which needs a signing
// key with a DATABASE_URL (the embedded mode keeps its own).
func loadServeConfig(getenv func(string) string) (config, error) {
	cfg, err := loadConfig(getenv)
	if err == nil && cfg.DatabaseURL != "" && cfg.JWTSecret == nil {
		err = errors.New("JWT_SECRET: is required (at least 32 bytes) when DATABASE_URL is set")
	}
	if err == nil && cfg.DatabaseURL != "" && cfg.SecretsKey == nil {
		err = errors.New("SECRETS_KEY: is required (64 hex digits, or base64 of 32 bytes) when DATABASE_URL is set")
	}
	return cfg, err
}

// startApp reads the configuration and builds the app, as serve does
// without the listener.
func startApp(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) (*app, error) {
	cfg, err := loadServeConfig(getenv)
	if err != nil {
		return nil, err
	}
	return newApp(ctx, cfg, stdout, stderr)
}

// newApp reaches (or starts) the database, migrates it, creates the first
// manager and builds the handler.
func newApp(ctx context.Context, cfg config, stdout, stderr io.Writer) (*app, error) {
	log := newLogger(cfg, stdout)
	log.Info("starting", "version", version, "go_version", runtime.Version())
	a := &app{cfg: cfg, log: log, draining: &atomic.Bool{}, drain: func() {}}
	fail := func(err error) (*app, error) { a.cleanup(); return nil, err }
	embedded := cfg.DatabaseURL == ""
	var dev *embeddedDB
	if embedded {
		var err error
		if dev, err = startEmbedded(ctx); err != nil {
			return nil, err
		}
		a.onCleanup(dev.stop)
		log.Info("embedded PostgreSQL started", "url", dev.url, "data_dir", dev.dir)
		a.cfg.DatabaseURL = dev.url
		if a.cfg.JWTSecret == nil {
			if a.cfg.JWTSecret, err = persistentSecret(filepath.Join(dev.dir, "jwt-secret")); err != nil {
				return fail(err)
			}
		}
		if a.cfg.SecretsKey == nil {
			if a.cfg.SecretsKey, err = persistentKey(filepath.Join(dev.dir, "secrets-key")); err != nil {
				return fail(err)
			}
		}
		cfg = a.cfg
	}

	pool, err := connectDatabase(ctx, cfg.DatabaseURL, db.PoolOptions{StatementTimeout: cfg.RequestTimeout}, 30*time.Second,
		func(err error) { log.Warn("waiting for the database", "error", describeConnectError(err)) })
	if err != nil {
		return fail(err)
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

	keyring, err := seal.NewKeyring(cfg.SecretsKey, cfg.SecretsPreviousKeys...)
	if err != nil {
		return fail(fmt.Errorf("SECRETS_KEY: %w", err))
	}
	guard := netguard.New(cfg.WebhookAllowedNetworks, nil)
	store := db.NewStore(pool)
	// The queue's workers need the webhook service, which needs the
	// queue's client: the workers are given it once it is built.
	workers := river.NewWorkers()
	var services *service.Services
	if err := service.AddWebhookWorkers(workers, func() *service.WebhookService { return services.Webhooks }); err != nil {
		return fail(err)
	}
	queue, err := jobs.NewClient(pool, jobs.Config{Logger: log, Workers: workers, MaxWorkers: 20})
	if err != nil {
		return fail(fmt.Errorf("job queue: %w", err))
	}
	deps := service.Deps{Store: store, Passwords: service.NewPasswords(cfg.BcryptCost), Notifier: reporter,
		Render: apihttp.RenderRecord, Committed: metrics.ChangeCommitted, Jobs: queue}
	// One connection outside the pool wakes every held reader of the feed.
	listener := db.NewListener(pool.Config().ConnConfig, func(err error) {
		log.Warn("change listener lost its connection; reconnecting", "error", err.Error())
	})
	services = service.NewServices(deps, service.Settings{
		Tokens: service.TokenConfig{
			Secret: cfg.JWTSecret, PreviousSecrets: cfg.JWTPreviousSecrets,
			Issuer: "epic-events", Audience: "epic-events-api",
			AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		},
		Limits: service.LoginLimits{
			LockoutThreshold: cfg.LoginLockoutThreshold, LockoutBase: cfg.LoginLockoutBase,
			LockoutMax: cfg.LoginLockoutMax, AccountLimit: cfg.LoginAccountLimit,
			AddressLimit: cfg.LoginAddressLimit, Window: cfg.LoginWindow,
		},
		Webhooks: service.WebhookConfig{
			Keyring: keyring, Guard: guard, Sender: webhook.NewSender(guard, 0),
			Schedule: cfg.WebhookRetrySchedule, RenderChange: apihttp.RenderChange,
			Attempted: metrics.WebhookAttempted,
		},
		Feed: service.FeedConfig{
			Retention: cfg.ChangesRetention, MaxWaiters: cfg.ChangesMaxWaiters,
			StatementTimeout: cfg.RequestTimeout, Wakeup: listener,
		},
		PublicBaseURL: cfg.PublicBaseURL,
	})
	bootstrap := service.BootstrapInput{Username: cfg.BootstrapUsername, Email: cfg.BootstrapEmail, Password: cfg.BootstrapPassword}
	if embedded && bootstrap.Password == "" {
		err = firstManagerWithGeneratedPassword(ctx, services.Collaborators, bootstrap, dev.dir, log, stdout, stderr)
	} else {
		err = firstManager(ctx, services.Collaborators, bootstrap, log)
	}
	if err != nil {
		return fail(err)
	}
	metrics.WebhookQueueLag(func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return services.Webhooks.QueueLag(ctx)
	})
	startFeed(a, listener, services, log)
	metrics.FeedWaiters(services.Feed.Waiters)
	a.handler = apihttp.NewHandler(apihttp.Config{
		Services:       services,
		Logger:         log,
		RequestTimeout: cfg.RequestTimeout,
		TrustedProxies: cfg.TrustedProxies,
		Ready:          readiness(pool, a.draining),
		Observe: func(rec apihttp.RequestRecord) {
			metrics.ObserveRequest(rec)
			reporter.ObserveRequest(rec)
		},
		Metrics:            metrics.Handler(),
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
		OpenAPI:            epicevents.OpenAPI,
	})
	// Deliveries start once everything they use is built; cleanup stops
	// them (an attempt under way may finish) before the pool closes.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fail(fmt.Errorf("job queue: %w", err))
	}
	a.onCleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), webhook.AttemptTimeout+5*time.Second)
		defer cancel()
		if err := queue.Stop(stopCtx); err != nil {
			log.Warn("the job queue did not stop in time", "error", err.Error())
		}
	})
	a.embedded = embedded
	return a, nil
}

// startFeed runs the feed's listener and its hourly upkeep (pruning the
// feed and the webhook deliveries, cutting the client search buckets
// again as the clients grow), both stopped by cleanup.
func startFeed(a *app, listener *db.Listener, services *service.Services, log *slog.Logger) {
	feed, webhooks := services.Feed, services.Webhooks
	a.drain = feed.Drain
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { listener.Run(ctx); done <- struct{}{} }()
	go func() {
		defer func() { done <- struct{}{} }()
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			if n, err := feed.Prune(ctx); err != nil && ctx.Err() == nil {
				log.Warn("pruning the change feed failed", "error", err.Error())
			} else if n > 0 {
				log.Info("pruned the change feed", "changes", n)
			}
			// The delivery log keeps 30 days.
			if n, err := webhooks.PruneDeliveries(ctx); err != nil && ctx.Err() == nil {
				log.Warn("pruning the webhook deliveries failed", "error", err.Error())
			} else if n > 0 {
				log.Info("pruned the webhook deliveries", "deliveries", n)
			}
			started := time.Now()
			if rebuilt, err := services.Clients.MaintainSearchBuckets(ctx); err != nil && ctx.Err() == nil {
				log.Warn("cutting the client search buckets failed", "error", err.Error())
			} else if rebuilt {
				log.Info("cut the client search buckets", "duration", time.Since(started).String())
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	a.onCleanup(func() { feed.Drain(); stop(); <-done; <-done })
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

// migrateUp applies pending migrations.
func migrateUp(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
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

// tuneGC runs the collector half as often as Go's default (GOGC=200)
// unless the environment sets GOGC or GOMEMLIMIT: a request leaves some
// 15 kB of short-lived objects over a live heap of a few MB, so
// collections, not memory, were the cost. No memory limit is set by
// default: a heap that must grow (many held feed readers, a long
// calendar) should grow rather than collect without end.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(200)
	}
}
