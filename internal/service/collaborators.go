package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// Collaborator is a member of staff.
type Collaborator struct {
	ID             uuid.UUID
	EmployeeNumber int
	FirstName      string
	LastName       string
	Email          string
	Username       string
	Department     Department
	IsActive       bool
	DeletedAt      *time.Time
	Version        int32
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// FullName is how the collaborator is shown.
func (c Collaborator) FullName() string { return c.FirstName + " " + c.LastName }

// toCollaborator converts a row; instants come back in UTC whatever the
// process's local zone, which the driver uses for timestamptz.
func toCollaborator(r db.Collaborator) Collaborator {
	c := Collaborator{
		ID: r.ID, EmployeeNumber: int(r.EmployeeNumber), FirstName: r.FirstName, LastName: r.LastName,
		Email: r.Email, Username: r.Username, Department: Department(r.Department), IsActive: r.IsActive,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.DeletedAt != nil {
		t := r.DeletedAt.UTC()
		c.DeletedAt = &t
	}
	return c
}

// CollaboratorService manages collaborators.
type CollaboratorService struct {
	Deps
}

// NewCollaboratorService builds the service.
func NewCollaboratorService(d Deps) *CollaboratorService {
	return &CollaboratorService{Deps: d.withDefaults()}
}

// CreateCollaboratorInput is a new collaborator, its values parsed (the
// password has passed the policy).
type CreateCollaboratorInput struct {
	EmployeeNumber int
	FirstName      string
	LastName       string
	Email          string
	Username       string
	Department     Department
	Password       string
}

// Create adds a collaborator (collaborator:create, checked on the route).
func (s *CollaboratorService) Create(ctx context.Context, caller Caller, in CreateCollaboratorInput) (Collaborator, error) {
	hash, err := s.prepare(in)
	if err != nil {
		return Collaborator{}, err
	}
	var c Collaborator
	err = s.Store.InTx(ctx, func(q *db.Queries) error {
		var err error
		c, err = s.insert(ctx, q, &caller, in, hash)
		return err
	})
	if err != nil {
		return Collaborator{}, fromDB(err)
	}
	s.Notifier.Notify("collaborator.created", caller.ID.String(), c.ID.String())
	return c, nil
}

// prepare hashes a new collaborator's password before any transaction:
// bcrypt is slow on purpose and should hold no connection.
func (s *CollaboratorService) prepare(in CreateCollaboratorInput) (hash string, err error) {
	return s.Passwords.Hash(in.Password)
}

// insert adds a prepared collaborator and its audit row in q's transaction.
// A nil caller is the system (bootstrap, command line).
func (s *CollaboratorService) insert(ctx context.Context, q *db.Queries, caller *Caller, in CreateCollaboratorInput, hash string) (Collaborator, error) {
	now := s.now()
	row, err := q.CreateCollaborator(ctx, db.CreateCollaboratorParams{
		EmployeeNumber: int32(in.EmployeeNumber), FirstName: in.FirstName, LastName: in.LastName,
		Email: in.Email, Username: in.Username, Department: string(in.Department),
		PasswordHash: hash, Now: now,
	})
	if err != nil {
		return Collaborator{}, err
	}
	created := toCollaborator(row)
	return created, s.appendWrite(ctx, q, caller, created, ActionCreate, collaboratorCreation(created), now)
}

// collaboratorCreation lists every field of a new collaborator as a change
// from nothing.
func collaboratorCreation(c Collaborator) Changes {
	ch := newDiff(true)
	ch.set("employee_number", nil, c.EmployeeNumber)
	ch.set("first_name", nil, c.FirstName)
	ch.set("last_name", nil, c.LastName)
	ch.set("email", nil, c.Email)
	ch.set("username", nil, c.Username)
	ch.set("department", nil, string(c.Department))
	ch.set("is_active", nil, c.IsActive)
	return ch.Changes
}

// Get returns a collaborator, deleted ones included.
func (s *CollaboratorService) Get(ctx context.Context, _ Caller, id uuid.UUID) (Collaborator, error) {
	return getRecord(ctx, "collaborator", id, s.Store.GetCollaborator, toCollaborator)
}

// Me returns the caller and their permissions.
func (s *CollaboratorService) Me(ctx context.Context, caller Caller) (Collaborator, []Permission, error) {
	c, err := s.Get(ctx, caller, caller.ID)
	return c, caller.Permissions, err
}

// ListCollaboratorsInput filters and pages the collaborator list.
type ListCollaboratorsInput struct {
	PageInput
	Department *Department
	Active     *bool
	Q          string
}

// Sorts of the collaborator list, the default first.
var collaboratorSorts = []string{"last_name", "-created_at"}

// List pages through collaborators that are not deleted.
func (s *CollaboratorService) List(ctx context.Context, _ Caller, in ListCollaboratorsInput) (Page[Collaborator], error) {
	var department *string
	if in.Department != nil {
		d := string(*in.Department)
		department = &d
	}
	lq, err := newListQuery("collaborators", in.PageInput, collaboratorSorts,
		derefOr(department, ""), boolFilter(in.Active), in.Q)
	if err != nil {
		return Page[Collaborator]{}, err
	}
	q := optional(likePattern(in.Q))
	var rows []db.Collaborator
	var afterID uuid.UUID
	if lq.after != nil {
		afterID = lq.after.ID
	}
	switch lq.sort {
	case "last_name":
		var afterName *string
		if lq.after != nil {
			afterName = &lq.after.Key
		}
		rows, err = s.Store.ListCollaboratorsByLastName(ctx, db.ListCollaboratorsByLastNameParams{
			Department: department, Active: in.Active, Q: q,
			AfterLastName: afterName, AfterID: afterID, RowLimit: lq.fetchLimit(),
		})
	default:
		afterCreated, cerr := afterInstant(lq)
		if cerr != nil {
			return Page[Collaborator]{}, cerr
		}
		rows, err = s.Store.ListCollaboratorsByCreatedDesc(ctx, db.ListCollaboratorsByCreatedDescParams{
			Department: department, Active: in.Active, Q: q,
			AfterCreatedAt: afterCreated, AfterID: afterID, RowLimit: lq.fetchLimit(),
		})
	}
	if err != nil {
		return Page[Collaborator]{}, fromDB(err)
	}
	return paginate(lq, rows, toCollaborator, func(r db.Collaborator) (string, uuid.UUID) {
		if lq.sort == "last_name" {
			return r.LastName, r.ID
		}
		return formatInstant(r.CreatedAt), r.ID
	}), nil
}

// UpdateCollaboratorInput changes some fields of a collaborator; nil means
// unchanged.
type UpdateCollaboratorInput struct {
	EmployeeNumber *int
	FirstName      *string
	LastName       *string
	Email          *string
	Username       *string
	Department     *Department
	Password       *string
	IsActive       *bool
	// ReassignTo receives the clients and events of a collaborator who
	// leaves or changes department.
	ReassignTo *uuid.UUID
}

// Update changes a collaborator (collaborator:update, checked on the route).
func (s *CollaboratorService) Update(ctx context.Context, caller Caller, id uuid.UUID, in UpdateCollaboratorInput, ifMatch IfMatch) (Collaborator, error) {
	var hash *string
	if in.Password != nil {
		h, err := s.Passwords.Hash(*in.Password)
		if err != nil {
			return Collaborator{}, err
		}
		hash = &h
	}
	before, after, err := s.change(ctx, caller, id, in.ReassignTo, ifMatch, func(cur db.Collaborator, _ time.Time) db.Collaborator {
		next := cur
		if in.EmployeeNumber != nil {
			next.EmployeeNumber = int32(*in.EmployeeNumber)
		}
		assign(&next.FirstName, in.FirstName)
		assign(&next.LastName, in.LastName)
		assign(&next.Email, in.Email)
		assign(&next.Username, in.Username)
		if in.Department != nil {
			next.Department = string(*in.Department)
		}
		assign(&next.IsActive, in.IsActive)
		assign(&next.PasswordHash, hash)
		return next
	})
	if err != nil {
		return Collaborator{}, err
	}
	if after.Version != before.Version {
		s.Notifier.Notify("collaborator.updated", caller.ID.String(), after.ID.String())
	}
	return toCollaborator(after), nil
}

// Delete soft-deletes a collaborator (collaborator:delete, on the route).
func (s *CollaboratorService) Delete(ctx context.Context, caller Caller, id uuid.UUID, reassignTo *uuid.UUID, ifMatch IfMatch) error {
	_, deleted, err := s.change(ctx, caller, id, reassignTo, ifMatch, func(cur db.Collaborator, now time.Time) db.Collaborator {
		cur.DeletedAt = &now
		return cur
	})
	if err != nil {
		return err
	}
	s.Notifier.Notify("collaborator.deleted", caller.ID.String(), deleted.ID.String())
	return nil
}

// collaboratorChanges lists the fields an update or a deletion changes;
// a new password shows as a change of "password", never its hash.
func collaboratorChanges(from, to db.Collaborator) Changes {
	ch := Changes{}
	ch.set("employee_number", int(from.EmployeeNumber), int(to.EmployeeNumber))
	ch.set("first_name", from.FirstName, to.FirstName)
	ch.set("last_name", from.LastName, to.LastName)
	ch.set("email", from.Email, to.Email)
	ch.set("username", from.Username, to.Username)
	ch.set("department", from.Department, to.Department)
	ch.set("is_active", from.IsActive, to.IsActive)
	if from.PasswordHash != to.PasswordHash {
		ch["password"] = Change{From: "[redacted]", To: "[redacted]"}
	}
	if from.DeletedAt == nil && to.DeletedAt != nil {
		ch["deleted_at"] = Change{From: nil, To: *to.DeletedAt}
	}
	return ch
}

// change runs an update or a soft delete of a collaborator on the shape
// every update shares, with the rules that guard them: reassign_to naming
// nobody (422), 404, reassign_to of the wrong kind (422, known only with
// the record), self-protection (403), If-Match (412), then the state rules
// (409) inside the transaction.
func (s *CollaboratorService) change(ctx context.Context, caller Caller, uid uuid.UUID, reassignTo *uuid.UUID, ifMatch IfMatch,
	apply func(cur db.Collaborator, now time.Time) db.Collaborator) (before, after db.Collaborator, err error) {
	var managers []uuid.UUID
	var target *db.Collaborator
	removes := func(cur, next db.Collaborator) bool {
		return next.DeletedAt != nil || (!next.IsActive && cur.IsActive) || next.Department != cur.Department
	}
	return updateRecord(ctx, s.Deps, caller, ifMatch, recordUpdate[db.Collaborator]{
		what: "collaborator",
		prepare: func(q *db.Queries) error {
			// Lock the active managers before the record itself, always in
			// the same order, so that two managers removing each other
			// serialise instead of both succeeding.
			var err error
			if managers, err = q.LockActiveManagers(ctx); err != nil {
				return err
			}
			// reassign_to naming nobody is 422, which comes before the
			// path's 404; its row is held until the hand-over commits, so
			// that the colleague cannot leave meanwhile.
			if reassignTo != nil {
				t, err := lockReassignTarget(ctx, q, *reassignTo)
				if err != nil {
					return err
				}
				target = &t
			}
			return nil
		},
		lock: func(q *db.Queries) (db.Collaborator, error) {
			cur, err := q.GetCollaboratorForUpdate(ctx, uid)
			if err == nil && cur.DeletedAt != nil {
				return cur, db.ErrNotFound
			}
			return cur, err
		},
		next: func(cur db.Collaborator, now time.Time) (db.Collaborator, error) {
			if target != nil {
				if err := checkReassignTarget(cur, *target); err != nil {
					return cur, err
				}
			}
			return apply(cur, now), nil
		},
		authorize: func(cur, next db.Collaborator) error {
			if cur.ID == caller.ID && removes(cur, next) {
				return Errorf(CodeForbidden, "You cannot deactivate, delete or change the department of yourself; ask another manager.")
			}
			return nil
		},
		version: func(c db.Collaborator) int32 { return c.Version },
		changes: collaboratorChanges,
		rules: func(q *db.Queries, cur, next db.Collaborator, _ Changes, now time.Time) error {
			if !removes(cur, next) {
				return nil
			}
			if Department(cur.Department) == DepartmentManagement && cur.IsActive && len(managers) <= 1 {
				return Errorf(CodeLastManager, "This is the last active manager; appoint another one first.")
			}
			return s.handOver(ctx, q, &caller, cur.ID, target, now)
		},
		write: func(q *db.Queries, cur, next db.Collaborator, now time.Time) (db.Collaborator, error) {
			p := updateParamsOf(next)
			p.Now = now
			row, err := q.UpdateCollaborator(ctx, p)
			if err != nil {
				return row, err
			}
			// Every request reads the collaborator's state, so
			// deactivation, deletion and a department change apply on the
			// next request by themselves. A new password, a deactivation
			// or a deletion also ends every open session, so that a
			// reactivated collaborator logs in afresh instead of finding
			// old tokens alive again.
			if next.PasswordHash != cur.PasswordHash || !next.IsActive || next.DeletedAt != nil {
				if err := q.RevokeSessionsOfCollaborator(ctx, db.RevokeSessionsOfCollaboratorParams{CollaboratorID: cur.ID, Now: now}); err != nil {
					return row, err
				}
			}
			// Deactivation and deletion also end personal access tokens
			// and the calendar feed for good: reactivation brings none
			// back.
			if !next.IsActive || next.DeletedAt != nil {
				if err := endLongLivedCredentials(ctx, q, caller, cur.ID, now); err != nil {
					return row, err
				}
			}
			return row, nil
		},
		action: func(next db.Collaborator) string {
			if next.DeletedAt != nil {
				return ActionDelete
			}
			return ActionUpdate
		},
		record: func(after db.Collaborator) any { return toCollaborator(after) },
	})
}

func updateParamsOf(c db.Collaborator) db.UpdateCollaboratorParams {
	return db.UpdateCollaboratorParams{
		ID: c.ID, EmployeeNumber: c.EmployeeNumber, FirstName: c.FirstName, LastName: c.LastName,
		Email: c.Email, Username: c.Username, Department: c.Department, PasswordHash: c.PasswordHash,
		IsActive: c.IsActive, DeletedAt: c.DeletedAt,
	}
}

// handOver moves the clients a leaving collaborator owns and the upcoming
// events they support to target, with an audit row per moved record; with
// no target, having any is 409 collaborator-has-dependents.
func (d Deps) handOver(ctx context.Context, q *db.Queries, caller *Caller, from uuid.UUID, target *db.Collaborator, now time.Time) error {
	if target == nil {
		clients, err := q.CountClientsOfCommercial(ctx, from)
		if err != nil {
			return err
		}
		events, err := q.CountUpcomingEventsOfSupport(ctx, db.CountUpcomingEventsOfSupportParams{SupportID: from, Now: now})
		if err != nil {
			return err
		}
		if clients > 0 || events > 0 {
			return Errorf(CodeHasDependents,
				"This collaborator still owns %d client(s) and supports %d upcoming event(s); name reassign_to to hand them over.",
				clients, events)
		}
		return nil
	}
	moved := Changes{"commercial_id": {From: from.String(), To: target.ID.String()}}
	clients, err := q.MoveClients(ctx, db.MoveClientsParams{FromID: from, ToID: target.ID, Now: now})
	if err != nil {
		return err
	}
	for _, id := range clients {
		row, err := q.GetClient(ctx, id)
		if err != nil {
			return err
		}
		if err := d.appendWrite(ctx, q, caller, toClient(row), ActionUpdate, moved, now); err != nil {
			return err
		}
	}
	moved = Changes{"support_id": {From: from.String(), To: target.ID.String()}}
	events, err := q.MoveUpcomingEvents(ctx, db.MoveUpcomingEventsParams{FromID: from, ToID: target.ID, Now: now})
	if err != nil {
		return err
	}
	for _, id := range events {
		row, err := q.GetEvent(ctx, id)
		if err != nil {
			return err
		}
		if err := d.appendWrite(ctx, q, caller, toEvent(row), ActionUpdate, moved, now); err != nil {
			return err
		}
	}
	return nil
}

// lockReassignTarget finds the collaborator reassign_to names and holds
// their row until the transaction ends.
func lockReassignTarget(ctx context.Context, q *db.Queries, id uuid.UUID) (db.Collaborator, error) {
	t, err := q.GetCollaboratorForShare(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return db.Collaborator{}, InvalidField("reassign_to", "names no collaborator")
	}
	return t, err
}

// checkReassignTarget checks that reassign_to is another active
// collaborator of the departing one's department.
func checkReassignTarget(cur, t db.Collaborator) error {
	if t.ID == cur.ID || !t.IsActive || t.DeletedAt != nil || t.Department != cur.Department {
		return InvalidField("reassign_to", "must be another active collaborator of the "+cur.Department+" department")
	}
	return nil
}
