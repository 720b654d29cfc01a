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
	// afterCommit, in a transaction, collects what runs once it commits.
	afterCommit *[]func()
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
func newQueries(db DBTX) *Queries { return New(classifyingDB{db: db}) }

// newTxQueries gives the queries of a transaction, whose AfterCommit
// functions are collected in hooks.
func newTxQueries(tx DBTX, hooks *[]func()) *Queries {
	return New(classifyingDB{db: tx, afterCommit: hooks})
}

// AfterCommit runs f once the transaction q belongs to has committed (never
// when it rolls back); outside a transaction, at once.
func (q *Queries) AfterCommit(f func()) {
	if c, ok := q.db.(classifyingDB); ok && c.afterCommit != nil {
		*c.afterCommit = append(*c.afterCommit, f)
		return
	}
	f()
}

// Tx is the transaction q runs in, or nil outside one: for the job queue,
// whose jobs must be inserted in the transaction of the write that wants
// them.
func (q *Queries) Tx() pgx.Tx {
	if c, ok := q.db.(classifyingDB); ok && c.afterCommit != nil {
		if tx, ok := c.db.(pgx.Tx); ok {
			return tx
		}
	}
	return nil
}
