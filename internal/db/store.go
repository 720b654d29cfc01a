package db

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
)

// PoolOptions tunes the connection pool.
type PoolOptions struct {
	// StatementTimeout bounds every statement on the server side, so a
	// runaway query cannot outlive the request that started it.
	StatementTimeout time.Duration
	// MaxConns overrides the default size (four per core, at least 8).
	MaxConns int32
	// Tracer, when set, hears of every query (tests count them).
	Tracer pgx.QueryTracer
}

// OpenPool connects to PostgreSQL. It does not wait for the database to
// answer: a pool that starts while the database is down recovers by itself.
func OpenPool(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = max(8, int32(runtime.NumCPU()*4))
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 2*time.Second {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	if opts.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// plan_cache_mode stays "auto": lookups reuse a generic plan, and the
	// list queries are planned with their values (see plans.go).
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "auto"
	cfg.ConnConfig.RuntimeParams["application_name"] = "epic-events-api"
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	// google/uuid values go to the wire as 16 bytes, not through their
	// driver.Valuer (a string, parsed back): a profile of GET by id showed
	// that conversion as a twentieth of the request.
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Store gives the queries on the pool, and transactions over them.
type Store struct {
	*Queries
	pool *pgxpool.Pool
}

// NewStore wraps a pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{Queries: newQueries(listPlans{pool}), pool: pool}
}

// Pool is the underlying pool, for health checks and metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTx runs fn in a transaction, committing when it returns nil. A
// serialization failure or deadlock is retried a few times, since the
// transaction did nothing visible.
func (s *Store) InTx(ctx context.Context, fn func(q *Queries) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.inTxOnce(ctx, fn)
		if !errors.Is(err, ErrSerialization) {
			return err
		}
	}
	return err
}

func (s *Store) inTxOnce(ctx context.Context, fn func(q *Queries) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return Classify(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var hooks []func()
	if err := fn(newTxQueries(tx, &hooks)); err != nil {
		return Classify(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Classify(err)
	}
	for _, f := range hooks {
		f()
	}
	return nil
}

// InSnapshot runs fn in a read-only transaction that sees one snapshot
// throughout (repeatable read), so several reads agree with each other.
func (s *Store) InSnapshot(ctx context.Context, fn func(q *Queries) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Classify(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(newQueries(tx)); err != nil {
		return Classify(err)
	}
	return Classify(tx.Commit(ctx))
}
