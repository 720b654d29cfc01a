package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// CollaboratorRef is the summary of a collaborator embedded in other records.
type CollaboratorRef struct {
	ID       uuid.UUID
	FullName string
}

// Client is a customer of the company, followed by one commercial.
type Client struct {
	ID             uuid.UUID
	FullName       string
	Email          string
	Phone          string
	CompanyName    string
	Commercial     CollaboratorRef
	FirstContactAt time.Time
	LastContactAt  time.Time
	Version        int32
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func toClient(r db.ClientDetail) Client {
	return Client{
		ID: r.ID, FullName: r.FullName, Email: r.Email, Phone: r.Phone, CompanyName: r.CompanyName,
		Commercial:     CollaboratorRef{ID: r.CommercialID, FullName: r.CommercialFullName},
		FirstContactAt: r.FirstContactAt.UTC(), LastContactAt: r.LastContactAt.UTC(),
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// ClientService manages clients.
type ClientService struct {
	Deps
	searchSampler searchSampler
}

// NewClientService builds the service.
func NewClientService(d Deps) *ClientService {
	s := &ClientService{Deps: d.withDefaults()}
	s.searchSampler.read = func(ctx context.Context) (*searchSample, error) { return readSearchSample(ctx, s.Store) }
	return s
}

// CreateClientInput is a new client, its values parsed; both instants
// default to now.
type CreateClientInput struct {
	FullName       string
	Email          string
	Phone          string
	CompanyName    string
	FirstContactAt *time.Time
	LastContactAt  *time.Time
}

// Create adds a client owned by its creator (client:create, on the route).
func (s *ClientService) Create(ctx context.Context, caller Caller, in CreateClientInput) (Client, error) {
	now := s.now()
	first, last := now, now
	assign(&first, in.FirstContactAt)
	assign(&last, in.LastContactAt)
	var out Client
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		// The owner cannot be deactivated while their client is being created.
		if err := lockActiveCaller(ctx, q, caller); err != nil {
			return err
		}
		id := uuid.New()
		row, err := inOneTrip(ctx, q,
			func(q *db.Queries) error {
				return q.CreateClient(ctx, db.CreateClientParams{
					ID: id, FullName: in.FullName, Email: in.Email, Phone: in.Phone, CompanyName: in.CompanyName,
					CommercialID: caller.ID, FirstContactAt: first, LastContactAt: last, Now: now,
				})
			},
			func(q *db.Queries) (db.ClientDetail, error) { return q.GetClient(ctx, id) })
		if err != nil {
			return err
		}
		out = toClient(row)
		return s.appendWrite(ctx, q, &caller, out, ActionCreate, clientChanges(Client{}, out, true), now)
	})
	return out, fromDB(err)
}

// clientChanges lists the fields that differ between two states of a
// client; a creation lists every field as a change from nothing.
func clientChanges(from, to Client, creation bool) Changes {
	ch := newDiff(creation)
	ch.set("full_name", from.FullName, to.FullName)
	ch.set("email", from.Email, to.Email)
	ch.set("phone", from.Phone, to.Phone)
	ch.set("company_name", from.CompanyName, to.CompanyName)
	ch.set("commercial_id", from.Commercial.ID.String(), to.Commercial.ID.String())
	ch.set("first_contact_at", formatInstant(from.FirstContactAt), formatInstant(to.FirstContactAt))
	ch.set("last_contact_at", formatInstant(from.LastContactAt), formatInstant(to.LastContactAt))
	return ch.Changes
}

// lockActiveCaller holds the caller's row until the write commits, and
// refuses a caller deactivated since the request was authenticated.
func lockActiveCaller(ctx context.Context, q *db.Queries, caller Caller) error {
	c, err := q.GetCollaboratorForShare(ctx, caller.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	if err != nil || !c.IsActive || c.DeletedAt != nil {
		return Errorf(CodeUnauthenticated, "Your account is no longer active.")
	}
	return nil
}

// Get returns a client.
func (s *ClientService) Get(ctx context.Context, _ Caller, id uuid.UUID) (Client, error) {
	return getRecord(ctx, "client", id, s.Store.GetClient, toClient)
}

// UpdateClientInput changes some fields of a client; nil means unchanged.
// The details are the owner's to change, the commercial management's.
type UpdateClientInput struct {
	FullName       *string
	Email          *string
	Phone          *string
	CompanyName    *string
	FirstContactAt *time.Time
	LastContactAt  *time.Time
	CommercialID   *uuid.UUID
}

func (in UpdateClientInput) hasDetails() bool {
	return in.FullName != nil || in.Email != nil || in.Phone != nil || in.CompanyName != nil ||
		in.FirstContactAt != nil || in.LastContactAt != nil
}

// Update changes a client (client:update_own or client:reassign, on the
// route), in the contract's order: 422, 404, 403 (ownership and fields),
// 412, 409.
func (s *ClientService) Update(ctx context.Context, caller Caller, uid uuid.UUID, in UpdateClientInput, ifMatch IfMatch) (Client, error) {
	_, out, err := updateRecord(ctx, s.Deps, caller, ifMatch, recordUpdate[Client]{
		what: "client",
		prepare: func(q *db.Queries) error {
			if in.CommercialID == nil {
				return nil
			}
			return requireActiveMember(ctx, q, *in.CommercialID, "commercial_id", DepartmentCommercial)
		},
		lock: func(q *db.Queries) (Client, error) {
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error { _, err := q.LockClient(ctx, uid); return err },
				func(q *db.Queries) (db.ClientDetail, error) { return q.GetClient(ctx, uid) })
			return convert(row, err, toClient)
		},
		next: func(cur Client, _ time.Time) (Client, error) {
			next := cur
			assign(&next.FullName, in.FullName)
			assign(&next.Email, in.Email)
			assign(&next.Phone, in.Phone)
			assign(&next.CompanyName, in.CompanyName)
			assign(&next.FirstContactAt, in.FirstContactAt)
			assign(&next.LastContactAt, in.LastContactAt)
			assign(&next.Commercial.ID, in.CommercialID)
			return next, nil
		},
		authorize: func(cur, _ Client) error {
			owns := caller.Can(PermClientUpdateOwn) && cur.Commercial.ID == caller.ID
			switch {
			case in.hasDetails() && !owns:
				return Errorf(CodeForbidden, "Only the client's own commercial may change its details.")
			case in.CommercialID != nil && !caller.Can(PermClientReassign):
				return Errorf(CodeForbidden, "Only management may reassign a client (commercial_id).")
			case !owns && !caller.Can(PermClientReassign):
				return Errorf(CodeForbidden, "Only the client's own commercial may change it.")
			}
			return nil
		},
		version: func(c Client) int32 { return c.Version },
		changes: func(from, to Client) Changes { return clientChanges(from, to, false) },
		write: func(q *db.Queries, _, next Client, now time.Time) (Client, error) {
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error {
					return q.UpdateClient(ctx, db.UpdateClientParams{
						ID: uid, FullName: next.FullName, Email: next.Email, Phone: next.Phone,
						CompanyName: next.CompanyName, CommercialID: next.Commercial.ID,
						FirstContactAt: next.FirstContactAt, LastContactAt: next.LastContactAt, Now: now,
					})
				},
				func(q *db.Queries) (db.ClientDetail, error) { return q.GetClient(ctx, uid) })
			return convert(row, err, toClient)
		},
	})
	return out, err
}

func assign[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// requireActiveMember checks that a body id names an active collaborator
// of the department, and holds their row until the write commits so that
// they cannot leave meanwhile.
func requireActiveMember(ctx context.Context, q *db.Queries, id uuid.UUID, field string, department Department) error {
	c, err := q.GetCollaboratorForShare(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return InvalidField(field, "names no collaborator")
	}
	if err != nil {
		return err
	}
	if !c.IsActive || c.DeletedAt != nil || c.Department != string(department) {
		return InvalidField(field, "must be an active collaborator of the "+string(department)+" department")
	}
	return nil
}

// ListClientsInput filters and pages the client list. Commercial is the
// owner's id ("me" is resolved to the caller's id at the edge).
type ListClientsInput struct {
	PageInput
	Commercial *uuid.UUID
	Q          string
}

// Sorts of the client list, the default first.
var clientSorts = []string{"-created_at", "full_name", "company_name", "-last_contact_at"}

// bucketedSorts are the sorts whose order is cut into search buckets.
var bucketedSorts = map[string]int{"full_name": byFullName, "company_name": byCompanyName}

// searchScanRows is how many rows in the list's order, per row of the
// page, a search tests before it reads every match through the trigram
// index instead: a page is then found that way when at least 1 row in 200
// matches after the cursor, and the trigram index is asked when matches
// are rarer there (so they are few overall, or lie elsewhere in the order).
const searchScanRows = 200

// List pages through clients.
func (s *ClientService) List(ctx context.Context, _ Caller, in ListClientsInput) (Page[Client], error) {
	commercial := in.Commercial
	lq, err := newListQuery("clients", in.PageInput, clientSorts, idString(commercial), in.Q)
	if err != nil {
		return Page[Client]{}, err
	}
	var afterID uuid.UUID
	var afterKey *string
	if lq.after != nil {
		afterID, afterKey = lq.after.ID, &lq.after.Key
	}
	var afterTime *time.Time
	switch lq.sort {
	case "-created_at", "-last_contact_at":
		if afterTime, err = afterInstant(lq); err != nil {
			return Page[Client]{}, err
		}
	}
	var rows []db.ClientDetail
	if in.Q == "" {
		rows, err = s.listAll(ctx, lq, commercial, afterKey, afterTime, afterID)
	} else {
		rows, err = s.search(ctx, lq, commercial, in.Q, afterKey, afterTime, afterID)
	}
	if err != nil {
		return Page[Client]{}, fromDB(err)
	}
	return paginate(lq, rows, toClient, func(r db.ClientDetail) (string, uuid.UUID) {
		switch lq.sort {
		case "full_name":
			return r.FullName, r.ID
		case "company_name":
			return r.CompanyName, r.ID
		case "-last_contact_at":
			return formatInstant(r.LastContactAt), r.ID
		}
		return formatInstant(r.CreatedAt), r.ID
	}), nil
}

func (s *ClientService) listAll(ctx context.Context, lq listQuery, commercial *uuid.UUID, afterKey *string, afterTime *time.Time, afterID uuid.UUID) ([]db.ClientDetail, error) {
	limit := lq.fetchLimit()
	switch lq.sort {
	case "full_name":
		return s.Store.ListClientsByFullName(ctx, db.ListClientsByFullNameParams{
			CommercialID: commercial, AfterFullName: afterKey, AfterID: afterID, RowLimit: limit})
	case "company_name":
		return s.Store.ListClientsByCompanyName(ctx, db.ListClientsByCompanyNameParams{
			CommercialID: commercial, AfterCompanyName: afterKey, AfterID: afterID, RowLimit: limit})
	case "-last_contact_at":
		return s.Store.ListClientsByLastContactDesc(ctx, db.ListClientsByLastContactDescParams{
			CommercialID: commercial, AfterLastContactAt: afterTime, AfterID: afterID, RowLimit: limit})
	}
	return s.Store.ListClientsByCreatedDesc(ctx, db.ListClientsByCreatedDescParams{
		CommercialID: commercial, AfterCreatedAt: afterTime, AfterID: afterID, RowLimit: limit})
}

// search finds the page among the next rows in order when they hold it,
// else through the trigram index (see sql/queries/clients.sql and
// search_plan.go). One commercial's rows are always tested in order first:
// their list is short enough to end within the rows tested.
func (s *ClientService) search(ctx context.Context, lq listQuery, commercial *uuid.UUID, term string, afterKey *string, afterTime *time.Time, afterID uuid.UUID) ([]db.ClientDetail, error) {
	limit := lq.fetchLimit()
	scan := limit * searchScanRows
	plan := fullProbe(term)
	sample := s.searchSampler.current(ctx, s.Now())
	if sample != nil {
		plan = sample.plan(term, int(limit), int(scan))
	}
	// Over every client, by name or company, a term whose matches the
	// sample finds common but not near the cursor is read through the
	// buckets that may hold it (search_buckets.go).
	if order, bucketed := bucketedSorts[lq.sort]; bucketed && commercial == nil && plan.inOrder && sample != nil &&
		!sample.matchesNear(order, afterKey, term, int(limit), int(scan)) {
		if rows, err := s.searchInBuckets(ctx, lq, term, afterKey, afterID); err != nil || len(rows) > 0 {
			return rows, err
		}
	} else if plan.inOrder || commercial != nil {
		rows, done, err := s.searchInOrder(ctx, lq, commercial, likePattern(term), afterKey, afterTime, afterID)
		if err != nil || done {
			return rows, err
		}
	}
	switch lq.sort {
	case "full_name":
		return s.Store.ListClientsMatchingAllByFullName(ctx, db.ListClientsMatchingAllByFullNameParams{
			CommercialID: commercial, Probe: plan.probe, Term: term, AfterFullName: afterKey, AfterID: afterID, RowLimit: limit})
	case "company_name":
		return s.Store.ListClientsMatchingAllByCompanyName(ctx, db.ListClientsMatchingAllByCompanyNameParams{
			CommercialID: commercial, Probe: plan.probe, Term: term, AfterCompanyName: afterKey, AfterID: afterID, RowLimit: limit})
	case "-last_contact_at":
		return s.Store.ListClientsMatchingAllByLastContactDesc(ctx, db.ListClientsMatchingAllByLastContactDescParams{
			CommercialID: commercial, Probe: plan.probe, Term: term, AfterLastContactAt: afterTime, AfterID: afterID, RowLimit: limit})
	}
	return s.Store.ListClientsMatchingAllByCreatedDesc(ctx, db.ListClientsMatchingAllByCreatedDescParams{
		CommercialID: commercial, Probe: plan.probe, Term: term, AfterCreatedAt: afterTime, AfterID: afterID, RowLimit: limit})
}

// searchInOrder tests the next rows in the list's order; done says that
// its matches are the page.
func (s *ClientService) searchInOrder(ctx context.Context, lq listQuery, commercial *uuid.UUID, pattern string, afterKey *string, afterTime *time.Time, afterID uuid.UUID) (rows []db.ClientDetail, done bool, err error) {
	limit := lq.fetchLimit()
	scan := limit * searchScanRows
	var w walk
	switch lq.sort {
	case "full_name":
		var rows []db.ListClientsMatchingByFullNameRow
		rows, err = s.Store.ListClientsMatchingByFullName(ctx, db.ListClientsMatchingByFullNameParams{
			CommercialID: commercial, Q: pattern, AfterFullName: afterKey, AfterID: afterID, ScanLimit: scan, RowLimit: limit})
		for _, r := range rows {
			w.add(r.ClientDetail, r.Position, r.Matched)
		}
	case "company_name":
		var rows []db.ListClientsMatchingByCompanyNameRow
		rows, err = s.Store.ListClientsMatchingByCompanyName(ctx, db.ListClientsMatchingByCompanyNameParams{
			CommercialID: commercial, Q: pattern, AfterCompanyName: afterKey, AfterID: afterID, ScanLimit: scan, RowLimit: limit})
		for _, r := range rows {
			w.add(r.ClientDetail, r.Position, r.Matched)
		}
	case "-last_contact_at":
		var rows []db.ListClientsMatchingByLastContactDescRow
		rows, err = s.Store.ListClientsMatchingByLastContactDesc(ctx, db.ListClientsMatchingByLastContactDescParams{
			CommercialID: commercial, Q: pattern, AfterLastContactAt: afterTime, AfterID: afterID, ScanLimit: scan, RowLimit: limit})
		for _, r := range rows {
			w.add(r.ClientDetail, r.Position, r.Matched)
		}
	default:
		var rows []db.ListClientsMatchingByCreatedDescRow
		rows, err = s.Store.ListClientsMatchingByCreatedDesc(ctx, db.ListClientsMatchingByCreatedDescParams{
			CommercialID: commercial, Q: pattern, AfterCreatedAt: afterTime, AfterID: afterID, ScanLimit: scan, RowLimit: limit})
		for _, r := range rows {
			w.add(r.ClientDetail, r.Position, r.Matched)
		}
	}
	if err != nil {
		return nil, false, err
	}
	// The matches among the rows tested are the first ones after the
	// cursor: they are the page when they fill it, or when the list ends
	// within the rows tested (its last possible row did not come back).
	return w.matches, len(w.matches) == int(limit) || w.last < int64(scan), nil
}

// walk is what the first step of a search returned: its matches, and the
// position of its last row in the order (the bound when it got that far).
type walk struct {
	matches []db.ClientDetail
	last    int64
}

func (w *walk) add(r db.ClientDetail, position int64, matched bool) {
	if matched {
		w.matches = append(w.matches, r)
	}
	w.last = position
}
