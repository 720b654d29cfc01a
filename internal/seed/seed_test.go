package seed_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/dbtest"
	"epicevents/internal/seed"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func schema(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	return map[string]int{
		"indexes":      count(t, pool, `SELECT count(*) FROM pg_indexes WHERE tablename IN ('collaborators', 'clients', 'contracts', 'events')`),
		"foreign keys": count(t, pool, `SELECT count(*) FROM pg_constraint WHERE contype = 'f'`),
		"enabled triggers": count(t, pool, `SELECT count(*) FROM pg_trigger
			WHERE NOT tgisinternal AND tgenabled <> 'D'`),
	}
}

// TestSeedFillsAnEmptyDatabaseConsistently: the sizes asked, one shared
// password hash, no audit rows, data the business rules accept, the schema
// as it was, and a refusal to seed twice.
func TestSeedFillsAnEmptyDatabaseConsistently(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	before := schema(t, pool)
	progressed := map[string]int{}
	sizes := seed.Sizes{Collaborators: 30, Clients: 300, Contracts: 600, Events: 900}
	err := seed.Seed(ctx, pool, seed.Options{Sizes: sizes, PasswordHash: "shared-hash", Now: time.Now(),
		Progress: func(kind string, done, _ int) { progressed[kind] = done }})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{
		"collaborators": count(t, pool, "SELECT count(*) FROM collaborators"),
		"clients":       count(t, pool, "SELECT count(*) FROM clients"),
		"contracts":     count(t, pool, "SELECT count(*) FROM contracts"),
		"events":        count(t, pool, "SELECT count(*) FROM events"),
	}
	want := map[string]int{"collaborators": 30, "clients": 300, "contracts": 600, "events": 900}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if progressed["indexes, keys"] == 0 {
		t.Error("no progress reported while rebuilding indexes and keys")
	}
	delete(progressed, "indexes, keys")
	if diff := cmp.Diff(want, progressed); diff != "" {
		t.Errorf("progress reported (-want +got):\n%s", diff)
	}
	checks := map[string]string{
		"distinct password hashes": "SELECT count(DISTINCT password_hash) FROM collaborators",
		"audit rows":               "SELECT count(*) FROM audit_entries",
		"sessions":                 "SELECT count(*) FROM sessions",
		"clients of a non-commercial": `SELECT count(*) FROM clients c JOIN collaborators m ON m.id = c.commercial_id
			WHERE m.department <> 'commercial'`,
		"contracts of another commercial than their client's": `SELECT count(*) FROM contracts k
			JOIN clients c ON c.id = k.client_id WHERE k.commercial_id <> c.commercial_id`,
		"events of another commercial than their contract's": `SELECT count(*) FROM events e
			JOIN contracts k ON k.id = e.contract_id WHERE e.commercial_id <> k.commercial_id`,
		"events of unsigned contracts": `SELECT count(*) FROM events e JOIN contracts k ON k.id = e.contract_id WHERE NOT k.signed`,
		"events with a non-support support": `SELECT count(*) FROM events e JOIN collaborators s ON s.id = e.support_id
			WHERE s.department <> 'support'`,
	}
	wantChecks := map[string]int{}
	gotChecks := map[string]int{}
	for name, sql := range checks {
		wantChecks[name] = 0
		gotChecks[name] = count(t, pool, sql)
	}
	wantChecks["distinct password hashes"] = 1
	if diff := cmp.Diff(wantChecks, gotChecks); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, schema(t, pool)); diff != "" {
		t.Errorf("schema after seeding (-before +after):\n%s", diff)
	}
	for _, login := range []string{"manager1", "commercial1", "support1"} {
		if n := count(t, pool, "SELECT count(*) FROM collaborators WHERE username = '"+login+"'"); n != 1 {
			t.Errorf("%s: %d collaborators", login, n)
		}
	}

	err = seed.Seed(ctx, pool, seed.Options{Sizes: sizes, PasswordHash: "shared-hash"})
	if !errors.Is(err, seed.ErrNotEmpty) {
		t.Errorf("second seed: %v, want ErrNotEmpty", err)
	}
	if n := count(t, pool, "SELECT count(*) FROM clients"); n != 300 {
		t.Errorf("after the refused seed: %d clients, want 300", n)
	}
}

// TestSeedRefusesBusinessData: one collaborator is enough to refuse.
func TestSeedRefusesBusinessData(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	if _, err := pool.Exec(ctx, `INSERT INTO collaborators (employee_number, first_name, last_name, email, username,
		department, password_hash, created_at, updated_at) VALUES (1, 'A', 'B', 'a@x.test', 'a', 'management', 'x', now(), now())`); err != nil {
		t.Fatal(err)
	}
	err := seed.Seed(ctx, pool, seed.Options{Sizes: seed.Sizes{Collaborators: 3}, PasswordHash: "h"})
	if !errors.Is(err, seed.ErrNotEmpty) {
		t.Errorf("seed: %v, want ErrNotEmpty", err)
	}
	if n := count(t, pool, "SELECT count(*) FROM collaborators"); n != 1 {
		t.Errorf("%d collaborators, want the 1 that was there", n)
	}
}
