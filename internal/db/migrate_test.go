package db_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
)

// Replicas starting at once on an empty database all succeed: the lock
// serialises them, and the queue's tables come with ours.
func TestReplicasMigrateOursAndTheQueuesAtOnce(t *testing.T) {
	ctx := context.Background()
	pool, err := db.OpenPool(ctx, dbtest.EmptyURL(t), db.PoolOptions{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			m, err := db.NewMigrator(pool)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			_, errs[i] = m.Up(ctx)
		})
	}
	wg.Wait()
	if diff := cmp.Diff(make([]error, 3), errs, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Fatalf("migrations (-want +got):\n%s", diff)
	}
	latest, err := db.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx, pool)
	if err != nil || v != latest {
		t.Fatalf("schema version %d (%v), want %d", v, err, latest)
	}
	assertQueueTables(t, pool.QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL, to_regclass('river_migration') IS NOT NULL`).Scan)
}

// The test template carries the queue's tables, so every test database can
// take jobs.
func TestTemplateHasTheQueuesTables(t *testing.T) {
	pool := dbtest.New(t)
	assertQueueTables(t, pool.QueryRow(context.Background(), `SELECT to_regclass('river_job') IS NOT NULL, to_regclass('river_migration') IS NOT NULL`).Scan)
}

func assertQueueTables(t *testing.T, scan func(...any) error) {
	t.Helper()
	var job, migration bool
	if err := scan(&job, &migration); err != nil {
		t.Fatal(err)
	}
	if !job || !migration {
		t.Fatalf("river_job %v, river_migration %v", job, migration)
	}
}

// A database migrated by a binary that had 00009 and 00010 but not 00008
// takes 00008 when it arrives later.
func TestALowerNumberedMigrationArrivingLaterIsApplied(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	for _, stmt := range []string{
		`DROP TABLE webhook_deliveries`, `DROP TABLE webhooks`,
		`DELETE FROM role_permissions WHERE permission = 'webhook:manage'`,
		`DELETE FROM permissions WHERE name = 'webhook:manage'`,
		`DELETE FROM goose_db_version WHERE version_id = 8`,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	m, err := db.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	results, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, r := range results {
		versions = append(versions, r.Source.Version)
	}
	if diff := cmp.Diff([]int64{8}, versions); diff != "" {
		t.Fatalf("applied (-want +got):\n%s", diff)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('webhooks') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		t.Fatalf("webhooks table: %v %v", exists, err)
	}
}
