package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"epicevents/internal/service"
)

// RenderRecord renders a record exactly as its GET answers it (without the
// final newline). The services are given it at wiring time and store its
// bytes in each change, so the feed's data and GET cannot drift apart: both
// go through the DTO functions below.
func RenderRecord(record any) ([]byte, error) {
	var v any
	switch r := record.(type) {
	case service.Collaborator:
		v = toCollaboratorJSON(r)
	case service.Client:
		v = toClientJSON(r)
	case service.Contract:
		v = toContractJSON(r)
	case service.Event:
		v = toEventJSON(r)
	default:
		return nil, fmt.Errorf("no rendering for a %T", record)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as writeJSON
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type feedChangeJSON struct {
	ID        string               `json:"id"`
	Type      string               `json:"type"`
	RecordID  string               `json:"record_id"`
	Version   int32                `json:"version"`
	At        time.Time            `json:"at"`
	Actor     *collaboratorRefJSON `json:"actor"`
	RequestID *string              `json:"request_id"`
	Data      json.RawMessage      `json:"data"`
}

func toFeedChangeJSON(c service.FeedChange) feedChangeJSON {
	out := feedChangeJSON{ID: c.ID.String(), Type: string(c.Type), RecordID: c.RecordID.String(),
		Version: c.Version, At: c.At, RequestID: c.RequestID, Data: c.Data}
	if c.Actor != nil {
		ref := toCollaboratorRefJSON(*c.Actor)
		out.Actor = &ref
	}
	return out
}

type changePageJSON struct {
	Data       []feedChangeJSON `json:"data"`
	NextCursor string           `json:"next_cursor"`
}

// heldRequest tells the requests that may outlive REQUEST_TIMEOUT: a long
// poll of the feed and its stream. Each of their reads still has the
// timeout (service.FeedConfig.StatementTimeout). HEAD never waits.
func heldRequest(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch r.URL.Path {
	case "/v1/changes/stream":
		return true
	case "/v1/changes":
		wait := r.URL.Query().Get("wait")
		return wait != "" && wait != "0"
	}
	return false
}

// holdOpen lifts the server's write deadline for a held answer.
func holdOpen(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// readFeedQuery reads the feed's parameters; stream has no limit and no
// wait.
func readFeedQuery(r *http.Request, stream bool) service.ListChangesInput {
	q := newQueryReader(r, "types", "wait")
	q.refuse("sort")
	if stream {
		q.refuse("limit")
		q.refuse("wait")
	}
	in := service.ListChangesInput{Cursor: q.values.Get("cursor")}
	in.Limit = or(optional(q.p, "limit", q.raw("limit"), intBetween(1, service.MaxChangeLimit)), 0)
	wait := or(optional(q.p, "wait", q.raw("wait"), intBetween(0, int(service.MaxChangeWait/time.Second))), 0)
	if r.Method == http.MethodGet {
		in.Wait = time.Duration(wait) * time.Second
	}
	if types := optional(q.p, "types", q.raw("types"), parseChangeTypes); types != nil {
		in.Types = *types
	}
	in.Unreadable = q.found()
	return in
}

func intBetween(lo, hi int) func(string) (int, error) {
	return func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi || strconv.Itoa(n) != s {
			return 0, errMessage(fmt.Sprintf("must be an integer between %d and %d", lo, hi))
		}
		return n, nil
	}
}

// parseChangeTypes reads "a,b,c": each one of the nine, none empty, none
// twice.
func parseChangeTypes(s string) ([]service.ChangeType, error) {
	var out []service.ChangeType
	seen := map[service.ChangeType]bool{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			return nil, errMessage("must list change types separated by commas, none empty")
		}
		t, err := service.ParseChangeType(part)
		if err != nil {
			return nil, errMessage(fmt.Sprintf("%q is not a change type", part))
		}
		if seen[t] {
			return nil, errMessage(fmt.Sprintf("names %s twice", t))
		}
		seen[t] = true
		out = append(out, t)
	}
	return out, nil
}

func (s *server) listChanges(w http.ResponseWriter, r *http.Request) {
	in := readFeedQuery(r, false)
	if in.Wait > 0 {
		holdOpen(w)
	}
	page, err := s.cfg.Feed.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := changePageJSON{Data: make([]feedChangeJSON, 0, len(page.Changes)), NextCursor: page.NextCursor}
	for _, c := range page.Changes {
		body.Data = append(body.Data, toFeedChangeJSON(c))
	}
	writeCacheable(w, r, http.StatusOK, body)
}

func (s *server) changesHead(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r)
	q.refuse("limit")
	q.refuse("cursor")
	q.refuse("sort")
	if err := q.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	cursor, err := s.cfg.Feed.Head(r.Context(), callerFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"cursor": cursor})
}

// streamChanges sends the feed as server-sent events: each change as an
// event whose id is the cursor after it, a comment every keepalive
// interval, and the credential checked again at each comment.
func (s *server) streamChanges(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller := callerFrom(ctx)
	in := readFeedQuery(r, true)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		in.Cursor = id
	}
	in.Limit = service.MaxChangeLimit
	// Taken before each read, so that a change committed just after it
	// still wakes the stream.
	changed := s.cfg.Feed.Changed()
	// Errors (400, 422, 410) are answered as problems, before the stream.
	page, err := s.cfg.Feed.Read(ctx, caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	release, err := s.cfg.Feed.Hold()
	if err != nil {
		h.Del("Content-Type")
		s.writeError(w, r, err)
		return
	}
	defer release()
	holdOpen(w)
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	token, _ := bearerToken(r)
	keepalive := time.NewTicker(s.cfg.FeedKeepalive)
	defer keepalive.Stop()
	for {
		for _, c := range page.Changes {
			if err := writeEvent(w, c); err != nil {
				return
			}
		}
		in.Cursor = page.NextCursor
		if err := rc.Flush(); err != nil {
			return
		}
		if len(page.Changes) == 0 {
			select {
			case <-changed:
			case <-keepalive.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
					return
				}
				// A revoked session, an expired token or a lost
				// permission ends the stream.
				if caller, err = s.checkCredential(ctx, token, requestInfoFrom(ctx).id); err != nil ||
					!caller.Can(service.PermChangeRead) {
					return
				}
			case <-s.cfg.Feed.Draining():
				return
			case <-ctx.Done():
				return
			}
		}
		changed = s.cfg.Feed.Changed()
		if page, err = s.cfg.Feed.Read(ctx, caller, in); err != nil {
			// The client reconnects with its last id and hears why.
			if service.ErrorCode(err) == service.CodeInternal {
				requestInfoFrom(ctx).err = err
			}
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, c service.FeedChange) error {
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false) // data as GET sent it
	if err := enc.Encode(toFeedChangeJSON(c)); err != nil {
		return err
	}
	// The encoder's one line (JSON escapes every newline in strings).
	_, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n", c.Cursor, c.Type, data.Bytes())
	return err
}
