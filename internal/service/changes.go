package service

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// ChangeType names what a change did to which kind of record.
type ChangeType string

// The nine change types of the feed.
const (
	ChangeCollaboratorCreated ChangeType = "collaborator.created"
	ChangeCollaboratorUpdated ChangeType = "collaborator.updated"
	ChangeCollaboratorDeleted ChangeType = "collaborator.deleted"
	ChangeClientCreated       ChangeType = "client.created"
	ChangeClientUpdated       ChangeType = "client.updated"
	ChangeContractCreated     ChangeType = "contract.created"
	ChangeContractUpdated     ChangeType = "contract.updated"
	ChangeEventCreated        ChangeType = "event.created"
	ChangeEventUpdated        ChangeType = "event.updated"
)

// ChangeTypes lists the nine types, in the contract's order.
var ChangeTypes = []ChangeType{
	ChangeCollaboratorCreated, ChangeCollaboratorUpdated, ChangeCollaboratorDeleted,
	ChangeClientCreated, ChangeClientUpdated, ChangeContractCreated, ChangeContractUpdated,
	ChangeEventCreated, ChangeEventUpdated,
}

// ParseChangeType reads one of the nine types.
func ParseChangeType(s string) (ChangeType, error) {
	for _, t := range ChangeTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", errors.New("must be one of the change types")
}

func changeTypeOf(recordType, action string) ChangeType {
	switch action {
	case ActionCreate:
		return ChangeType(recordType + ".created")
	case ActionDelete:
		return ChangeType(recordType + ".deleted")
	}
	return ChangeType(recordType + ".updated")
}

// FeedChange is one committed write, as the feed shows it.
type FeedChange struct {
	ID       uuid.UUID
	Type     ChangeType
	RecordID uuid.UUID
	Version  int32
	At       time.Time
	// Actor and RequestID are nil unless the reader may read the audit
	// trail; Actor is nil for the system too.
	Actor     *CollaboratorRef
	RequestID *string
	// Data is the record's body as GET returned it at this version.
	Data []byte
	// Cursor is the position right after this change.
	Cursor string
}

// ChangePage is one answer of the feed. NextCursor is never empty.
type ChangePage struct {
	Changes    []FeedChange
	NextCursor string
}

// Feed limits.
const (
	DefaultChangeLimit = 100
	MaxChangeLimit     = 1000
	MaxChangeWait      = 30 * time.Second
	// maxChangePageBytes bounds a page: the data of its changes plus a
	// generous bound for each envelope stays below 1 MiB.
	maxChangePageBytes = 1 << 20
	changeEnvelopeMax  = 2 << 10
)

// ListChangesInput reads the feed. Its values have passed the edge's
// parsers (limit 1–1000, types from the nine, wait 0–30 s); Unreadable
// names what did not.
type ListChangesInput struct {
	Unreadable
	// Cursor is "" to start at the oldest change kept.
	Cursor string
	// Limit is 0 for the default.
	Limit int
	// Types is nil for every type.
	Types []ChangeType
	// Wait holds the request while no matching change follows the cursor.
	Wait time.Duration
}

// Wakeup tells held readers that changes may have committed: Changed
// returns a channel closed at the next notification (or reconnection).
type Wakeup interface {
	Changed() <-chan struct{}
}

// FeedConfig tunes the change feed.
type FeedConfig struct {
	// Retention is how long changes are kept (CHANGES_RETENTION).
	Retention time.Duration
	// MaxWaiters bounds the held requests of this process.
	MaxWaiters int
	// StatementTimeout bounds each read of a held request, which is itself
	// exempt from the request timeout.
	StatementTimeout time.Duration
	// Wakeup wakes held readers; without it they poll once a second.
	Wakeup Wakeup
}

// FeedService reads the change feed (change:read, on the route).
type FeedService struct {
	Deps
	cfg     FeedConfig
	waiters atomic.Int64
	// draining is closed when the process stops: held reads answer at once.
	draining  chan struct{}
	drainOnce sync.Once
}

// NewFeedService builds the service.
func NewFeedService(d Deps, cfg FeedConfig) *FeedService {
	if cfg.Retention <= 0 {
		cfg.Retention = 840 * time.Hour
	}
	if cfg.MaxWaiters <= 0 {
		cfg.MaxWaiters = 1000
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	return &FeedService{Deps: d.withDefaults(), cfg: cfg, draining: make(chan struct{})}
}

// Waiters is the number of requests held now.
func (s *FeedService) Waiters() int64 { return s.waiters.Load() }

// Drain ends every held request (SIGTERM): long polls answer at once and
// streams end; later ones do not wait.
func (s *FeedService) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// Draining is closed once Drain has been called.
func (s *FeedService) Draining() <-chan struct{} { return s.draining }

// Hold counts a held request against MaxWaiters; release it when done.
// Beyond the limit the answer is 503 with Retry-After.
func (s *FeedService) Hold() (release func(), err error) {
	if s.waiters.Add(1) > int64(s.cfg.MaxWaiters) {
		s.waiters.Add(-1)
		return nil, &Error{Code: CodeUnavailable, RetryAfter: 5 * time.Second,
			Detail: "This server holds as many waiting readers as it may; try again shortly."}
	}
	var once sync.Once
	return func() { once.Do(func() { s.waiters.Add(-1) }) }, nil
}

// Changed is the channel that closes when changes may have committed.
func (s *FeedService) Changed() <-chan struct{} {
	if s.cfg.Wakeup != nil {
		return s.cfg.Wakeup.Changed()
	}
	ch := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(ch) })
	return ch
}

// cursors are opaque: "p" and the position, base64url.
func encodeChangeCursor(position int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("p" + strconv.FormatInt(position, 10)))
}

var errBadChangeCursor = Errorf(CodeMalformedRequest, "The cursor is not one the change feed gave out.")

func decodeChangeCursor(s string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(raw), "p") {
		return 0, errBadChangeCursor
	}
	digits := string(raw[1:])
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != digits {
		return 0, errBadChangeCursor
	}
	return n, nil
}

var errCursorExpired = Errorf(CodeCursorExpired,
	"Changes after this cursor are no longer kept (or it is past the end): take GET /v1/changes/head, download the lists again and follow from there.")

// Head is the position at the end of the feed now.
func (s *FeedService) Head(ctx context.Context, _ Caller) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StatementTimeout)
	defer cancel()
	b, err := s.Store.ChangeFeedBounds(ctx)
	if err != nil {
		return "", fromDB(err)
	}
	return encodeChangeCursor(b.Head), nil
}

// List answers one page of the feed after the cursor, holding the request
// up to in.Wait while nothing matches. Errors come in the contract's
// order: a garbled cursor (400), invalid parameters (422), an expired
// cursor (410).
func (s *FeedService) List(ctx context.Context, caller Caller, in ListChangesInput) (ChangePage, error) {
	after, err := s.validate(in)
	if err != nil {
		return ChangePage{}, err
	}
	page, err := s.read(ctx, caller, after, in)
	if err != nil || len(page.Changes) > 0 || in.Wait <= 0 {
		return page, err
	}
	release, err := s.Hold()
	if err != nil {
		return ChangePage{}, err
	}
	defer release()
	timer := time.NewTimer(in.Wait)
	defer timer.Stop()
	for {
		// Taken before the read: a change that commits after the read
		// still wakes us.
		changed := s.Changed()
		if page, err = s.read(ctx, caller, after, in); err != nil || len(page.Changes) > 0 {
			return page, err
		}
		// Skipped changes move the cursor on; so does the next read.
		if after, err = decodeChangeCursor(page.NextCursor); err != nil {
			return page, err
		}
		in.Cursor = page.NextCursor
		select {
		case <-changed:
		case <-timer.C:
			return page, nil
		case <-s.draining:
			return page, nil
		case <-ctx.Done():
			return page, ctx.Err()
		}
	}
}

func (s *FeedService) validate(in ListChangesInput) (int64, error) {
	var after int64 = -1
	if in.Cursor != "" {
		var err error
		if after, err = decodeChangeCursor(in.Cursor); err != nil {
			return 0, err
		}
	}
	if len(in.Unreadable.Fields) > 0 {
		return 0, Invalid(in.Unreadable.Fields...)
	}
	return after, nil
}

// Read answers one page without waiting (for the stream, which waits by
// itself).
func (s *FeedService) Read(ctx context.Context, caller Caller, in ListChangesInput) (ChangePage, error) {
	after, err := s.validate(in)
	if err != nil {
		return ChangePage{}, err
	}
	return s.read(ctx, caller, after, in)
}

// read takes one page in one snapshot: the bounds it checks the cursor
// against and the rows it returns agree. after is -1 without a cursor.
func (s *FeedService) read(ctx context.Context, caller Caller, after int64, in ListChangesInput) (ChangePage, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StatementTimeout)
	defer cancel()
	limit := in.Limit
	if limit == 0 {
		limit = DefaultChangeLimit
	}
	var types []string
	if in.Types != nil {
		types = Strings(in.Types)
	}
	var page ChangePage
	err := s.Store.InSnapshot(ctx, func(q *db.Queries) error {
		b, err := q.ChangeFeedBounds(ctx)
		if err != nil {
			return err
		}
		switch {
		case after < 0:
			after = b.PrunedThrough
		case after < b.PrunedThrough || after > b.Head:
			return errCursorExpired
		}
		rows, err := q.ListChanges(ctx, db.ListChangesParams{After: after, Types: types, RowLimit: int32(limit)})
		if err != nil {
			return err
		}
		seeAudit := caller.Can(PermAuditRead)
		size := 0
		page.Changes = make([]FeedChange, 0, len(rows))
		for _, r := range rows {
			size += len(r.Data) + changeEnvelopeMax
			if size > maxChangePageBytes && len(page.Changes) > 0 {
				break
			}
			page.Changes = append(page.Changes, toChange(r, seeAudit))
		}
		switch {
		case len(page.Changes) < len(rows) || len(rows) == limit:
			// Cut by size or by limit: more may follow the last one.
			page.NextCursor = page.Changes[len(page.Changes)-1].Cursor
		default:
			// Every change up to the head was examined, skipped ones too.
			page.NextCursor = encodeChangeCursor(max(after, b.Head))
		}
		return nil
	})
	if err != nil {
		return ChangePage{}, fromDB(err)
	}
	return page, nil
}

func toChange(r db.ListChangesRow, seeAudit bool) FeedChange {
	c := FeedChange{
		ID: r.ID, Type: ChangeType(r.Type), RecordID: r.RecordID, Version: r.Version, At: r.At.UTC(),
		Data: r.Data, Cursor: encodeChangeCursor(r.Position),
	}
	if seeAudit {
		c.RequestID = r.RequestID
		if r.ActorID != nil {
			c.Actor = &CollaboratorRef{ID: *r.ActorID, FullName: r.ActorFullName}
		}
	}
	return c
}

// pruneBatch bounds the changes one pruning statement removes.
const pruneBatch = 5000

// Prune removes the changes older than the retention, a prefix of
// positions at a time; readers whose cursor falls before what was removed
// get 410 cursor-expired. (A change written under a clock behind another
// replica's may go with an older neighbour a little early.)
func (s *FeedService) Prune(ctx context.Context) (int64, error) {
	before := s.now().Add(-s.cfg.Retention)
	var total int64
	for {
		r, err := s.Store.PruneChanges(ctx, db.PruneChangesParams{Before: before, Batch: pruneBatch})
		if err != nil {
			return total, fromDB(err)
		}
		total += r.Pruned
		if r.Pruned < pruneBatch {
			return total, nil
		}
	}
}
