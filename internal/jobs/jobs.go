// Package jobs builds the PostgreSQL-backed job queue (River) on the
// service's pool: jobs are inserted in the transaction of the write that
// wants them, so a committed write has its job and a rolled-back one none.
package jobs

import (
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
	rc := &river.Config{Logger: cfg.Logger}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers != nil {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(1, cfg.MaxWorkers)}}
	}
	return river.NewClient(riverpgxv5.New(pool), rc)
}
