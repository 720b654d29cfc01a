package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// classifyingDB is what every Queries runs on: each error a generated
// method can see (from Exec, Query, a row's Scan, the rows' Err) is
// translated here, so no caller can forget to, and no driver error leaves
// the package.
type classifyingDB struct {
	db DBTX
}

func (c classifyingDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := c.db.Exec(ctx, sql, args...)
	return tag, Classify(err)
}

func (c classifyingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := c.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, Classify(err)
	}
	return classifyingRows{rows}, nil
}

func (c classifyingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return classifyingRow{c.db.QueryRow(ctx, sql, args...)}
}

type classifyingRow struct{ row pgx.Row }

func (r classifyingRow) Scan(dest ...any) error { return Classify(r.row.Scan(dest...)) }

type classifyingRows struct{ pgx.Rows }

func (r classifyingRows) Scan(dest ...any) error { return Classify(r.Rows.Scan(dest...)) }
func (r classifyingRows) Err() error             { return Classify(r.Rows.Err()) }

// newQueries gives the generated queries on db, behind the boundary.
func newQueries(db DBTX) *Queries { return New(classifyingDB{db}) }
