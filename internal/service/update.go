package service

import (
	"context"
	"errors"
	"time"

	"epicevents/internal/db"
)

// recordUpdate is one resource's part of a PATCH: its rules. The shape
// every update shares is updateRecord's.
type recordUpdate[T any] struct {
	what string
	// prepare, when set, runs first: checks of ids in the body (422),
	// which the contract puts before the path's 404.
	prepare func(q *db.Queries) error
	// lock holds the record's row until the write commits and reads it as
	// GET shows it (db.ErrNotFound when there is none).
	lock func(q *db.Queries) (T, error)
	// next applies the input to the record: its 422s are those that need
	// the stored values.
	next func(cur T, now time.Time) (T, error)
	// authorize is the 403 for ownership, or for a field the caller may
	// not set.
	authorize func(cur, next T) error
	version   func(T) int32
	changes   func(from, to T) Changes
	// rules, when set, are the 409s of a real change, and what moves with
	// it (a leaving collaborator's clients).
	rules func(q *db.Queries, cur, next T, ch Changes, now time.Time) error
	// write stores next and reads the record back as GET shows it.
	write func(q *db.Queries, cur, next T, now time.Time) (T, error)
	// action names the write in the audit trail (ActionUpdate when nil).
	action func(next T) string
	// record is the record appendWrite is given (the result itself when nil).
	record func(after T) any
}

// updateRecord runs an update in the contract's order: 422 of body ids,
// 404, 422 of values, 403, 412, then nothing at all when nothing changes,
// else 409, the write, its audit row and its change, in one transaction.
// It answers the record before and after (equal for a no-op).
func updateRecord[T any](ctx context.Context, d Deps, caller Caller, ifMatch IfMatch, u recordUpdate[T]) (before, after T, err error) {
	err = d.Store.InTx(ctx, func(q *db.Queries) error {
		if u.prepare != nil {
			if err := u.prepare(q); err != nil {
				return err
			}
		}
		cur, err := u.lock(q)
		if errors.Is(err, db.ErrNotFound) {
			return errNotFound(u.what)
		} else if err != nil {
			return err
		}
		now := d.now()
		next, err := u.next(cur, now)
		if err != nil {
			return err
		}
		if err := u.authorize(cur, next); err != nil {
			return err
		}
		if err := ifMatch.check(u.version(cur)); err != nil {
			return err
		}
		before, after = cur, cur
		ch := u.changes(cur, next)
		if len(ch) == 0 {
			return nil
		}
		if u.rules != nil {
			if err := u.rules(q, cur, next, ch, now); err != nil {
				return err
			}
		}
		if after, err = u.write(q, cur, next, now); err != nil {
			return err
		}
		action, record := ActionUpdate, any(after)
		if u.action != nil {
			action = u.action(next)
		}
		if u.record != nil {
			record = u.record(after)
		}
		return d.appendWrite(ctx, q, &caller, record, action, ch, now)
	})
	return before, after, fromDB(err)
}

// inOneTrip sends a statement (a lock, a write) and the read of the
// record behind it in one round trip; the read runs after the statement,
// so it sees what the statement locked or wrote. A statement that finds
// no row is db.ErrNotFound.
func inOneTrip[R any](ctx context.Context, q *db.Queries, first func(q *db.Queries) error,
	read func(q *db.Queries) (R, error)) (R, error) {
	var row R
	var firstErr, readErr error
	if err := q.Together(ctx,
		func(q *db.Queries) error { firstErr = first(q); return firstErr },
		func(q *db.Queries) error { row, readErr = read(q); return readErr },
	); err != nil {
		return row, err
	}
	if firstErr != nil {
		return row, firstErr
	}
	return row, readErr
}

// convert maps a row read with its error, the zero record on an error.
func convert[R, T any](row R, err error, conv func(R) T) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return conv(row), nil
}
