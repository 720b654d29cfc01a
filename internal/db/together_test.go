package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
)

// In a transaction, Together sends its statements in one batch, in order:
// a read behind a write sees the write, and a statement PostgreSQL refuses
// comes back as the db package's own error, with the steps after it not
// run.
func TestTogetherInATransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.New(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	owner, err := store.CreateCollaborator(ctx, db.CreateCollaboratorParams{EmployeeNumber: 7, FirstName: "Bill",
		LastName: "Boquet", Email: "bill@example.test", Username: "bill", Department: "commercial",
		PasswordHash: "x", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	newClient := func(id uuid.UUID) func(q *db.Queries) error {
		return func(q *db.Queries) error {
			return q.CreateClient(ctx, db.CreateClientParams{ID: id, FullName: "Kevin Casey", Email: "kevin@example.test",
				Phone: "+33 1 23 45 67 89", CommercialID: owner.ID, FirstContactAt: now, LastContactAt: now, Now: now})
		}
	}
	first := uuid.New()
	var created db.ClientDetail
	var createErr, readErr error
	err = store.InTx(ctx, func(q *db.Queries) error {
		return q.Together(ctx,
			func(q *db.Queries) error { createErr = newClient(first)(q); return createErr },
			func(q *db.Queries) error { created, readErr = q.GetClient(ctx, first); return readErr })
	})
	if err != nil || createErr != nil || readErr != nil {
		t.Fatalf("batch %v, insert %v, read %v", err, createErr, readErr)
	}
	if created.ID != first || created.CommercialFullName != "Bill Boquet" {
		t.Errorf("the read behind the insert saw %+v", created)
	}

	second := uuid.New()
	readCalls := 0 // once to record it, once more only if run
	err = store.InTx(ctx, func(q *db.Queries) error {
		return q.Together(ctx, newClient(second), // the same email: refused
			func(q *db.Queries) error { _, err := q.GetClient(ctx, second); readCalls++; return err })
	})
	var unique *db.UniqueViolationError
	if !errors.As(err, &unique) {
		t.Fatalf("a duplicate email in a batch: %v, want a unique violation", err)
	}
	if readCalls != 1 {
		t.Error("the step after the refused statement ran on its answer")
	}

	// A lock that finds no row is not found, and the batch itself succeeds.
	var lockErr error
	err = store.InTx(ctx, func(q *db.Queries) error {
		return q.Together(ctx, func(q *db.Queries) error { _, lockErr = q.LockClient(ctx, uuid.New()); return lockErr })
	})
	if err != nil || !errors.Is(lockErr, db.ErrNotFound) {
		t.Errorf("a lock of no row: batch %v, lock %v; want nil and not found", err, lockErr)
	}
}
