package jobs_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"epicevents/internal/dbtest"
	"epicevents/internal/jobs"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

type probeArgs struct{ N int }

func (probeArgs) Kind() string { return "probe" }

// A job inserted in a transaction exists once it commits, and not at all
// when it rolls back.
func TestJobsJoinTheirTransaction(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	client, err := jobs.NewClient(pool, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rollback := errors.New("roll back")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := client.InsertTx(ctx, tx, probeArgs{N: 1}, nil); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := client.InsertTx(ctx, tx, probeArgs{N: 2}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	rows, err := pool.Query(ctx, `SELECT (args->>'N')::int FROM river_job WHERE kind = 'probe' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || len(got) != 1 || got[0] != 2 {
		t.Fatalf("jobs %v (%v), want [2]", got, err)
	}
}
