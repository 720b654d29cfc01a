package service

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/jobs"
)

// A write's fan-out job is inserted in its own transaction: a committed
// write has exactly one, for its change; a rolled-back write none.
func TestFanOutJobJoinsTheWritesTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	queue, err := jobs.NewClient(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Store: db.NewStore(pool), Jobs: queue, Render: func(any) ([]byte, error) { return []byte(`{}`), nil }}.withDefaults()
	write := func(q *db.Queries, id uuid.UUID) error {
		return d.appendWrite(ctx, q, nil, Client{ID: id, Version: 1}, ActionCreate, Changes{}, d.now())
	}
	committed, rolledBack := uuid.New(), uuid.New()
	if err := d.Store.InTx(ctx, func(q *db.Queries) error { return write(q, committed) }); err != nil {
		t.Fatal(err)
	}
	if err := d.Store.InTx(ctx, func(q *db.Queries) error {
		if err := write(q, rolledBack); err != nil {
			return err
		}
		return errors.New("roll back")
	}); err == nil {
		t.Fatal("the rolled-back write committed")
	}
	rows, err := pool.Query(ctx, `SELECT c.record_id FROM river_job j JOIN changes c ON c.id = (j.args->>'change_id')::uuid
		WHERE j.kind = 'webhook_fan_out'`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uuid.UUID{committed}, got); diff != "" {
		t.Fatalf("fan-out jobs by record (-want +got):\n%s", diff)
	}
	var jobsTotal int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&jobsTotal); err != nil || jobsTotal != 1 {
		t.Fatalf("%d jobs (%v), want 1", jobsTotal, err)
	}
}
