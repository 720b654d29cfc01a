package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/service"
)

// bucketFixture is a database of clients whose names and companies come
// from small lists, so that terms are common in some buckets and absent
// from others, and the store and client service over it.
type bucketFixture struct {
	pool       *pgxpool.Pool
	store      *db.Store
	clients    *service.ClientService
	commercial uuid.UUID
	serial     int
}

var (
	bucketFirstNames = []string{"Zoé", "Anna", "Émile", "Bill", "Kate", "Ørjan", "Sofia", "Élodie"}
	bucketLastNames  = []string{"Boquet", "Casey", "Ouick", "Hastroff", "Bernard", "Dupont"}
	bucketCompanies  = []string{"", "Cool Startup LLC", "Nova Blue Ltd", "Acme Cedar Inc", "Épicerie Fine", "Zeta Events"}
)

func newBucketFixture(t *testing.T, clients int) *bucketFixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := &bucketFixture{pool: pool, store: db.NewStore(pool)}
	f.clients = service.NewClientService(service.Deps{Store: f.store})
	err := pool.QueryRow(ctx, `INSERT INTO collaborators (employee_number, first_name, last_name, email, username, department, password_hash, created_at, updated_at)
		VALUES (1, 'Bill', 'Boquet', 'bill@epic-events.test', 'bill', 'commercial', 'not-a-login-hash', now(), now()) RETURNING id`).Scan(&f.commercial)
	if err != nil {
		t.Fatal(err)
	}
	for range clients {
		f.add(t)
	}
	return f
}

// add inserts the next client of the lists and returns its id.
func (f *bucketFixture) add(t *testing.T) uuid.UUID {
	t.Helper()
	i := f.serial
	f.serial++
	return f.insert(t, fmt.Sprintf("%s %s %d", bucketFirstNames[i%len(bucketFirstNames)], bucketLastNames[i/3%len(bucketLastNames)], i),
		bucketCompanies[i/2%len(bucketCompanies)], fmt.Sprintf("client%d@example.test", i))
}

func (f *bucketFixture) insert(t *testing.T, name, company, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := f.pool.QueryRow(context.Background(), `INSERT INTO clients (full_name, email, phone, company_name, commercial_id,
		first_contact_at, last_contact_at, created_at, updated_at) VALUES ($1, $2, '123456', $3, $4, now(), now(), now(), now()) RETURNING id`,
		name, email, company, f.commercial).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// plain is every client holding term, in the order of sort, as a plain
// case-insensitive substring test of the three fields finds them (strpos,
// not ILIKE, so that % and _ in a term are the characters themselves).
func (f *bucketFixture) plain(t *testing.T, sort, term string) []db.ClientDetail {
	t.Helper()
	column := map[string]string{"f": "full_name", "c": "company_name"}[sort]
	rows, err := f.pool.Query(context.Background(), `SELECT * FROM client_details
		WHERE strpos(lower(full_name), lower($1)) > 0 OR strpos(lower(company_name), lower($1)) > 0
		   OR strpos(lower(email), lower($1)) > 0
		ORDER BY `+column+`, id`, term)
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[db.ClientDetail])
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// walk is the bucket walk's page of limit rows after the cursor row (none
// when nil), or nil when it stopped after scan rows.
func (f *bucketFixture) walk(t *testing.T, sort, term string, after *db.ClientDetail, limit, scan int32) []db.ClientDetail {
	t.Helper()
	ctx := context.Background()
	var afterID uuid.UUID
	var rows []db.ClientDetail
	var err error
	if sort == "f" {
		var key *string
		if after != nil {
			key, afterID = &after.FullName, after.ID
		}
		rows, err = f.store.ListClientsInSearchBucketsByFullName(ctx, db.ListClientsInSearchBucketsByFullNameParams{
			Term: term, AfterFullName: key, AfterID: afterID, RowLimit: limit, ScanLimit: scan})
	} else {
		var key *string
		if after != nil {
			key, afterID = &after.CompanyName, after.ID
		}
		rows, err = f.store.ListClientsInSearchBucketsByCompanyName(ctx, db.ListClientsInSearchBucketsByCompanyNameParams{
			Term: term, AfterCompanyName: key, AfterID: afterID, RowLimit: limit, ScanLimit: scan})
	}
	if err != nil {
		t.Fatalf("walk %s %q: %v", sort, term, err)
	}
	return rows
}

// checkPages pages through every term in both orders, limit rows at a
// time with no cap on the rows tested, and compares each page with the
// plain search's.
func (f *bucketFixture) checkPages(t *testing.T, label string, terms []string, limit int) {
	t.Helper()
	for _, sort := range []string{"f", "c"} {
		for _, term := range terms {
			want := f.plain(t, sort, term)
			var after *db.ClientDetail
			for done := 0; ; done += limit {
				got := f.walk(t, sort, term, after, int32(limit), 1_000_000)
				page := want[min(done, len(want)):min(done+limit, len(want))]
				if diff := cmp.Diff(page, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("%s: sort %s, q=%q, after %d matches (-plain +walk):\n%s", label, sort, term, done, diff)
				}
				if len(page) < limit {
					break
				}
				after = &page[len(page)-1]
			}
		}
	}
}

// The terms: a first name the order by name holds at its start, middle or
// end; letters of other scripts; a company word; parts of emails (digits
// and dots, which no piece holds); two letters (no piece); mixed case;
// and none.
var bucketTerms = []string{"zoé", "anna", "ÉMILE", "ørjan", "élodie", "cool", "blue", "épicerie", "events",
	"boquet", "bernard 2", "client1", "1@example", "example.test", "e.", "an", "é", "zz", "ZoÉ", "nothing"}

// TestClientSearchBucketWalk: the walk through the buckets gives the plain
// search's pages in both orders, before the first rebuild (one bucket),
// after it, and after writes that followed it: new clients in every
// bucket, renames into a bucket that held none of a term's pieces.
func TestClientSearchBucketWalk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newBucketFixture(t, 240)
	f.checkPages(t, "before the first rebuild", bucketTerms, 7)

	rebuilt, err := f.clients.RebuildSearchBuckets(ctx, 10)
	if err != nil || !rebuilt {
		t.Fatalf("rebuild: %v, %v", rebuilt, err)
	}
	var buckets int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM client_search_bounds b JOIN client_search_state s
		ON b.generation = s.current WHERE b.sort = 'f'`).Scan(&buckets); err != nil || buckets != 23 {
		t.Fatalf("bounds of the name order: %d (%v), want 23 (240 clients by 10)", buckets, err)
	}
	f.checkPages(t, "after the rebuild", bucketTerms, 7)
	f.checkPages(t, "after the rebuild, one row a page", []string{"zoé", "cool", "an"}, 1)

	// A term held by no client yet, then by clients written in three
	// places of each order (first, middle, last), and by a client renamed.
	rare := []string{"quixote", "QUIXOTE", "xot"}
	f.checkPages(t, "a term no client holds", rare, 3)
	f.insert(t, "Aaron Quixote", "", "aaron@example.test")
	f.insert(t, "Kate Hastroff", "Quixote Mills", "kate.h@example.test")
	f.insert(t, "Zyta Zorn", "Zz Top", "quixote@example.test")
	renamed := f.add(t)
	if _, err := f.pool.Exec(ctx, `UPDATE clients SET full_name = 'Michel Quixote' WHERE id = $1`, renamed); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		f.add(t)
	}
	f.checkPages(t, "after writes", append(rare, bucketTerms...), 4)

	// What LIKE would read as patterns, and what SQL would quote, are only
	// characters to the walk; a term of the longest length q takes too.
	f.insert(t, "Seán O'Brien", "50% Off_Events", "o_brien@example.test")
	f.insert(t, `Back\Slash`, "100%", "back@example.test")
	f.checkPages(t, "terms of pattern characters", []string{"%", "_", "50%", "f_e", "o'b", `\`, "n o'",
		strings.Repeat("quixote ", 25)[:200]}, 3)
}

// TestClientSearchBucketWalkStopsAtItsScan: a walk that would test more
// rows than its scan returns nothing (the trigram index then answers),
// and one whose candidate buckets end within it returns what they hold.
func TestClientSearchBucketWalkStopsAtItsScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newBucketFixture(t, 200)
	if _, err := f.clients.RebuildSearchBuckets(ctx, 10); err != nil {
		t.Fatal(err)
	}
	// "client19" is held by 11 clients, and its pieces ("cli", "lie",
	// "ien", "ent") by every bucket: a walk of 25 rows cannot reach the
	// fifth match.
	if got := f.walk(t, "f", "client19", nil, 5, 25); len(got) != 0 {
		t.Errorf("a walk capped at 25 rows returned %d rows, want none", len(got))
	}
	if got, want := f.walk(t, "f", "client19", nil, 5, 1_000_000), f.plain(t, "f", "client19")[:5]; !cmp.Equal(got, want) {
		t.Errorf("an uncapped walk: %v, want %v", got, want)
	}
	// "quixote" is held by one client: only its bucket is read.
	id := f.insert(t, "Zoé Quixote", "", "zq@example.test")
	if got := f.walk(t, "f", "quixote", nil, 5, 12); len(got) != 1 || got[0].ID != id {
		t.Errorf("a walk of one bucket: %v, want the one client %v", got, id)
	}
}

// TestClientSearchBucketRebuildMissesNoWrite: a client written at any
// step of a rebuild is found in the buckets it makes current, and
// searches read the buckets it replaces until then; a second rebuild
// waits its turn; an abandoned one leaves the current buckets serving.
func TestClientSearchBucketRebuildMissesNoWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newBucketFixture(t, 120)
	if _, err := f.clients.RebuildSearchBuckets(ctx, 10); err != nil {
		t.Fatal(err)
	}
	terms := []string{"quixote", "zoé", "cool"}

	generation, err := f.store.BeginClientSearchBuckets(ctx, 8)
	if err != nil || generation == 0 {
		t.Fatalf("begin: %d, %v", generation, err)
	}
	if again, err := f.store.BeginClientSearchBuckets(ctx, 8); err != nil || again != 0 {
		t.Fatalf("a second rebuild began (%d, %v) while one runs", again, err)
	}
	if rebuilt, err := f.clients.RebuildSearchBuckets(ctx, 8); err != nil || rebuilt {
		t.Fatalf("the service rebuilt (%v, %v) while a rebuild runs", rebuilt, err)
	}
	f.insert(t, "Anna Quixote", "", "aq@example.test") // after the bounds
	if err := f.store.WaitForClientWriters(ctx); err != nil {
		t.Fatal(err)
	}
	f.insert(t, "Bill Quixote", "Quixote SA", "bq@example.test") // before the fill
	if err := f.store.FillClientSearchBuckets(ctx, generation); err != nil {
		t.Fatal(err)
	}
	f.insert(t, "Zoé Quixote", "Zeta Quixote", "zq@example.test") // before the finish
	renamed := f.add(t)
	if _, err := f.pool.Exec(ctx, `UPDATE clients SET company_name = 'Quixote Mills' WHERE id = $1`, renamed); err != nil {
		t.Fatal(err)
	}
	f.checkPages(t, "while the rebuild runs", terms, 2)
	if finished, err := f.store.FinishClientSearchBuckets(ctx, generation); err != nil || !finished {
		t.Fatalf("finish: %v, %v", finished, err)
	}
	var current *int32
	var pending int
	if err := f.pool.QueryRow(ctx, `SELECT current, (SELECT count(*) FROM client_search_pending) FROM client_search_state`).Scan(&current, &pending); err != nil {
		t.Fatal(err)
	}
	if current == nil || *current != generation || pending != 0 {
		t.Fatalf("after finish: current %v, %d pending; want %d, none", current, pending, generation)
	}
	f.checkPages(t, "after the rebuild", terms, 2)

	// Abandoned, a rebuild leaves the current generation serving and lists
	// writes no more; the next one begins at once.
	abandoned, err := f.store.BeginClientSearchBuckets(ctx, 8)
	if err != nil || abandoned == 0 {
		t.Fatalf("begin: %d, %v", abandoned, err)
	}
	if err := f.store.AbandonClientSearchBuckets(ctx, abandoned); err != nil {
		t.Fatal(err)
	}
	f.insert(t, "Kate Quixote", "", "kq@example.test")
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM client_search_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("pending after an abandoned rebuild: %d, %v", pending, err)
	}
	if finished, err := f.store.FinishClientSearchBuckets(ctx, abandoned); err != nil || finished {
		t.Fatalf("an abandoned rebuild finished: %v, %v", finished, err)
	}
	f.checkPages(t, "after an abandoned rebuild", terms, 2)
	if rebuilt, err := f.clients.RebuildSearchBuckets(ctx, 8); err != nil || !rebuilt {
		t.Fatalf("a rebuild after an abandoned one: %v, %v", rebuilt, err)
	}
	f.checkPages(t, "after the next rebuild", terms, 2)
	// The generations it replaced are gone; the current one is whole.
	var kept []int32
	if err := f.pool.QueryRow(ctx, `SELECT array_agg(DISTINCT g) FROM (SELECT generation FROM client_search_pieces
		UNION ALL SELECT generation FROM client_search_bounds) x (g)`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	state, err := f.store.ClientSearchState(ctx)
	if err != nil || state.Current == nil || !cmp.Equal(kept, []int32{*state.Current}) {
		t.Fatalf("generations kept: %v, current %+v (%v)", kept, state, err)
	}
}

// TestClientSearchBucketsAreCutAsTheTableGrows: none before two buckets'
// worth of clients, then again once the table has grown by a quarter.
func TestClientSearchBucketsAreCutAsTheTableGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newBucketFixture(t, 2*service.SearchBucketRows-10)
	analyze := func() {
		if _, err := f.pool.Exec(ctx, "ANALYZE clients"); err != nil {
			t.Fatal(err)
		}
	}
	maintain := func(want bool, label string) {
		t.Helper()
		analyze()
		if rebuilt, err := f.clients.MaintainSearchBuckets(ctx); err != nil || rebuilt != want {
			t.Fatalf("%s: rebuilt %v (%v), want %v", label, rebuilt, err, want)
		}
	}
	maintain(false, "below two buckets")
	for range 10 {
		f.add(t)
	}
	maintain(true, "at two buckets")
	maintain(false, "just cut")
	for range service.SearchBucketRows / 2 {
		f.add(t)
	}
	maintain(true, "grown by a quarter")
	state, err := f.store.ClientSearchState(ctx)
	if err != nil || state.CurrentRows != int64(f.serial) {
		t.Fatalf("state: %+v (%v), want %d rows", state, err, f.serial)
	}
}
