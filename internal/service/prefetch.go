package service

import (
	"context"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// A request that reads one record (GET by id, GET /v1/me) sends the
// session check and that read to the database together, in one round trip
// (AuthService.AuthenticateAndRead). The record then waits in the
// request's context, and getRecord takes it from there instead of reading
// it again. Nothing is kept beyond the request: the session is checked on
// every request, and a record read for a refused session is dropped.

// fetchers read a record kind by id, by the name getRecord knows it by.
var fetchers = map[string]func(context.Context, *db.Queries, uuid.UUID) (any, error){
	"client": func(ctx context.Context, q *db.Queries, id uuid.UUID) (any, error) { return q.GetClient(ctx, id) },
	"contract": func(ctx context.Context, q *db.Queries, id uuid.UUID) (any, error) {
		return q.GetContract(ctx, id)
	},
	"event": func(ctx context.Context, q *db.Queries, id uuid.UUID) (any, error) { return q.GetEvent(ctx, id) },
	"collaborator": func(ctx context.Context, q *db.Queries, id uuid.UUID) (any, error) {
		return q.GetCollaborator(ctx, id)
	},
}

type prefetchKey struct{}

// prefetched is a record read with the session check.
type prefetched struct {
	what string
	id   uuid.UUID
	row  any
	err  error
}

// fetchOrPrefetched is fetch, unless the request's context already holds
// that very record.
func fetchOrPrefetched[R any](ctx context.Context, what string, id uuid.UUID, fetch func(context.Context, uuid.UUID) (R, error)) (R, error) {
	if p, ok := ctx.Value(prefetchKey{}).(*prefetched); ok && p.what == what && p.id == id {
		if row, ok := p.row.(R); ok {
			return row, p.err
		}
	}
	return fetch(ctx, id)
}

// checkAndRead sends a credential's check and the read of one record in
// one round trip. The record waits in the returned context; the error is
// the check's (or the batch's), the read's own being getRecord's to judge.
func checkAndRead(ctx context.Context, store *db.Store, check func(q *db.Queries) error, what string, id uuid.UUID) (context.Context, error) {
	var checkErr error
	p := &prefetched{what: what, id: id}
	err := store.Together(ctx,
		func(q *db.Queries) error { checkErr = check(q); return checkErr },
		func(q *db.Queries) error { p.row, p.err = fetchers[what](ctx, q, id); return p.err })
	if err == nil {
		err = checkErr
	}
	return context.WithValue(ctx, prefetchKey{}, p), err
}
