package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// Event is what a signed contract pays for.
type Event struct {
	ID         uuid.UUID
	Name       string
	ContractID uuid.UUID
	Client     ClientRef
	// Support is nil until management assigns one.
	Support   *CollaboratorRef
	StartAt   time.Time
	EndAt     time.Time
	Timezone  string
	Location  string
	Attendees int
	Notes     string
	Version   int32
	CreatedAt time.Time
	UpdatedAt time.Time
}

func toEvent(r db.EventDetail) Event {
	e := Event{
		ID: r.ID, Name: r.Name, ContractID: r.ContractID,
		Client:  ClientRef{ID: r.ClientID, FullName: r.ClientFullName, Email: r.ClientEmail, Phone: r.ClientPhone},
		StartAt: r.StartAt.UTC(), EndAt: r.EndAt.UTC(), Timezone: r.Timezone, Location: r.Location,
		Attendees: int(r.Attendees), Notes: r.Notes,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.SupportID != nil {
		e.Support = &CollaboratorRef{ID: *r.SupportID, FullName: r.SupportFullName}
	}
	return e
}

// EventService manages events.
type EventService struct {
	Deps
}

// NewEventService builds the service.
func NewEventService(d Deps) *EventService {
	return &EventService{Deps: d.withDefaults()}
}

// CreateEventInput is a new event, its values parsed.
type CreateEventInput struct {
	ContractID uuid.UUID
	Name       string
	StartAt    time.Time
	EndAt      time.Time
	Location   string
	Attendees  int
	Timezone   string
	Notes      string
}

// Create adds an event for a signed contract of one of the caller's
// clients (event:create_own, on the route): 422, then 403 for another's
// client, then 409 for an unsigned contract.
func (s *EventService) Create(ctx context.Context, caller Caller, in CreateEventInput) (Event, error) {
	now := s.now()
	start, end := in.StartAt, in.EndAt
	var fields []FieldError
	if !start.After(now) {
		fields = append(fields, FieldError{Field: "start_at", Message: "must be in the future"})
	}
	if !end.After(start) {
		fields = append(fields, FieldError{Field: "end_at", Message: "must be after start_at"})
	}
	if len(fields) > 0 {
		return Event{}, Invalid(fields...)
	}
	timezone := in.Timezone
	if timezone == "" {
		timezone = DefaultTimezone
	}
	var out Event
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		contract, err := inOneTrip(ctx, q,
			func(q *db.Queries) error { return q.LockClientOfContract(ctx, in.ContractID) },
			func(q *db.Queries) (db.ContractDetail, error) { return q.GetContract(ctx, in.ContractID) })
		if errors.Is(err, db.ErrNotFound) {
			return InvalidField("contract_id", "names no contract")
		}
		if err != nil {
			return err
		}
		if !caller.Can(PermEventCreateOwn) || contract.CommercialID != caller.ID {
			return Errorf(CodeForbidden, "Only the client's own commercial may create its events.")
		}
		if !contract.Signed {
			return Errorf(CodeContractNotSigned, "An event needs a signed contract.")
		}
		id := uuid.New()
		row, err := inOneTrip(ctx, q,
			func(q *db.Queries) error {
				return q.CreateEvent(ctx, db.CreateEventParams{
					ID: id, ContractID: contract.ID, Name: in.Name, StartAt: start, EndAt: end, Timezone: timezone,
					Location: in.Location, Attendees: int32(in.Attendees), Notes: in.Notes, Now: now,
				})
			},
			func(q *db.Queries) (db.EventDetail, error) { return q.GetEvent(ctx, id) })
		if err != nil {
			return err
		}
		out = toEvent(row)
		return s.appendWrite(ctx, q, &caller, out, ActionCreate, eventChanges(Event{}, out, true), now)
	})
	return out, fromDB(err)
}

func eventChanges(from, to Event, creation bool) Changes {
	ch := newDiff(creation)
	if creation {
		ch.set("contract_id", nil, to.ContractID.String())
	}
	ch.set("name", from.Name, to.Name)
	ch.set("start_at", formatInstant(from.StartAt), formatInstant(to.StartAt))
	ch.set("end_at", formatInstant(from.EndAt), formatInstant(to.EndAt))
	ch.set("timezone", from.Timezone, to.Timezone)
	ch.set("location", from.Location, to.Location)
	ch.set("attendees", from.Attendees, to.Attendees)
	ch.set("notes", from.Notes, to.Notes)
	if !creation || to.Support != nil {
		ch.set("support_id", supportID(from), supportID(to))
	}
	return ch.Changes
}

func supportID(e Event) any {
	if e.Support == nil {
		return nil
	}
	return e.Support.ID.String()
}

// Get returns an event.
func (s *EventService) Get(ctx context.Context, _ Caller, id uuid.UUID) (Event, error) {
	return getRecord(ctx, "event", id, s.Store.GetEvent, toEvent)
}

// UpdateEventInput changes some fields of an event; nil means unchanged.
// SupportIDSet tells a support_id of null (unassign) from an absent one.
type UpdateEventInput struct {
	Name         *string
	StartAt      *time.Time
	EndAt        *time.Time
	Location     *string
	Attendees    *int
	Timezone     *string
	Notes        *string
	SupportIDSet bool
	SupportID    *uuid.UUID
}

func (in UpdateEventInput) hasDetails() bool {
	return in.Name != nil || in.StartAt != nil || in.EndAt != nil || in.Location != nil ||
		in.Attendees != nil || in.Timezone != nil || in.Notes != nil
}

// Update changes an event. Details need event:update, or
// event:update_assigned on an event the caller supports and that has not
// ended; support_id needs event:assign_support. Order: 422, 404, 403, 412,
// 409.
func (s *EventService) Update(ctx context.Context, caller Caller, uid uuid.UUID, in UpdateEventInput, ifMatch IfMatch) (Event, error) {
	if in.StartAt != nil && in.EndAt != nil && !in.EndAt.After(*in.StartAt) {
		return Event{}, InvalidField("end_at", "must be after start_at")
	}
	_, out, err := updateRecord(ctx, s.Deps, caller, ifMatch, recordUpdate[Event]{
		what: "event",
		prepare: func(q *db.Queries) error {
			if in.SupportID == nil {
				return nil
			}
			return requireActiveMember(ctx, q, *in.SupportID, "support_id", DepartmentSupport)
		},
		lock: func(q *db.Queries) (Event, error) {
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error { _, err := q.LockEvent(ctx, uid); return err },
				func(q *db.Queries) (db.EventDetail, error) { return q.GetEvent(ctx, uid) })
			return convert(row, err, toEvent)
		},
		next: func(cur Event, _ time.Time) (Event, error) {
			next := cur
			assign(&next.Name, in.Name)
			assign(&next.Location, in.Location)
			assign(&next.Attendees, in.Attendees)
			assign(&next.Timezone, in.Timezone)
			assign(&next.Notes, in.Notes)
			assign(&next.StartAt, in.StartAt)
			assign(&next.EndAt, in.EndAt)
			if !next.EndAt.After(next.StartAt) {
				field := "end_at"
				if in.EndAt == nil {
					field = "start_at"
				}
				return next, InvalidField(field, "end_at must be after start_at")
			}
			if in.SupportIDSet {
				next.Support = nil
				if in.SupportID != nil {
					next.Support = &CollaboratorRef{ID: *in.SupportID}
				}
			}
			return next, nil
		},
		authorize: func(cur, _ Event) error {
			assigned := caller.Can(PermEventUpdateAssign) && cur.Support != nil && cur.Support.ID == caller.ID
			switch {
			case in.hasDetails() && !caller.Can(PermEventUpdate) && !assigned:
				return Errorf(CodeForbidden, "Only management or the event's own support may change its details.")
			case in.SupportIDSet && !caller.Can(PermEventAssignSupport):
				return Errorf(CodeForbidden, "Only management may assign an event's support (support_id).")
			case !caller.CanAny(PermEventUpdate, PermEventAssignSupport) && !assigned:
				return Errorf(CodeForbidden, "Only management or the event's own support may change it.")
			}
			return nil
		},
		version: func(e Event) int32 { return e.Version },
		changes: func(from, to Event) Changes { return eventChanges(from, to, false) },
		rules: func(_ *db.Queries, cur, _ Event, ch Changes, now time.Time) error {
			_, supportChanged := ch["support_id"]
			detailsChanged := len(ch) > 1 || !supportChanged
			if detailsChanged && !caller.Can(PermEventUpdate) && !cur.EndAt.After(now) {
				return Errorf(CodeEventFinished, "This event has ended; only management may still change it.")
			}
			return nil
		},
		write: func(q *db.Queries, _, next Event, now time.Time) (Event, error) {
			var support *uuid.UUID
			if next.Support != nil {
				support = &next.Support.ID
			}
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error {
					return q.UpdateEvent(ctx, db.UpdateEventParams{
						ID: uid, Name: next.Name, SupportID: support, StartAt: next.StartAt, EndAt: next.EndAt,
						Timezone: next.Timezone, Location: next.Location, Attendees: int32(next.Attendees),
						Notes: next.Notes, Now: now,
					})
				},
				func(q *db.Queries) (db.EventDetail, error) { return q.GetEvent(ctx, uid) })
			return convert(row, err, toEvent)
		},
	})
	return out, err
}

// ListEventsInput filters and pages the event list. Support is "me",
// "none" or an id; StartsAfter and StartsBefore bound start_at to
// [after, before).
type ListEventsInput struct {
	PageInput
	ContractID   *uuid.UUID
	ClientID     *uuid.UUID
	Commercial   *uuid.UUID
	Support      CollaboratorFilter
	StartsAfter  *time.Time
	StartsBefore *time.Time
}

// Sorts of the event list, the default first.
var eventSorts = []string{"start_at", "-start_at"}

// List pages through events.
func (s *EventService) List(ctx context.Context, _ Caller, in ListEventsInput) (Page[Event], error) {
	contractID, clientID, commercial := in.ContractID, in.ClientID, in.Commercial
	withoutSupport, support := in.Support.None, in.Support.ID
	lq, err := newListQuery("events", in.PageInput, eventSorts, idString(contractID), idString(clientID),
		idString(commercial), in.Support.key(), timeString(in.StartsAfter), timeString(in.StartsBefore))
	if err != nil {
		return Page[Event]{}, err
	}
	after, err := afterInstant(lq)
	if err != nil {
		return Page[Event]{}, err
	}
	var afterID uuid.UUID
	if lq.after != nil {
		afterID = lq.after.ID
	}
	var rows []db.EventDetail
	if lq.sort == "start_at" {
		rows, err = s.Store.ListEventsByStart(ctx, db.ListEventsByStartParams{
			ContractID: contractID, ClientID: clientID, CommercialID: commercial,
			WithoutSupport: withoutSupport, SupportID: support,
			StartsAfter: in.StartsAfter, StartsBefore: in.StartsBefore,
			AfterStartAt: after, AfterID: afterID, RowLimit: lq.fetchLimit()})
	} else {
		rows, err = s.Store.ListEventsByStartDesc(ctx, db.ListEventsByStartDescParams{
			ContractID: contractID, ClientID: clientID, CommercialID: commercial,
			WithoutSupport: withoutSupport, SupportID: support,
			StartsAfter: in.StartsAfter, StartsBefore: in.StartsBefore,
			AfterStartAt: after, AfterID: afterID, RowLimit: lq.fetchLimit()})
	}
	if err != nil {
		return Page[Event]{}, fromDB(err)
	}
	return paginate(lq, rows, toEvent, func(r db.EventDetail) (string, uuid.UUID) {
		return formatInstant(r.StartAt), r.ID
	}), nil
}
