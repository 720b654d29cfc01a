package service

import (
	"context"
	"encoding/json"
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
