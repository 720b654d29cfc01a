package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/seed"
	"epicevents/internal/service"
)

// EXPLAIN_DATABASE_URL names a database seeded by `api seed` (the million
// rows of BENCHMARKS.md); the plan test then runs there. Without it, the
// test seeds a tenth of that data set into a database of its own.
const explainDatabaseEnv = "EXPLAIN_DATABASE_URL"

func seededPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	url := os.Getenv(explainDatabaseEnv)
	if url == "" {
		url = dbtest.URL(t)
		pool, err := db.OpenPool(ctx, url, db.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if err := seed.Seed(ctx, pool, seed.Options{
			Sizes: seed.Sizes{Collaborators: 100, Clients: 20_000, Contracts: 50_000, Events: 100_000},
			// No one logs in here.
			PasswordHash: "not-a-login-hash",
			AfterLoad: func(ctx context.Context) error {
				_, err := service.NewClientService(service.Deps{Store: db.NewStore(pool)}).RebuildSearchBuckets(ctx, service.SearchBucketRows)
				return err
			},
		}); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	pool, err := db.OpenPool(ctx, url, db.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// explainer stands in for the pool under the generated queries: it runs
// the statement under EXPLAIN ANALYZE instead, planned as the list queries
// are (an unnamed statement, planned with its values).
type explainer struct {
	pool *pgxpool.Pool
	plan []byte
}

var errExplained = errors.New("explained, not run")

func (e *explainer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	if err := e.pool.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&e.plan); err != nil {
		return nil, err
	}
	return nil, errExplained
}

func (e *explainer) QueryRow(context.Context, string, ...any) pgx.Row { panic("not a list") }

func (e *explainer) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	panic("not a list")
}

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	Plans        []planNode `json:"Plans"`
	// Per loop, as EXPLAIN ANALYZE gives them.
	Rows           float64 `json:"Actual Rows"`
	Loops          float64 `json:"Actual Loops"`
	RemovedFilter  float64 `json:"Rows Removed by Filter"`
	RemovedRecheck float64 `json:"Rows Removed by Index Recheck"`
}

// readOf walks a plan: the big tables it scans whole, and how many rows of
// big tables it reads in all (returned or filtered out).
func readOf(t *testing.T, raw []byte) (seqScans []string, rowsRead float64) {
	t.Helper()
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &plans); err != nil {
		t.Fatalf("plan: %v", err)
	}
	var walk func(n planNode)
	walk = func(n planNode) {
		switch n.RelationName {
		case "clients", "contracts", "events":
			if n.NodeType == "Seq Scan" {
				seqScans = append(seqScans, n.RelationName)
			}
			rowsRead += (n.Rows + n.RemovedFilter + n.RemovedRecheck) * n.Loops
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	for _, p := range plans {
		walk(p.Plan)
	}
	return seqScans, rowsRead
}

// maxRowsRead bounds what a page of 21 rows may read of the big tables
// (the rows of the page, those a residual filter drops, and one row per
// joined summary), wherever the cursor stands: a flat list reads about
// the page, a list that scans the wrong index reads thousands.
const maxRowsRead = 500

// checkList runs a list for real to find a cursor deep in it (the last of
// its first 800 rows), then EXPLAINs its first page and the page after
// that cursor, and fails on a sequential scan of a big table in either,
// or on a page that reads more than maxRowsRead rows.
func checkList[T any](t *testing.T, pool *pgxpool.Pool, name string, list func(q *db.Queries, limit int32, after *T) ([]T, error)) {
	t.Helper()
	rows, err := list(db.NewStore(pool).Queries, 800, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var after *T
	if len(rows) > 0 {
		after = &rows[len(rows)-1]
	}
	e := &explainer{pool: pool}
	for _, page := range []struct {
		label string
		after *T
	}{{"first page", nil}, {"later page", after}} {
		if page.label == "later page" && after == nil {
			continue
		}
		if _, err := list(db.New(e), 21, page.after); !errors.Is(err, errExplained) {
			t.Fatalf("%s, %s: %v", name, page.label, err)
		}
		scans, read := readOf(t, e.plan)
		if len(scans) > 0 {
			t.Errorf("%s, %s: sequential scan of %v:\n%s", name, page.label, scans, e.plan)
		}
		if read > maxRowsRead {
			t.Errorf("%s, %s: reads %.0f rows of the big tables for a page of 21:\n%s", name, page.label, read, e.plan)
		}
	}
}

type fixture struct {
	commercial, support, client, contract uuid.UUID
}

func pickFixture(t *testing.T, pool *pgxpool.Pool) fixture {
	t.Helper()
	var f fixture
	// A client with contracts that have events, and a busy support.
	err := pool.QueryRow(context.Background(), `SELECT k.commercial_id, k.client_id, k.id,
		       (SELECT support_id FROM events WHERE support_id IS NOT NULL ORDER BY start_at LIMIT 1)
		FROM events e JOIN contracts k ON k.id = e.contract_id ORDER BY e.start_at LIMIT 1`).
		Scan(&f.commercial, &f.client, &f.contract, &f.support)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

// TestListPlansUseIndexes covers every filter and sort of the lists alone,
// every sort with each filter, and the combinations the lists of a
// commercial and a support need, on a first and a later page.
func TestListPlansUseIndexes(t *testing.T) {
	pool := seededPool(t)
	f := pickFixture(t, pool)
	ctx := context.Background()
	now := time.Now().UTC()

	// Searches (q) have their own test: TestClientSearchReadsLittle.
	type clientFilter struct {
		name       string
		commercial *uuid.UUID
	}
	for _, fl := range []clientFilter{{name: "no filter"}, {name: "commercial", commercial: &f.commercial}} {
		checkList(t, pool, "clients "+fl.name+" -created_at", func(q *db.Queries, limit int32, after *db.ClientDetail) ([]db.ClientDetail, error) {
			p := db.ListClientsByCreatedDescParams{CommercialID: fl.commercial, RowLimit: limit}
			if after != nil {
				p.AfterCreatedAt, p.AfterID = &after.CreatedAt, after.ID
			}
			return q.ListClientsByCreatedDesc(ctx, p)
		})
		checkList(t, pool, "clients "+fl.name+" full_name", func(q *db.Queries, limit int32, after *db.ClientDetail) ([]db.ClientDetail, error) {
			p := db.ListClientsByFullNameParams{CommercialID: fl.commercial, RowLimit: limit}
			if after != nil {
				p.AfterFullName, p.AfterID = &after.FullName, after.ID
			}
			return q.ListClientsByFullName(ctx, p)
		})
		checkList(t, pool, "clients "+fl.name+" company_name", func(q *db.Queries, limit int32, after *db.ClientDetail) ([]db.ClientDetail, error) {
			p := db.ListClientsByCompanyNameParams{CommercialID: fl.commercial, RowLimit: limit}
			if after != nil {
				p.AfterCompanyName, p.AfterID = &after.CompanyName, after.ID
			}
			return q.ListClientsByCompanyName(ctx, p)
		})
		checkList(t, pool, "clients "+fl.name+" -last_contact_at", func(q *db.Queries, limit int32, after *db.ClientDetail) ([]db.ClientDetail, error) {
			p := db.ListClientsByLastContactDescParams{CommercialID: fl.commercial, RowLimit: limit}
			if after != nil {
				p.AfterLastContactAt, p.AfterID = &after.LastContactAt, after.ID
			}
			return q.ListClientsByLastContactDesc(ctx, p)
		})
	}

	type contractFilter struct {
		name               string
		client, commercial *uuid.UUID
		signed, paid       *bool
	}
	for _, fl := range []contractFilter{
		{name: "no filter"}, {name: "client_id", client: &f.client}, {name: "commercial", commercial: &f.commercial},
		{name: "signed=true", signed: ptr(true)}, {name: "signed=false", signed: ptr(false)},
		{name: "fully_paid=true", paid: ptr(true)}, {name: "fully_paid=false", paid: ptr(false)},
		{name: "commercial&signed=false", commercial: &f.commercial, signed: ptr(false)},
		{name: "commercial&fully_paid=false", commercial: &f.commercial, paid: ptr(false)},
		{name: "client_id&signed=false", client: &f.client, signed: ptr(false)},
	} {
		checkList(t, pool, "contracts "+fl.name+" -created_at", func(q *db.Queries, limit int32, after *db.ContractDetail) ([]db.ContractDetail, error) {
			p := db.ListContractsByCreatedDescParams{ClientID: fl.client, CommercialID: fl.commercial, Signed: fl.signed, FullyPaid: fl.paid, RowLimit: limit}
			if after != nil {
				p.AfterCreatedAt, p.AfterID = &after.CreatedAt, after.ID
			}
			return q.ListContractsByCreatedDesc(ctx, p)
		})
		checkList(t, pool, "contracts "+fl.name+" -amount_due", func(q *db.Queries, limit int32, after *db.ContractDetail) ([]db.ContractDetail, error) {
			p := db.ListContractsByAmountDueDescParams{ClientID: fl.client, CommercialID: fl.commercial, Signed: fl.signed, FullyPaid: fl.paid, RowLimit: limit}
			if after != nil {
				p.AfterAmountDue, p.AfterID = &after.AmountDue, after.ID
			}
			return q.ListContractsByAmountDueDesc(ctx, p)
		})
	}

	startsAfter, startsBefore := now.Add(-30*24*time.Hour), now.Add(365*24*time.Hour)
	type eventFilter struct {
		name                                 string
		contract, client, commercial, suppor *uuid.UUID
		noSupport                            bool
		after, before                        *time.Time
	}
	for _, fl := range []eventFilter{
		{name: "no filter"}, {name: "contract_id", contract: &f.contract}, {name: "client_id", client: &f.client},
		{name: "commercial", commercial: &f.commercial}, {name: "support={id}", suppor: &f.support},
		{name: "support=none", noSupport: true}, {name: "starts_after", after: &startsAfter},
		{name: "starts_before", before: &startsBefore},
		{name: "commercial&starts_after", commercial: &f.commercial, after: &startsAfter},
		{name: "support&starts_after", suppor: &f.support, after: &startsAfter},
		{name: "support=none&starts_after", noSupport: true, after: &startsAfter},
		{name: "client_id&starts_after", client: &f.client, after: &startsAfter},
	} {
		checkList(t, pool, "events "+fl.name+" start_at", func(q *db.Queries, limit int32, after *db.EventDetail) ([]db.EventDetail, error) {
			p := db.ListEventsByStartParams{ContractID: fl.contract, ClientID: fl.client, CommercialID: fl.commercial,
				SupportID: fl.suppor, WithoutSupport: fl.noSupport, StartsAfter: fl.after, StartsBefore: fl.before, RowLimit: limit}
			if after != nil {
				p.AfterStartAt, p.AfterID = &after.StartAt, after.ID
			}
			return q.ListEventsByStart(ctx, p)
		})
		checkList(t, pool, "events "+fl.name+" -start_at", func(q *db.Queries, limit int32, after *db.EventDetail) ([]db.EventDetail, error) {
			p := db.ListEventsByStartDescParams{ContractID: fl.contract, ClientID: fl.client, CommercialID: fl.commercial,
				SupportID: fl.suppor, WithoutSupport: fl.noSupport, StartsAfter: fl.after, StartsBefore: fl.before, RowLimit: limit}
			if after != nil {
				p.AfterStartAt, p.AfterID = &after.StartAt, after.ID
			}
			return q.ListEventsByStartDesc(ctx, p)
		})
	}
}

// TestListsArePlannedWithTheirValues: lookups are named prepared
// statements (planned once, then a generic plan), list queries are not (so
// PostgreSQL plans each with its values).
func TestListsArePlannedWithTheirValues(t *testing.T) {
	ctx := context.Background()
	pool, err := db.OpenPool(ctx, dbtest.URL(t), db.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := db.NewStore(pool)
	if _, err := store.ListClientsByCreatedDesc(ctx, db.ListClientsByCreatedDescParams{RowLimit: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetClient(ctx, uuid.New()); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	var mode string
	if err := pool.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "auto" {
		t.Errorf("plan_cache_mode = %q, want auto", mode)
	}
	var statements []string
	rows, _ := pool.Query(ctx, "SELECT statement FROM pg_prepared_statements")
	statements, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(statements, "\n")
	if !strings.Contains(joined, "-- name: GetClient :one") {
		t.Errorf("GetClient is not a prepared statement; prepared: %s", joined)
	}
	if strings.Contains(joined, "-- name: List") {
		t.Errorf("a list query is a prepared statement: %s", joined)
	}
}

// TestContractsAndEventsFollowTheirClientsCommercial: the commercial copied
// onto contracts and events is the client's, at insert, after a
// reassignment, and whatever a write tries to set.
func TestContractsAndEventsFollowTheirClientsCommercial(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	now := time.Now().UTC()
	var ids [2]uuid.UUID
	for i := range ids {
		err := pool.QueryRow(ctx, `INSERT INTO collaborators (employee_number, first_name, last_name, email, username,
			department, password_hash, created_at, updated_at)
			VALUES ($1, 'A', 'B', $2, $2, 'commercial', 'x', $3, $3) RETURNING id`, i+1, fmt.Sprint("c", i), now).Scan(&ids[i])
		if err != nil {
			t.Fatal(err)
		}
	}
	var client, contract, event uuid.UUID
	mustScan := func(dst *uuid.UUID, sql string, args ...any) {
		t.Helper()
		if err := pool.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustScan(&client, `INSERT INTO clients (full_name, email, phone, commercial_id, first_contact_at, last_contact_at, created_at, updated_at)
		VALUES ('C', 'c@x.test', '123456', $1, $2, $2, $2, $2) RETURNING id`, ids[0], now)
	mustScan(&contract, `INSERT INTO contracts (client_id, total_amount, amount_due, currency, signed, signed_at, created_at, updated_at)
		VALUES ($1, 10, 5, 'EUR', true, $2, $2, $2) RETURNING id`, client, now)
	mustScan(&event, `INSERT INTO events (contract_id, name, start_at, end_at, timezone, attendees, created_at, updated_at)
		VALUES ($1, 'E', $2, $3, 'UTC', 1, $2, $2) RETURNING id`, contract, now.Add(time.Hour), now.Add(2*time.Hour))
	commercials := func() [2]uuid.UUID {
		t.Helper()
		var got [2]uuid.UUID
		if err := pool.QueryRow(ctx, `SELECT (SELECT commercial_id FROM contracts WHERE id = $1),
			(SELECT commercial_id FROM events WHERE id = $2)`, contract, event).Scan(&got[0], &got[1]); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := commercials(); got != [2]uuid.UUID{ids[0], ids[0]} {
		t.Errorf("after insert: %v, want the client's commercial %v", got, ids[0])
	}
	if _, err := pool.Exec(ctx, "UPDATE clients SET commercial_id = $1 WHERE id = $2", ids[1], client); err != nil {
		t.Fatal(err)
	}
	if got := commercials(); got != [2]uuid.UUID{ids[1], ids[1]} {
		t.Errorf("after reassignment: %v, want the new commercial %v", got, ids[1])
	}
	if _, err := pool.Exec(ctx, "UPDATE contracts SET commercial_id = $1 WHERE id = $2", ids[0], contract); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE events SET commercial_id = $1 WHERE id = $2", ids[0], event); err != nil {
		t.Fatal(err)
	}
	if got := commercials(); got != [2]uuid.UUID{ids[1], ids[1]} {
		t.Errorf("after a direct write: %v, want still the client's commercial %v", got, ids[1])
	}
}
