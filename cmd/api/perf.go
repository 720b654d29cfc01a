package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/schollz/progressbar/v3"

	"epicevents/internal/db"
	"epicevents/internal/seed"
	"epicevents/internal/service"
)

// seedCommand fills a freshly migrated (or empty) DATABASE_URL with the
// measurement data set: `api seed -clients 200000 ...`. It migrates first,
// refuses a database holding collaborators or business data, and shows its
// progress on stderr.
func seedCommand(ctx context.Context, inv invocation) error {
	fs := flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
	sizes := seed.Default
	fs.IntVar(&sizes.Collaborators, "collaborators", sizes.Collaborators, "collaborators (1% management, the rest half commercial, half support)")
	fs.IntVar(&sizes.Clients, "clients", sizes.Clients, "clients, spread over the commercials")
	fs.IntVar(&sizes.Contracts, "contracts", sizes.Contracts, "contracts (70% signed, half of those fully paid)")
	fs.IntVar(&sizes.Events, "events", sizes.Events, "events of signed contracts (30% without support)")
	randomSeed := fs.Uint64("seed", 1, "seed of the random data")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if _, err := inv.parse(fs, 0); err != nil {
		return err
	}
	stdout, stderr := inv.stdout, inv.stderr
	cfg, err := loadConfig(inv.getenv)
	if err != nil {
		return err
	}
	pool, done, err := openCommandDatabase(ctx, cfg, inv)
	if err != nil {
		return err
	}
	defer done()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	_, err = m.Up(ctx)
	m.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	hash, err := service.NewPasswords(cfg.BcryptCost).Hash(seed.Password)
	if err != nil {
		return err
	}
	started := time.Now()
	bars := map[string]*progressbar.ProgressBar{}
	progress := func(kind string, done, total int) {
		if *quiet {
			return
		}
		bar := bars[kind]
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("%-13s", kind)), progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
			bars[kind] = bar
		}
		_ = bar.Set(done)
	}
	clients := service.NewClientService(service.Deps{Store: db.NewStore(pool)})
	cutBuckets := func(ctx context.Context) error {
		progress("search buckets", 0, 1)
		_, err := clients.RebuildSearchBuckets(ctx, service.SearchBucketRows)
		progress("search buckets", 1, 1)
		return err
	}
	err = seed.Seed(ctx, pool, seed.Options{Sizes: sizes, PasswordHash: hash, Seed: *randomSeed, Progress: progress, AfterLoad: cutBuckets})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d collaborators, %d clients, %d contracts, %d events in %s; every login's password is %q\n",
		sizes.Collaborators, sizes.Clients, sizes.Contracts, sizes.Events, time.Since(started).Round(100*time.Millisecond), seed.Password)
	return nil
}

// startProfiler serves net/http/pprof on PPROF_ADDR, a listener of its own
// that is off unless that variable names an address (keep it on loopback).
// The returned function stops it.
func startProfiler(addr string, log *slog.Logger) func() {
	if addr == "" {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("profiler not started", "addr", addr, "error", err.Error())
		return func() {}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("profiler stopped", "error", err.Error())
		}
	}()
	log.Info("profiler listening", "addr", listener.Addr().String())
	return func() { _ = srv.Close() }
}
