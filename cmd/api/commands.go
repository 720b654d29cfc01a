package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
	apihttp "epicevents/internal/http"
	"epicevents/internal/seal"
	"epicevents/internal/service"
)

// openCommandDatabase connects a command to its database (see
// commandDatabase), waiting a while for one that is still starting.
func openCommandDatabase(ctx context.Context, cfg config, inv invocation) (*pgxpool.Pool, func(), error) {
	url, done, err := commandDatabase(ctx, cfg, inv.stderr)
	if err != nil {
		return nil, nil, err
	}
	pool, err := connectDatabase(ctx, url, db.PoolOptions{}, 30*time.Second, func(err error) {
		fmt.Fprintf(inv.stderr, "api: waiting for the database: %s\n", describeConnectError(err))
	})
	if err != nil {
		done()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); done() }, nil
}

// migrate runs goose: up, down or status.
func migrate(ctx context.Context, inv invocation) error {
	args, err := inv.parse(nil, 1)
	if err != nil {
		return err
	}
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		fs := flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
		return &usageError{msg: "migrate: say up, down or status", usage: commandUsage(inv.command, fs)}
	}
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
	defer m.Close()
	stdout := inv.stdout
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

// createManager adds a manager; the password comes from
// BOOTSTRAP_MANAGER_PASSWORD or its _FILE, never from a flag.
func createManager(ctx context.Context, inv invocation) error {
	fs := flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
	username := fs.String("username", "", "username of the new manager (default BOOTSTRAP_MANAGER_USERNAME, else manager)")
	email := fs.String("email", "", "email of the new manager (default BOOTSTRAP_MANAGER_EMAIL, else manager@epic-events.test)")
	employee := fs.Int("employee-number", 0, "employee number, 1 to 999999 (default: the one after the highest given)")
	if _, err := inv.parse(fs, 0); err != nil {
		return err
	}
	cfg, err := loadConfig(inv.getenv)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["username"] {
		*username = cfg.BootstrapUsername
	}
	if !given["email"] {
		*email = cfg.BootstrapEmail
	}
	if given["employee-number"] && *employee == 0 {
		return &usageError{msg: "create-manager: -employee-number must be from 1 to 999999", usage: commandUsage(inv.command, fs)}
	}
	if cfg.BootstrapPassword == "" {
		return fmt.Errorf("BOOTSTRAP_MANAGER_PASSWORD: set it (or BOOTSTRAP_MANAGER_PASSWORD_FILE) to the new manager's password")
	}
	pool, done, err := openCommandDatabase(ctx, cfg, inv)
	if err != nil {
		return err
	}
	defer done()
	svc := service.NewCollaboratorService(service.Deps{Store: db.NewStore(pool), Passwords: service.NewPasswords(cfg.BcryptCost),
		Render: apihttp.RenderRecord})
	c, err := svc.CreateManager(ctx, service.BootstrapInput{Username: *username, Email: *email, Password: cfg.BootstrapPassword}, *employee)
	if err != nil {
		return createManagerError(err, map[string]string{
			"username": *username, "email": *email, "employee_number": strconv.Itoa(*employee),
		})
	}
	fmt.Fprintf(inv.stdout, "created manager %s (%s), employee number %d\n", c.Username, c.ID, c.EmployeeNumber)
	return nil
}

// createManagerInputs names where each field of create-manager comes from.
var createManagerInputs = map[string]string{
	"username":        "-username",
	"email":           "-email",
	"employee_number": "-employee-number",
	"password":        "BOOTSTRAP_MANAGER_PASSWORD",
}

// createManagerError names the field (and its flag or variable) of a
// refused manager, never a constraint.
func createManagerError(err error, values map[string]string) error {
	var svcErr *service.Error
	if !errors.As(err, &svcErr) || len(svcErr.Fields) == 0 {
		return fmt.Errorf("create-manager: %w", err)
	}
	var parts []string
	for _, f := range svcErr.Fields {
		input := createManagerInputs[f.Field]
		switch {
		case svcErr.Code == service.CodeDuplicate:
			parts = append(parts, fmt.Sprintf("%s %s is already taken by another collaborator (%s)", f.Field, values[f.Field], input))
		case input != "":
			parts = append(parts, fmt.Sprintf("%s %s (%s)", f.Field, f.Message, input))
		default:
			parts = append(parts, f.Field+" "+f.Message)
		}
	}
	return errors.New("create-manager: " + strings.Join(parts, "; "))
}

// healthcheck asks the local server's /readyz; Docker's HEALTHCHECK runs it.
func healthcheck(ctx context.Context, inv invocation) error {
	fs := flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
	addr := inv.getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host := addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	url := fs.String("url", "http://"+host+"/readyz", "URL to check (default from HTTP_ADDR)")
	if _, err := inv.parse(fs, 0); err != nil {
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

// secretsCommand runs "secrets reencrypt": every webhook secret moves to
// the current SECRETS_KEY, so a previous key can then be dropped.
func secretsCommand(ctx context.Context, inv invocation) error {
	args, err := inv.parse(nil, 1)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] != "reencrypt" {
		fs := flag.NewFlagSet(inv.command.name, flag.ContinueOnError)
		return &usageError{msg: "secrets: say reencrypt", usage: commandUsage(inv.command, fs)}
	}
	cfg, err := loadConfig(inv.getenv)
	if err != nil {
		return err
	}
	if cfg.SecretsKey == nil {
		if cfg.DatabaseURL != "" {
			return errors.New("SECRETS_KEY: is required (64 hex digits, or base64 of 32 bytes) when DATABASE_URL is set")
		}
		base, err := embeddedDir()
		if err != nil {
			return err
		}
		if cfg.SecretsKey, err = persistentKey(filepath.Join(base, "secrets-key")); err != nil {
			return err
		}
	}
	keyring, err := seal.NewKeyring(cfg.SecretsKey, cfg.SecretsPreviousKeys...)
	if err != nil {
		return fmt.Errorf("SECRETS_KEY: %w", err)
	}
	pool, done, err := openCommandDatabase(ctx, cfg, inv)
	if err != nil {
		return err
	}
	defer done()
	svc := service.NewWebhookService(service.Deps{Store: db.NewStore(pool)}, service.WebhookConfig{Keyring: keyring})
	n, err := svc.Reencrypt(ctx)
	if err != nil {
		return fmt.Errorf("secrets reencrypt: %w", err)
	}
	fmt.Fprintf(inv.stdout, "re-encrypted the secrets of %d webhooks\n", n)
	return nil
}
