package db_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
	"epicevents/internal/service"
)

// measuring stands in for the pool under the service: it runs each
// statement under EXPLAIN ANALYZE, adds up the rows it read of the big
// tables, then runs it for real.
type measuring struct {
	pool       *pgxpool.Pool
	t          *testing.T
	read       float64
	seqScans   []string
	statements int
	walks      int // statements that walked the buckets
}

func (m *measuring) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The walk's own statements do not show in its plan; the backend's
	// statistics count what they read (index entries, and sequential
	// scans of the big tables). Those not yet reported include earlier
	// transactions of the connection, hence the difference; none is
	// reported inside a transaction.
	walk := strings.Contains(sql, "client_search_walk(")
	var before bigTableReads
	if walk {
		m.walks++
		if before, err = readBigTables(ctx, tx); err != nil {
			return nil, err
		}
	}
	var plan []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
		return nil, err
	}
	scans, read := readOf(m.t, plan)
	if walk {
		after, err := readBigTables(ctx, tx)
		if err != nil {
			return nil, err
		}
		if after.seqScans > before.seqScans {
			scans = append(scans, "clients, contracts or events (inside the walk)")
		}
		read = max(read, after.entries-before.entries)
	}
	m.seqScans = append(m.seqScans, scans...)
	m.read += read
	m.statements++
	return m.pool.Query(ctx, sql, args...)
}

// bigTableReads counts what a backend read of clients, contracts and
// events, as its statistics say.
type bigTableReads struct {
	seqScans int64
	entries  float64 // index entries
}

func readBigTables(ctx context.Context, tx pgx.Tx) (bigTableReads, error) {
	var r bigTableReads
	err := tx.QueryRow(ctx, `SELECT
		  (SELECT coalesce(sum(pg_stat_get_xact_numscans(c.oid)), 0)::bigint FROM pg_class c
		   WHERE c.oid IN ('clients'::regclass, 'contracts'::regclass, 'events'::regclass)),
		  (SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(i.indexrelid)), 0)::float8 FROM pg_index i
		   WHERE i.indrelid IN ('clients'::regclass, 'contracts'::regclass, 'events'::regclass))`).Scan(&r.seqScans, &r.entries)
	return r, err
}

// QueryRow is the sample's row estimate (search_plan.go), not a list.
func (m *measuring) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return m.pool.QueryRow(ctx, sql, args...)
}

func (m *measuring) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	panic("not a list")
}

// searchScan is how many rows in order a search tests for a page of
// searchLimit before it reads every match (the service's bound, 200 rows
// per row fetched: the page and the one that tells whether more follow).
const (
	searchLimit = 5
	searchScan  = (searchLimit + 1) * 200
	// The rows of the page read again for their summaries, and slack.
	searchExtra = 4*(searchLimit+1) + 20
)

// TestClientSearchReadsLittle: a search's page is the page of a plain
// ILIKE over the three fields in the list's order, first and deep, for
// every sort, with and without a commercial; and it reads of the big
// tables at most the rows it tests in order, plus, only when those do not
// hold the page, the matches after the cursor (or a few thousand rows
// after it): never a walk of the index far past the rows it may test, nor
// a read of every match when the rows tested hold the page.
//
// The terms, on the seeded data: a last name (1 client in 28), a company
// word (1 in 8, none among those without a company, which sort first by
// company name), a first name (1 in 20, the last of the full-name order),
// one full name, an email, and nothing; and a mixed-case term, common and rare.
// The reads of a walk of the search buckets are those its statements
// made (measuring.Query).
func TestClientSearchReadsLittle(t *testing.T) {
	pool := seededPool(t)
	f := pickFixture(t, pool)
	ctx := context.Background()
	m := &measuring{pool: pool, t: t}
	clients := service.NewClientService(service.Deps{Store: &db.Store{Queries: db.New(m)}})
	caller := service.Caller{ID: uuid.New()}
	// The first search reads the sample the searches plan with.
	if _, err := clients.List(ctx, caller, service.ListClientsInput{Q: "warm"}); err != nil {
		t.Fatal(err)
	}

	keys := map[string]string{"-created_at": "created_at DESC, id DESC", "full_name": "full_name, id",
		"company_name": "company_name, id", "-last_contact_at": "last_contact_at DESC, id DESC"}
	for _, q := range []string{"bernard", "cool", "zoé", "elena bernard", "client12345", "zzzz", "BerNard", "CLIENT12345"} {
		for _, commercial := range []*uuid.UUID{nil, &f.commercial} {
			for _, sort := range []string{"-created_at", "full_name", "company_name", "-last_contact_at"} {
				name := fmt.Sprintf("q=%s sort=%s commercial=%v", q, sort, commercial != nil)
				// Every row of the list in order, and whether it matches.
				rows, err := pool.Query(ctx, `SELECT id, (full_name ILIKE '%' || $1 || '%' OR company_name ILIKE '%' || $1 || '%'
					OR email ILIKE '%' || $1 || '%') FROM clients WHERE $2::uuid IS NULL OR commercial_id = $2
					ORDER BY `+keys[sort], q, commercial)
				if err != nil {
					t.Fatal(err)
				}
				type listed struct {
					id      uuid.UUID
					matches bool
				}
				all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (listed, error) {
					var l listed
					return l, r.Scan(&l.id, &l.matches)
				})
				if err != nil {
					t.Fatal(err)
				}
				var matches []uuid.UUID
				for _, l := range all {
					if l.matches {
						matches = append(matches, l.id)
					}
				}
				// page checks the page after the first done matches, and what it read.
				page := func(cursor string, done int, label string) service.Page[service.Client] {
					m.read, m.seqScans, m.statements, m.walks = 0, nil, 0, 0
					p, err := clients.List(ctx, caller, service.ListClientsInput{
						PageInput: service.PageInput{Limit: ptr(searchLimit), Cursor: cursor, Sort: sort}, Commercial: commercial, Q: q})
					if err != nil {
						t.Fatalf("%s, %s: %v", name, label, err)
					}
					var got []uuid.UUID
					for _, c := range p.Items {
						got = append(got, c.ID)
					}
					want := matches[done:min(done+searchLimit, len(matches))]
					if !slices.Equal(got, want) || (p.NextCursor != "") != (done+searchLimit < len(matches)) {
						t.Fatalf("%s, %s: got %v (next %q), want %v of %d matches", name, label, got, p.NextCursor, want, len(matches))
					}
					if len(m.seqScans) > 0 {
						t.Errorf("%s, %s: sequential scan of %v", name, label, m.seqScans)
					}
					// Where the cursor stands in the list, and where the
					// match that ends the page (the fetched extra one) is.
					from := 0
					if done > 0 {
						from = slices.IndexFunc(all, func(l listed) bool { return l.id == matches[done-1] }) + 1
					}
					inScan := 0
					for _, l := range all[from:min(from+searchScan, len(all))] {
						if l.matches {
							inScan++
						}
					}
					bound := float64(searchScan + searchExtra)
					if len(matches) < 4*searchLimit && from+searchScan < len(all) {
						// A rare term is found through the trigram index
						// at once, without testing rows in order first:
						// its matches, and the rows that hold the parts of
						// the term it was asked with but not the whole.
						bound = float64(len(matches) + searchScan/4)
					} else if inScan < searchLimit+1 && from+searchScan < len(all) {
						// Every match after the cursor, or the rows after
						// it when they are few (PostgreSQL may rather read
						// those in order than ask the trigram index).
						bound += float64(max(len(matches)-done, min(len(all)-from, 2*searchScan)))
					}
					if m.read > bound {
						t.Errorf("%s, %s: read %.0f rows of the big tables in %d statements; at most %.0f (%d matches after the cursor, %d in the %d rows tested)",
							name, label, m.read, m.statements, bound, len(matches)-done, inScan, searchScan)
					}
					return p
				}
				p := page("", 0, "first page")
				// A common term whose matches all sort far from the start
				// (the last block of names, the companies after those
				// without one) walks only the buckets that hold it.
				if far := (q == "zoé" && sort == "full_name") || (q == "cool" && sort == "company_name"); far && commercial == nil &&
					(m.walks != 1 || m.statements != 1) {
					t.Errorf("%s, first page: %d statements, %d of them walks of the buckets; want the one walk", name, m.statements, m.walks)
				}
				// A deep page: the one after the first 800 matches, or
				// the last page of a shorter list.
				done, target := searchLimit, min(800, len(matches)-1)
				for p.NextCursor != "" && done < target {
					p, done = hop(t, clients, caller, service.ListClientsInput{Commercial: commercial, Q: q,
						PageInput: service.PageInput{Sort: sort, Cursor: p.NextCursor}}, done, min(100, target-done), matches)
				}
				if p.NextCursor != "" {
					page(p.NextCursor, done, fmt.Sprintf("page after %d", done))
				}
			}
		}
	}
}

// hop pages on by n matches at once, checking the rows on the way.
func hop(t *testing.T, clients *service.ClientService, caller service.Caller, in service.ListClientsInput, done, n int, matches []uuid.UUID) (service.Page[service.Client], int) {
	t.Helper()
	in.Limit = &n
	p, err := clients.List(context.Background(), caller, in)
	if err != nil {
		t.Fatalf("hop after %d: %v", done, err)
	}
	for i, c := range p.Items {
		if done+i >= len(matches) || c.ID != matches[done+i] {
			t.Fatalf("hop after %d: row %d is %v, not the match of the plain search", done, i, c.ID)
		}
	}
	if len(p.Items) != min(n, len(matches)-done) {
		t.Fatalf("hop after %d: %d rows, want %d", done, len(p.Items), min(n, len(matches)-done))
	}
	return p, done + len(p.Items)
}
