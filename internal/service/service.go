// Package service holds the business rules of the CRM: who may do what to
// which record, what a valid record is, and the transactions and audit rows
// behind every write. It knows nothing of HTTP.
package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
	"epicevents/internal/jobs"
)

// Deps are what every service needs.
type Deps struct {
	Store     *db.Store
	Now       func() time.Time
	Passwords *Passwords
	Notifier  Notifier
	// Render renders a record as GET returns it, for the change feed. The
	// HTTP layer owns that rendering and hands it over at wiring time, so
	// a record's GET body and its changes cannot drift apart.
	Render RecordRenderer
	// Committed, when set, hears of each change once its write has
	// committed (for epicevents_changes_total).
	Committed func(ChangeType)
	// Jobs is the job queue; its jobs are inserted in the write's own
	// transaction.
	Jobs *jobs.Client
}

// RecordRenderer renders a Collaborator, Client, Contract or Event as the
// JSON body GET answers with.
type RecordRenderer func(record any) ([]byte, error)

func noRenderer(record any) ([]byte, error) {
	return nil, fmt.Errorf("service: Deps.Render is not set; cannot write a %T", record)
}

// Notifier hears of the writes the brief wants reported (collaborator
// changes, contract signatures), by ids only.
type Notifier interface {
	Notify(event string, actorID, recordID string)
}

type noNotifier struct{}

func (noNotifier) Notify(string, string, string) {}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Render == nil {
		d.Render = noRenderer
	}
	if d.Notifier == nil {
		d.Notifier = noNotifier{}
	}
	return d
}

// now is the clock in UTC, truncated to what PostgreSQL keeps.
func (d Deps) now() time.Time {
	return d.Now().UTC().Truncate(time.Microsecond)
}

// getRecord loads the record a path id names; naming nothing is 404.
func getRecord[R, T any](ctx context.Context, what string, id uuid.UUID,
	fetch func(context.Context, uuid.UUID) (R, error), conv func(R) T) (T, error) {
	var zero T
	if id == uuid.Nil {
		return zero, errNotFound(what)
	}
	row, err := fetchOrPrefetched(ctx, what, id, fetch)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return zero, errNotFound(what)
	case err != nil:
		return zero, fromDB(err)
	}
	return conv(row), nil
}
