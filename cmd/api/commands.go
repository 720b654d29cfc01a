package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"epicevents/internal/db"
	"epicevents/internal/service"
)

// migrate runs goose on DATABASE_URL: up, down or status.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return fmt.Errorf("usage: api migrate up|down|status")
	}
	cfg, err := loadConfigForDB(getenv)
	if err != nil {
		return err
	}
	pool, err := db.OpenPool(ctx, cfg.DatabaseURL, db.PoolOptions{})
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		results, err := m.Up(ctx)
		for _, r := range results {
			fmt.Fprintf(stdout, "applied %d %s\n", r.Source.Version, r.Source.Path)
		}
		return err
	case "down":
		r, err := m.Down(ctx)
		if r != nil {
			fmt.Fprintf(stdout, "rolled back %d %s\n", r.Source.Version, r.Source.Path)
		}
		return err
	default:
		statuses, err := m.Status(ctx)
		for _, s := range statuses {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%5d  %-40s %s\n", s.Source.Version, s.Source.Path, applied)
		}
		return err
	}
}

// loadConfigForDB reads the configuration of commands that only need the
// database; DATABASE_URL is required there.
func loadConfigForDB(getenv func(string) string) (config, error) {
	cfg, err := loadConfig(getenv)
	if err == nil && cfg.DatabaseURL == "" {
		err = fmt.Errorf("DATABASE_URL: is required for this command")
	}
	return cfg, err
}

// createManager adds a manager; the password comes from
// BOOTSTRAP_MANAGER_PASSWORD or its _FILE, never from a flag.
func createManager(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfigForDB(getenv)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("create-manager", flag.ContinueOnError)
	username := fs.String("username", cfg.BootstrapUsername, "username of the new manager")
	email := fs.String("email", cfg.BootstrapEmail, "email of the new manager")
	employee := fs.Int("employee-number", 1, "employee number (1-999999)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.BootstrapPassword == "" {
		return fmt.Errorf("BOOTSTRAP_MANAGER_PASSWORD: set it (or BOOTSTRAP_MANAGER_PASSWORD_FILE) to the new manager's password")
	}
	pool, err := db.OpenPool(ctx, cfg.DatabaseURL, db.PoolOptions{})
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	svc := service.NewCollaboratorService(service.Deps{Store: db.NewStore(pool), Passwords: service.NewPasswords(cfg.BcryptCost)})
	c, err := svc.CreateManager(ctx, service.BootstrapInput{Username: *username, Email: *email, Password: cfg.BootstrapPassword}, *employee)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created manager %s (%s)\n", c.Username, c.ID)
	return nil
}

// healthcheck asks the local server's /readyz; Docker's HEALTHCHECK runs it.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host := addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	url := fs.String("url", "http://"+host+"/readyz", "URL to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *url, resp.StatusCode)
	}
	return nil
}
