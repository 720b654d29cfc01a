package db

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Plans: statements run as named prepared statements (pgx's default
// statement cache), which PostgreSQL plans once and then reuses a generic
// plan for, as long as that plan costs no more than a custom one. That is
// right for every lookup by key, and saves most of the database's work per
// request.
//
// The list queries are the exception: their filters are optional
// ("$1 IS NULL OR col = $1"), so a generic plan, made without the values,
// cannot know which filters are set and which index serves them. Those run
// as unnamed statements (QueryExecModeCacheDescribe: still one round trip,
// binary formats), which PostgreSQL always plans with the values given;
// the unset filters fold away and the index that leads with the set one is
// used. A list query is one whose sqlc name starts with "List".

// listPlans hands the queries of a DBTX to it, asking for a plan with the
// values for the list queries.
type listPlans struct{ DBTX }

// planWithValues reports whether sql is a list query, by its sqlc header.
func planWithValues(sql string) bool { return strings.HasPrefix(sql, "-- name: List") }

func (l listPlans) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if planWithValues(sql) {
		args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	}
	return l.DBTX.Query(ctx, sql, args...)
}

func (l listPlans) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if planWithValues(sql) {
		args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	}
	return l.DBTX.QueryRow(ctx, sql, args...)
}

func (l listPlans) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if planWithValues(sql) {
		args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	}
	return l.DBTX.Exec(ctx, sql, args...)
}
