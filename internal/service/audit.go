package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// Change is one field's value before and after a write.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Changes maps field names to their change.
type Changes map[string]Change

// set records a change when the value differs.
func (c Changes) set(field string, from, to any) {
	if from != to {
		c[field] = Change{From: from, To: to}
	}
}

// diff collects the changes of a write. On a creation every field is a
// change from nothing, equal or not.
type diff struct {
	Changes
	creation bool
}

func newDiff(creation bool) diff { return diff{Changes: Changes{}, creation: creation} }

func (d diff) set(field string, from, to any) {
	if d.creation {
		d.Changes[field] = Change{From: nil, To: to}
		return
	}
	d.Changes.set(field, from, to)
}

// Audit actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Record types of the audit trail.
const (
	RecordCollaborator = "collaborator"
	RecordClient       = "client"
	RecordContract     = "contract"
	RecordEvent        = "event"
)

// appendWrite is the one write path's tail: every write that moves a
// record's version ends here, inside its transaction, and appends both its
// audit row and its change (the record as GET shows it now). record is
// the record as the write leaves it: a Collaborator, Client, Contract or
// Event. A nil caller is the system.
func (d Deps) appendWrite(ctx context.Context, q *db.Queries, caller *Caller, record any,
	action string, changes Changes, at time.Time) error {
	recordType, id, version, err := describeRecord(record)
	if err != nil {
		return err
	}
	if err := appendAudit(ctx, q, caller, recordType, id, action, changes, at); err != nil {
		return err
	}
	data, err := d.Render(record)
	if err != nil {
		return fmt.Errorf("render %s for the change feed: %w", recordType, err)
	}
	var actor *uuid.UUID
	var requestID *string
	if caller != nil {
		actor, requestID = &caller.ID, &caller.RequestID
	}
	changeType := changeTypeOf(recordType, action)
	changeID, err := q.AppendChange(ctx, db.AppendChangeParams{
		Type: string(changeType), RecordID: id, Version: version,
		ActorID: actor, RequestID: requestID, Data: data, At: at,
	})
	if err != nil {
		return err
	}
	if err := d.enqueueFanOut(ctx, q, changeID); err != nil {
		return err
	}
	if d.Committed != nil {
		q.AfterCommit(func() { d.Committed(changeType) })
	}
	return nil
}

// describeRecord names a record's type, id and version.
func describeRecord(record any) (string, uuid.UUID, int32, error) {
	switch r := record.(type) {
	case Collaborator:
		return RecordCollaborator, r.ID, r.Version, nil
	case Client:
		return RecordClient, r.ID, r.Version, nil
	case Contract:
		return RecordContract, r.ID, r.Version, nil
	case Event:
		return RecordEvent, r.ID, r.Version, nil
	}
	return "", uuid.Nil, 0, fmt.Errorf("no change type for a %T", record)
}

// appendAudit writes an audit row inside the write's transaction.
func appendAudit(ctx context.Context, q *db.Queries, caller *Caller, recordType string,
	recordID uuid.UUID, action string, changes Changes, at time.Time) error {
	body, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	var actor *uuid.UUID
	requestID := "system"
	if caller != nil {
		actor = &caller.ID
		requestID = caller.RequestID
	}
	return q.CreateAuditEntry(ctx, db.CreateAuditEntryParams{
		RecordType: recordType,
		RecordID:   recordID,
		Action:     action,
		ActorID:    actor,
		Changes:    body,
		RequestID:  requestID,
		At:         at,
	})
}
