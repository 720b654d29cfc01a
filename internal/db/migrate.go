package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"epicevents/sql/migrations"
)

// Migrator applies the embedded goose migrations, then the job queue's
// (River's), both under one session-level advisory lock that serialises
// replicas starting at the same time. The lock id is goose's own, so a
// binary older than the queue, still taking goose's lock, waits for this
// one too.
type Migrator struct {
	pool     *pgxpool.Pool
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator prepares a migrator on the pool. Close releases it.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	provider, err := newProvider(sqlDB)
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return &Migrator{pool: pool, db: sqlDB, provider: provider}, nil
}

// locked runs fn while this session holds the migration lock, polling
// for it as goose's own locker does.
func (m *Migrator) locked(ctx context.Context, fn func() error) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", Classify(err))
	}
	defer conn.Release()
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lock.DefaultLockID).Scan(&got); err != nil {
			return fmt.Errorf("migration lock: %w", Classify(err))
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migration lock: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID); err != nil {
			// A lock we cannot release must not go back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn()
}

// queueMigrator is River's migrator; with a nil pool it only works in a
// given transaction.
func queueMigrator(pool *pgxpool.Pool) (*rivermigrate.Migrator[pgx.Tx], error) {
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("queue migrations: %w", err)
	}
	return m, nil
}

func newProvider(sqlDB *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	// A migration numbered below one already applied (00008, written
	// after 00009 and 00010 shipped) is applied, not refused.
	opts = append(opts, goose.WithAllowOutofOrder(true))
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Close releases the migrator's connection handle (not the pool).
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration, ours then the queue's.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	var results []*goose.MigrationResult
	err := m.locked(ctx, func() error {
		var err error
		if results, err = m.provider.Up(ctx); err != nil {
			return err
		}
		queue, err := queueMigrator(m.pool)
		if err != nil {
			return err
		}
		if _, err := queue.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("queue migrations: %w", err)
		}
		return nil
	})
	return results, err
}

// Down rolls back the latest of our migrations (the queue's tables stay).
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	var result *goose.MigrationResult
	err := m.locked(ctx, func() error {
		var err error
		result, err = m.provider.Down(ctx)
		return err
	})
	return result, err
}

// Status lists every migration with its state.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	return m.provider.Status(ctx)
}

// LatestVersion is the newest migration this binary carries.
func LatestVersion() (int64, error) {
	sources, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, name := range sources {
		var v int64
		if _, err := fmt.Sscanf(name, "%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}

// SchemaVersion reads the applied schema version, or 0 when goose has not
// run yet.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, Classify(err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, Classify(err)
}

// MigrateURL applies every migration, ours and the queue's, on the
// database at url, without the replica lock: for a database nobody else
// uses yet (test templates).
func MigrateURL(ctx context.Context, url string) error {
	pool, err := OpenPool(ctx, url, PoolOptions{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	p, err := newProvider(sqlDB)
	if err != nil {
		return err
	}
	if _, err = p.Up(ctx); err != nil {
		return err
	}
	queue, err := queueMigrator(pool)
	if err != nil {
		return err
	}
	if _, err := queue.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue migrations: %w", err)
	}
	return nil
}

// MigrationsHash identifies the schema the embedded migrations build.
func MigrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	queue, err := queueMigrator(nil)
	if err != nil {
		return "", err
	}
	for _, m := range queue.AllVersions() {
		fmt.Fprintf(h, "river %d\x00%d\x00%s", m.Version, len(m.SQLUp), m.SQLUp)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
