package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Together runs single-statement queries (generated :one and :exec
// queries, each called by its function on the Queries it is given) in one
// round trip, as one pgx batch, in their order. Each step keeps its own
// result and error in its closure; the error Together returns is the
// batch's own (sending it, or a statement PostgreSQL refused, after which
// the later steps are not run). A step is called twice: once to learn its
// SQL and arguments (its result is then meaningless), and once on its
// answer.
func (s *Store) Together(ctx context.Context, steps ...func(q *Queries) error) error {
	return together(ctx, s.pool, steps)
}

// Together is Store.Together inside q's transaction: a statement that
// fails aborts the transaction, so the steps after it are not run.
func (q *Queries) Together(ctx context.Context, steps ...func(q *Queries) error) error {
	if c, ok := q.db.(classifyingDB); ok {
		if sender, ok := c.db.(batchSender); ok {
			return together(ctx, sender, steps)
		}
	}
	return errors.New("db: Together needs queries on a pool or a transaction")
}

type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func together(ctx context.Context, sender batchSender, steps []func(q *Queries) error) error {
	batch := &pgx.Batch{}
	for _, step := range steps {
		rec := &recorder{}
		_ = step(New(rec))
		switch rec.kind {
		case recordedRow:
			batch.Queue(rec.sql, rec.args...).QueryRow(func(row pgx.Row) error {
				_ = step(newQueries(answer{row: row}))
				return nil
			})
		case recordedExec:
			batch.Queue(rec.sql, rec.args...).Fn = func(br pgx.BatchResults) error {
				tag, err := br.Exec()
				_ = step(newQueries(answer{tag: tag, err: err}))
				return err
			}
		default:
			return errors.New("db: Together runs single-statement queries only")
		}
	}
	return Classify(sender.SendBatch(ctx, batch).Close())
}

type recordedKind int

const (
	recordedNothing recordedKind = iota
	recordedRow
	recordedExec
)

// recorder is a DBTX that only notes the single statement it is asked.
type recorder struct {
	kind recordedKind
	sql  string
	args []any
}

var errRecorded = errors.New("db: recorded, not run")

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.kind, r.sql, r.args = recordedRow, sql, args
	return errRow{}
}

func (r *recorder) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errRecorded }

func (r *recorder) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.kind, r.sql, r.args = recordedExec, sql, args
	return pgconn.CommandTag{}, errRecorded
}

type errRow struct{}

func (errRow) Scan(...any) error { return errRecorded }

// answer is a DBTX whose single statement answers with what the batch
// already received: a row, or a command tag and its error.
type answer struct {
	row pgx.Row
	tag pgconn.CommandTag
	err error
}

func (a answer) QueryRow(context.Context, string, ...any) pgx.Row { return a.row }

func (answer) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errRecorded }

func (a answer) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) { return a.tag, a.err }
