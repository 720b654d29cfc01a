package http

import (
	"net/http"
	"time"

	"epicevents/internal/service"
)

type changeJSON struct {
	From any `json:"from"`
	To   any `json:"to"`
}

type auditEntryJSON struct {
	ID        string                `json:"id"`
	Action    string                `json:"action"`
	Actor     *collaboratorRefJSON  `json:"actor"`
	Changes   map[string]changeJSON `json:"changes"`
	RequestID string                `json:"request_id"`
	At        time.Time             `json:"at"`
}

func toAuditEntryJSON(e service.AuditEntry) auditEntryJSON {
	out := auditEntryJSON{ID: e.ID.String(), Action: e.Action, Changes: map[string]changeJSON{},
		RequestID: e.RequestID, At: e.At}
	if e.Actor != nil {
		ref := toCollaboratorRefJSON(*e.Actor)
		out.Actor = &ref
	}
	for field, c := range e.Changes {
		out.Changes[field] = changeJSON{From: c.From, To: c.To}
	}
	return out
}

// history serves the audit trail of one kind of record.
func (s *server) history(recordType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := newQueryReader(r)
		page := q.page()
		page.Unreadable = q.found()
		entries, err := s.cfg.History.History(r.Context(), callerFrom(r.Context()), recordType, pathID(r), page)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeCacheable(w, r, http.StatusOK, newList(entries.Items, entries.NextCursor, toAuditEntryJSON))
	}
}
