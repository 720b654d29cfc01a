// Package seed fills an empty, migrated database with a large, consistent
// data set for measurements: collaborators of the three departments, their
// clients, the clients' contracts and the signed contracts' events. Rows go
// in by COPY inside one transaction, so a failed seed leaves nothing.
//
// Every seeded collaborator logs in with the same password (Password); their
// usernames are manager1…, commercial1… and support1… Seeding writes no
// audit rows and no sessions.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Password is the password of every seeded collaborator.
const Password = "seeded-collaborator-password"

// Sizes is how many rows of each kind to write.
type Sizes struct {
	Collaborators int
	Clients       int
	Contracts     int
	Events        int
}

// Default is the data set the list measurements are made on.
var Default = Sizes{Collaborators: 1000, Clients: 200_000, Contracts: 500_000, Events: 1_000_000}

// Options tunes a seed.
type Options struct {
	Sizes
	// PasswordHash is the bcrypt hash of Password that every login shares.
	PasswordHash string
	// Now anchors the generated instants: the past three years, and events
	// up to two years ahead.
	Now time.Time
	// Seed makes the data set reproducible.
	Seed uint64
	// Progress is told of each row written (kind, rows so far of that kind,
	// rows of that kind in all); nil ignores it.
	Progress func(kind string, done, total int)
	// AfterLoad, when set, runs once the rows, indexes and keys are in and
	// before VACUUM (the client search buckets are cut there).
	AfterLoad func(context.Context) error
}

// ErrNotEmpty refuses a database that already holds collaborators or
// business data.
var ErrNotEmpty = errors.New("the database already holds collaborators, clients, contracts or events; seed a freshly migrated database")

// Share of collaborators in management; the rest alternate commercial and
// support.
const managersPerThousand = 10

// Seed writes the data set. The schema must be migrated.
func Seed(ctx context.Context, pool *pgxpool.Pool, opts Options) error {
	if opts.Collaborators < 3 {
		return fmt.Errorf("at least 3 collaborators are needed (one per department), got %d", opts.Collaborators)
	}
	if opts.Contracts > 0 && opts.Clients == 0 || opts.Events > 0 && opts.Contracts == 0 {
		return errors.New("contracts need clients and events need contracts")
	}
	if opts.PasswordHash == "" {
		return errors.New("no password hash")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	opts.Now = opts.Now.UTC().Truncate(time.Microsecond)
	if opts.Progress == nil {
		opts.Progress = func(string, int, int) {}
	}
	g := &generator{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var holds bool
	// The lock keeps a concurrent seed (or a first start creating its
	// manager) from slipping in between the check and the copies.
	if _, err := tx.Exec(ctx, "LOCK TABLE collaborators, clients, contracts, events IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM collaborators) OR EXISTS (SELECT 1 FROM clients)
		OR EXISTS (SELECT 1 FROM contracts) OR EXISTS (SELECT 1 FROM events)`).Scan(&holds); err != nil {
		return err
	}
	if holds {
		return ErrNotEmpty
	}
	// Loading is much faster without the secondary indexes, foreign keys
	// and triggers of the four tables: they are dropped, the rows copied,
	// and then the indexes rebuilt in one pass each and the keys checked
	// in one join each. The triggers only derive a contract's and an
	// event's commercial, which the rows carry already. All of it is in
	// the transaction, so a failure leaves the schema as it was.
	rebuild, err := detach(ctx, tx)
	if err != nil {
		return err
	}
	steps := []struct {
		table   string
		columns []string
		rows    int
		next    func(i int) []any
	}{
		{"collaborators", []string{"id", "employee_number", "first_name", "last_name", "email", "username",
			"department", "password_hash", "is_active", "version", "created_at", "updated_at"}, opts.Collaborators, g.collaborator},
		{"clients", []string{"id", "full_name", "email", "phone", "company_name", "commercial_id",
			"first_contact_at", "last_contact_at", "version", "created_at", "updated_at"}, opts.Clients, g.client},
		{"contracts", []string{"id", "client_id", "commercial_id", "total_amount", "amount_due", "currency", "signed", "signed_at",
			"version", "created_at", "updated_at"}, opts.Contracts, g.contract},
		{"events", []string{"id", "contract_id", "commercial_id", "name", "support_id", "start_at", "end_at", "timezone",
			"location", "attendees", "notes", "version", "created_at", "updated_at"}, opts.Events, g.event},
	}
	for _, s := range steps {
		if s.rows == 0 {
			continue
		}
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == s.rows {
				return nil, nil
			}
			row := s.next(i)
			i++
			if i%1000 == 0 || i == s.rows {
				opts.Progress(s.table, i, s.rows)
			}
			return row, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.table}, s.columns, src); err != nil {
			return fmt.Errorf("copy %s: %w", s.table, err)
		}
	}
	for i, stmt := range rebuild {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		opts.Progress("indexes, keys", i+1, len(rebuild))
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if opts.AfterLoad != nil {
		if err := opts.AfterLoad(ctx); err != nil {
			return err
		}
	}
	// VACUUM marks the pages all-visible, as autovacuum would in time, so
	// that reads of the indexes that carry the columns they need (a
	// search's first step) do not visit the table.
	_, err = pool.Exec(ctx, "VACUUM (ANALYZE) collaborators, clients, contracts, events, client_search_pieces, client_search_bounds")
	return err
}

var seededTables = []string{"collaborators", "clients", "contracts", "events"}

// detach drops the secondary indexes and foreign keys of the seeded tables
// and disables their triggers; it returns the statements that put them
// back.
func detach(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var drop, rebuild []string
	// Each query names, for every index or foreign key, the statement that
	// drops it and the one that makes it again.
	collect := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		pairs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Drop, Rebuild string }])
		for _, p := range pairs {
			drop, rebuild = append(drop, p.Drop), append(rebuild, p.Rebuild)
		}
		return err
	}
	err := collect(tx.Query(ctx, `SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) t)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, seededTables))
	if err != nil {
		return nil, err
	}
	err = collect(tx.Query(ctx, `SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
		       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) t)
		ORDER BY 1`, seededTables))
	if err != nil {
		return nil, err
	}
	for _, t := range seededTables {
		drop = append(drop, "ALTER TABLE "+t+" DISABLE TRIGGER USER")
		rebuild = append(rebuild, "ALTER TABLE "+t+" ENABLE TRIGGER USER")
	}
	drop = append(drop, "SET LOCAL maintenance_work_mem = '256MB'")
	for _, stmt := range drop {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return rebuild, nil
}

// generator draws the rows; it remembers what later tables refer to.
type generator struct {
	opts        Options
	rng         *rand.Rand
	commercials []uuid.UUID
	supports    []uuid.UUID
	clients     []clientRow
	signed      []contractRow // signed contracts, the only ones events may use
}

type clientRow struct {
	id, commercial uuid.UUID
	createdAt      time.Time
}

type contractRow struct {
	id, commercial uuid.UUID
	signedAt       time.Time
}

var (
	firstNames = []string{"Kate", "Bill", "Kevin", "John", "Amélie", "Noah", "Léa", "Omar", "Sofia", "Yuki",
		"Priya", "Lucas", "Chloé", "Mateo", "Hana", "Ibrahim", "Elena", "Tom", "Zoé", "Marcus"}
	lastNames = []string{"Hastroff", "Boquet", "Casey", "Ouick", "Martin", "Bernard", "Dubois", "Thomas",
		"Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel",
		"Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier"}
	companyWords = []string{"Cool", "Startup", "Acme", "Blue", "River", "Nord", "Sud", "Atlas", "Nova",
		"Pixel", "Cedar", "Lumen", "Orbit", "Terra", "Vertex", "Zenith"}
	companyKinds = []string{"LLC", "SAS", "SARL", "GmbH", "Ltd", "Inc"}
	eventKinds   = []string{"Wedding", "General Assembly", "Party", "Gala", "Conference", "Seminar", "Launch"}
	cities       = []string{"Paris", "Lyon", "Nantes", "Lille", "Bordeaux", "Marseille", "Candé-sur-Beuvron"}
)

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// past is an instant in the three years before now.
func (g *generator) past() time.Time {
	return g.opts.Now.Add(-time.Duration(g.rng.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
}

// between is an instant in [from, now).
func (g *generator) between(from time.Time) time.Time {
	span := g.opts.Now.Sub(from)
	if span <= 0 {
		return g.opts.Now
	}
	return from.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Microsecond)
}

func (g *generator) collaborator(i int) []any {
	n := i + 1
	department, kindNumber := "support", 0
	managers := max(1, g.opts.Collaborators*managersPerThousand/1000)
	id := uuid.New()
	switch {
	case i < managers:
		department, kindNumber = "management", n
	case (i-managers)%2 == 0:
		department, kindNumber = "commercial", len(g.commercials)+1
		g.commercials = append(g.commercials, id)
	default:
		kindNumber = len(g.supports) + 1
		g.supports = append(g.supports, id)
	}
	username := fmt.Sprintf("%s%d", map[string]string{"management": "manager", "commercial": "commercial", "support": "support"}[department], kindNumber)
	at := g.past()
	return []any{id, int32(n), g.pick(firstNames), g.pick(lastNames), username + "@epic-events.test", username,
		department, g.opts.PasswordHash, true, int32(1), at, at}
}

func (g *generator) client(i int) []any {
	id := uuid.New()
	at := g.past()
	commercial := g.commercials[g.rng.IntN(len(g.commercials))]
	g.clients = append(g.clients, clientRow{id: id, commercial: commercial, createdAt: at})
	first, last := g.pick(firstNames), g.pick(lastNames)
	company := ""
	if g.rng.IntN(5) > 0 {
		company = fmt.Sprintf("%s %s %s", g.pick(companyWords), g.pick(companyWords), g.pick(companyKinds))
	}
	lastContact := g.between(at)
	return []any{id, first + " " + last, fmt.Sprintf("client%d@example.test", i+1),
		fmt.Sprintf("+33 6 %02d %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100)),
		company, commercial, at, lastContact, int32(1), at, lastContact}
}

func (g *generator) contract(int) []any {
	id := uuid.New()
	c := g.clients[g.rng.IntN(len(g.clients))]
	at := g.between(c.createdAt)
	cents := 50_000 + g.rng.Int64N(5_000_000)
	due := cents
	var signedAt *time.Time
	if g.rng.IntN(10) < 7 { // 70 % signed; of those, half fully paid
		t := g.between(at)
		signedAt = &t
		g.signed = append(g.signed, contractRow{id: id, commercial: c.commercial, signedAt: t})
		switch g.rng.IntN(4) {
		case 0, 1:
			due = 0
		case 2:
			due = g.rng.Int64N(cents)
		}
	}
	updated := at
	if signedAt != nil {
		updated = *signedAt
	}
	return []any{id, c.id, c.commercial, money(cents), money(due), "EUR", signedAt != nil, signedAt, int32(1), at, updated}
}

func (g *generator) event(int) []any {
	id := uuid.New()
	k := g.signed[g.rng.IntN(len(g.signed))]
	// From two years before now to two years after, never before signing.
	start := g.opts.Now.Add(time.Duration(g.rng.Int64N(int64(4*365*24*time.Hour))) - 2*365*24*time.Hour)
	if start.Before(k.signedAt) {
		start = k.signedAt.Add(time.Duration(g.rng.Int64N(int64(60 * 24 * time.Hour))))
	}
	start = start.Truncate(time.Minute)
	end := start.Add(time.Duration(2+g.rng.IntN(12)) * time.Hour)
	var support *uuid.UUID
	if g.rng.IntN(10) < 7 { // 30 % have no support yet
		s := g.supports[g.rng.IntN(len(g.supports))]
		support = &s
	}
	created := g.between(k.signedAt)
	return []any{id, k.id, k.commercial, g.pick(eventKinds) + " " + g.pick(lastNames), support, start, end, "Europe/Paris",
		fmt.Sprintf("%d rue de la Paix, %s", 1+g.rng.IntN(200), g.pick(cities)), int32(g.rng.IntN(500)),
		"", int32(1), created, created}
}

func money(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }
