package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"epicevents/internal/pgserver"
	"epicevents/internal/seal"
	"epicevents/internal/service"
)

// embeddedDB is the development database of `go run ./cmd/api`.
type embeddedDB struct {
	url  string
	dir  string // ./.data, or where it went as root
	stop func()
}

// embeddedDir is where the embedded data lives: ./.data, kept between
// runs. As root the server runs as an unprivileged user, so the data goes
// where that user can reach it.
func embeddedDir() (string, error) {
	base, err := filepath.Abs(".data")
	if err != nil {
		return "", err
	}
	if pgserver.NeedsUnprivilegedUser() && !pgserver.Reachable(base) {
		// One directory per checkout, outside the unreachable one.
		sum := sha256.Sum256([]byte(base))
		base = filepath.Join("/var/tmp", fmt.Sprintf("epic-events-data-%x", sum[:6]))
	}
	return base, nil
}

// displayDir shows a directory under the working one as ./name.
func displayDir(dir string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return dir
}

// startEmbedded runs PostgreSQL on the embedded data directory; its output
// goes to postgres.log there.
func startEmbedded(ctx context.Context) (*embeddedDB, error) {
	base, err := embeddedDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(base, 0o711); err != nil {
		return nil, fmt.Errorf("embedded database directory: %w", err)
	}
	_ = os.Chmod(base, 0o711)
	logPath := filepath.Join(base, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(base, "pg"), Log: logFile})
	if err != nil {
		_ = logFile.Close()
		if err := inUseError(base, err); err != nil {
			return nil, err
		}
		if errors.Is(err, pgserver.ErrNoBinaries) {
			return nil, fmt.Errorf("embedded PostgreSQL (no DATABASE_URL set): %w", err)
		}
		return nil, fmt.Errorf("embedded PostgreSQL (no DATABASE_URL set; its log is %s): %w", displayDir(logPath), err)
	}
	return &embeddedDB{url: srv.URL("postgres"), dir: base, stop: func() { _ = srv.Stop(); _ = logFile.Close() }}, nil
}

// embeddedInUse says when another instance serves the embedded data, so
// that serve can tell it before it even tries the address.
func embeddedInUse() error {
	base, err := embeddedDir()
	if err != nil {
		return err
	}
	return inUseError(base, pgserver.InUse(filepath.Join(base, "pg")))
}

// inUseError words a pgserver.InUseError for the person who typed the
// command; other errors give nil.
func inUseError(base string, err error) error {
	var inUse *pgserver.InUseError
	if !errors.As(err, &inUse) {
		return nil
	}
	pid := "its pid is unknown"
	if inUse.PID != 0 {
		pid = fmt.Sprintf("its PostgreSQL is pid %d, from %s", inUse.PID, displayDir(filepath.Join(inUse.DataDir, "postmaster.pid")))
	}
	return fmt.Errorf("another instance is using %s (%s): stop it first, or set DATABASE_URL", displayDir(base), pid)
}

// commandDatabase is the database of the commands other than serve:
// DATABASE_URL, else the embedded one, used in place when a server already
// runs on it and otherwise started for the command's duration. done
// releases it.
func commandDatabase(ctx context.Context, cfg config, stderr io.Writer) (url string, done func(), err error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, func() {}, nil
	}
	base, err := embeddedDir()
	if err != nil {
		return "", nil, err
	}
	if port, ok := pgserver.Running(filepath.Join(base, "pg")); ok {
		fmt.Fprintf(stderr, "api: no DATABASE_URL: using the embedded database in %s, on the server already running\n", displayDir(base))
		return pgserver.URL(port, "postgres"), func() {}, nil
	}
	dev, err := startEmbedded(ctx)
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(stderr, "api: no DATABASE_URL: using the embedded database in %s\n", displayDir(dev.dir))
	return dev.url, dev.stop, nil
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

// persistentKey reads the embedded mode's SECRETS_KEY, or makes one (64
// hex digits) and keeps it beside the database: a key lost would leave
// every webhook secret unreadable.
func persistentKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return seal.ParseKey(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, seal.KeySize)
	_, _ = rand.Read(key)
	return key, os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600)
}

func generatePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// firstManager creates the first manager from the BOOTSTRAP_MANAGER_*
// settings when no collaborator exists.
func firstManager(ctx context.Context, svc *service.CollaboratorService, in service.BootstrapInput, log *slog.Logger) error {
	created, err := svc.EnsureFirstManager(ctx, in)
	if err != nil {
		return bootstrapError(err)
	}
	if created {
		log.Info("created the first manager", "username", in.Username)
	}
	return nil
}

// firstManagerWithGeneratedPassword creates the first manager of the
// embedded database with a generated password, which is never logged: it
// is shown on the terminal when there is one, and otherwise written to
// bootstrap-password (mode 0600) in the data directory, before the manager
// exists so that it cannot be lost.
func firstManagerWithGeneratedPassword(ctx context.Context, svc *service.CollaboratorService, in service.BootstrapInput,
	dir string, log *slog.Logger, stdout, stderr io.Writer) error {
	in.Password = generatePassword()
	tty := terminalOf(stderr, stdout)
	file := filepath.Join(dir, "bootstrap-password")
	pending := file + ".new"
	if tty == nil {
		_ = os.Remove(pending)
		if err := os.WriteFile(pending, []byte(in.Password+"\n"), 0o600); err != nil {
			return fmt.Errorf("the first manager's password file: %w", err)
		}
		defer os.Remove(pending)
	}
	created, err := svc.EnsureFirstManager(ctx, in)
	if err != nil {
		return bootstrapError(err)
	}
	if !created {
		return nil
	}
	if tty != nil {
		fmt.Fprintf(tty, "\nFirst manager created: username %q, password %q\n(shown this once; change it with PUT /v1/me/password)\n\n",
			in.Username, in.Password)
		log.Info("created the first manager", "username", in.Username, "password", "shown on the terminal")
		return nil
	}
	if err := os.Rename(pending, file); err != nil {
		return fmt.Errorf("the first manager's password file: %w", err)
	}
	log.Info("created the first manager", "username", in.Username, "password_file", file)
	return nil
}

// bootstrapVariables names the setting behind each field of the first
// manager.
var bootstrapVariables = map[string]string{
	"username": "BOOTSTRAP_MANAGER_USERNAME",
	"email":    "BOOTSTRAP_MANAGER_EMAIL",
	"password": "BOOTSTRAP_MANAGER_PASSWORD",
}

// bootstrapError names the variable of a refused first manager's field.
func bootstrapError(err error) error {
	var svcErr *service.Error
	if errors.As(err, &svcErr) && len(svcErr.Fields) > 0 {
		var parts []string
		for _, f := range svcErr.Fields {
			name, ok := bootstrapVariables[f.Field]
			if !ok {
				name = "first manager's " + f.Field
			}
			parts = append(parts, name+": "+f.Message)
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return fmt.Errorf("first manager: %w", err)
}
