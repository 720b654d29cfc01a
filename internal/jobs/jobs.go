// Package jobs builds the PostgreSQL-backed job queue (River) on the
// service's pool: jobs are inserted in the transaction of the write that
// wants them, so a committed write has its job and a rolled-back one none.
package jobs

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Client is the queue's client: InsertTx joins a write's transaction.
type Client = river.Client[pgx.Tx]

// Config builds a client. Without Workers it only inserts jobs.
type Config struct {
	Logger *slog.Logger
	// Workers work the jobs of the default queue with MaxWorkers at once.
	Workers    *river.Workers
	MaxWorkers int
}

// NewClient builds the queue's client on the pool; Start (with workers)
// begins working jobs, Stop ends it.
func NewClient(pool *pgxpool.Pool, cfg Config) (*Client, error) {
	// The queue's own start and stop messages are not the service's:
	// only its warnings and errors reach the log.
	rc := &river.Config{Logger: slog.New(slog.DiscardHandler)}
	if cfg.Logger != nil {
		rc.Logger = slog.New(atLeast{cfg.Logger.Handler(), slog.LevelWarn})
	}
	if cfg.Workers != nil {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(1, cfg.MaxWorkers)}}
	}
	return river.NewClient(riverpgxv5.New(pool), rc)
}

// atLeast passes on the records of a level and above.
type atLeast struct {
	slog.Handler
	level slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(attrs), h.level}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.level}
}
