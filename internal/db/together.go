package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Together runs single-row reads (generated :one queries, each called by
// its function on the Queries it is given) in one round trip, as one pgx
// batch. Each read keeps its own result and error in its closure; the
// error Together returns is the batch's own (sending it, or a read that
// could not be queued). A read is called twice: once to learn its SQL and
// arguments (its result is then meaningless), and once on its row.
func (s *Store) Together(ctx context.Context, reads ...func(q *Queries) error) error {
	batch := &pgx.Batch{}
	for _, read := range reads {
		rec := &recorder{}
		_ = read(New(rec))
		if rec.sql == "" {
			return errors.New("db: Together runs single-row reads only")
		}
		batch.Queue(rec.sql, rec.args...).QueryRow(func(row pgx.Row) error {
			_ = read(newQueries(rowSource{row}))
			return nil
		})
	}
	return Classify(s.pool.SendBatch(ctx, batch).Close())
}

// recorder is a DBTX that only notes the single-row query it is asked.
type recorder struct {
	sql  string
	args []any
}

var errRecorded = errors.New("db: recorded, not run")

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.sql, r.args = sql, args
	return errRow{}
}

func (r *recorder) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errRecorded }

func (r *recorder) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errRecorded
}

type errRow struct{}

func (errRow) Scan(...any) error { return errRecorded }

// rowSource is a DBTX whose single-row query answers with a row already
// received.
type rowSource struct{ row pgx.Row }

func (s rowSource) QueryRow(context.Context, string, ...any) pgx.Row { return s.row }

func (rowSource) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errRecorded }

func (rowSource) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errRecorded
}
