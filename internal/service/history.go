package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// AuditEntry is one write in a record's history.
type AuditEntry struct {
	ID     uuid.UUID
	Action string
	// Actor is nil for writes made by the system (the first manager).
	Actor     *CollaboratorRef
	Changes   Changes
	RequestID string
	At        time.Time
	seq       int64 // the write order, for paging
}

// HistoryService reads the audit trail (audit:read, on the route).
type HistoryService struct {
	Deps
}

// NewHistoryService builds the service.
func NewHistoryService(d Deps) *HistoryService {
	return &HistoryService{Deps: d.withDefaults()}
}

// historySorts: newest first is the only order.
var historySorts = []string{"-at"}

// History pages through the audit entries of one record, newest first. A
// record that does not exist is 404 (a deleted collaborator still exists).
func (s *HistoryService) History(ctx context.Context, _ Caller, recordType string, uid uuid.UUID, in PageInput) (Page[AuditEntry], error) {
	lq, err := newListQuery("history", in, historySorts, recordType, uid.String())
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	if uid == uuid.Nil {
		return Page[AuditEntry]{}, errNotFound(recordType)
	}
	if err := s.exists(ctx, recordType, uid); err != nil {
		return Page[AuditEntry]{}, err
	}
	var afterSeq *int64
	if lq.after != nil {
		seq, err := strconv.ParseInt(lq.after.Key, 10, 64)
		if err != nil {
			return Page[AuditEntry]{}, errBadCursor
		}
		afterSeq = &seq
	}
	rows, err := s.Store.ListAuditEntries(ctx, db.ListAuditEntriesParams{
		RecordType: recordType, RecordID: uid, AfterSeq: afterSeq, RowLimit: lq.fetchLimit(),
	})
	if err != nil {
		return Page[AuditEntry]{}, fromDB(err)
	}
	entries := make([]AuditEntry, 0, len(rows))
	for _, r := range rows {
		e := AuditEntry{ID: r.ID, seq: r.Seq, Action: r.Action, RequestID: r.RequestID, At: r.At.UTC(), Changes: Changes{}}
		if r.ActorID != nil {
			e.Actor = &CollaboratorRef{ID: *r.ActorID, FullName: r.ActorFullName}
		}
		dec := json.NewDecoder(bytes.NewReader(r.Changes))
		dec.UseNumber()
		if err := dec.Decode(&e.Changes); err != nil {
			return Page[AuditEntry]{}, err
		}
		entries = append(entries, e)
	}
	return paginate(lq, entries, func(e AuditEntry) AuditEntry { return e }, func(e AuditEntry) (string, uuid.UUID) {
		return strconv.FormatInt(e.seq, 10), e.ID
	}), nil
}

func (s *HistoryService) exists(ctx context.Context, recordType string, id uuid.UUID) error {
	var err error
	switch recordType {
	case RecordCollaborator:
		_, err = s.Store.GetCollaborator(ctx, id)
	case RecordClient:
		_, err = s.Store.GetClient(ctx, id)
	case RecordContract:
		_, err = s.Store.GetContract(ctx, id)
	case RecordEvent:
		_, err = s.Store.GetEvent(ctx, id)
	case RecordWebhook:
		_, err = s.Store.GetWebhook(ctx, id)
	default:
		return errNotFound("record")
	}
	if errors.Is(err, db.ErrNotFound) {
		return errNotFound(recordType)
	}
	return fromDB(err)
}
