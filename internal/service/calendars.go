package service

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// The window and size of a calendar feed.
const (
	FeedPast      = 30 * 24 * time.Hour
	FeedMaxEvents = 5000
)

// feedFuture is how far ahead a feed reaches: two years.
func feedUntil(now time.Time) time.Time { return now.AddDate(2, 0, 0) }

// CalendarService manages collaborators' calendar feeds and reads them.
type CalendarService struct {
	Deps
	// BaseURL prefixes feed URLs (PUBLIC_BASE_URL, without a trailing /).
	BaseURL string
}

// NewCalendarService builds the service.
func NewCalendarService(d Deps, baseURL string) *CalendarService {
	return &CalendarService{Deps: d.withDefaults(), BaseURL: baseURL}
}

// CreatedFeed is a new feed: its URL is shown this once.
type CreatedFeed struct {
	URL       string
	CreatedAt time.Time
}

// FeedStatus says whether the caller has a feed.
type FeedStatus struct {
	Active     bool
	CreatedAt  *time.Time
	LastUsedAt *time.Time
}

// feedAudit is what the owner's history shows of their feed.
const feedActive = "active"

// Create gives the caller a new feed URL; an older one dies.
func (s *CalendarService) Create(ctx context.Context, caller Caller) (CreatedFeed, error) {
	if caller.ViaToken() {
		return CreatedFeed{}, errNeedsSession
	}
	now := s.now()
	token := newFeedToken()
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		// Locked, so a deactivation cannot pass between and leave a feed.
		if _, err := q.GetCollaboratorForUpdate(ctx, caller.ID); err != nil {
			return err
		}
		var from any
		if _, err := q.GetCalendarFeed(ctx, caller.ID); err == nil {
			from = feedActive
		} else if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if _, err := q.ReplaceCalendarFeed(ctx, db.ReplaceCalendarFeedParams{
			CollaboratorID: caller.ID, TokenHash: secretDigest(token), Now: now,
		}); err != nil {
			return err
		}
		return appendAudit(ctx, q, &caller, RecordCollaborator, caller.ID, ActionUpdate,
			Changes{"calendar_feed": {From: from, To: feedActive}}, now)
	})
	if err != nil {
		return CreatedFeed{}, fromDB(err)
	}
	return CreatedFeed{URL: s.BaseURL + "/calendar/" + token + ".ics", CreatedAt: now}, nil
}

// Status reports the caller's feed.
func (s *CalendarService) Status(ctx context.Context, caller Caller) (FeedStatus, error) {
	if caller.ViaToken() {
		return FeedStatus{}, errNeedsSession
	}
	row, err := s.Store.GetCalendarFeed(ctx, caller.ID)
	if errors.Is(err, db.ErrNotFound) {
		return FeedStatus{}, nil
	}
	if err != nil {
		return FeedStatus{}, fromDB(err)
	}
	created := row.CreatedAt.UTC()
	st := FeedStatus{Active: true, CreatedAt: &created}
	if row.LastUsedAt != nil {
		u := row.LastUsedAt.UTC()
		st.LastUsedAt = &u
	}
	return st, nil
}

// Delete ends the caller's feed, if any.
func (s *CalendarService) Delete(ctx context.Context, caller Caller) error {
	if caller.ViaToken() {
		return errNeedsSession
	}
	now := s.now()
	return fromDB(s.Store.InTx(ctx, func(q *db.Queries) error {
		n, err := q.DeleteCalendarFeed(ctx, caller.ID)
		if err != nil || n == 0 {
			return err
		}
		return appendAudit(ctx, q, &caller, RecordCollaborator, caller.ID, ActionUpdate,
			Changes{"calendar_feed": {From: feedActive, To: nil}}, now)
	}))
}

// Feed is what a feed URL shows: its owner's events, soonest first.
type Feed struct {
	OwnerID uuid.UUID
	Events  []Event
	// Cut is set when more events fell in the window than a feed holds.
	Cut bool
	// From and Until bound the window of start times.
	From, Until time.Time
}

var errNoFeed = Errorf(CodeNotFound, "No calendar feed has this address.")

// Open reads the feed a URL token names: an unknown, replaced or ended
// one is 404. Every opening (GET, HEAD, a 304) moves last_used_at, at
// most once a minute.
func (s *CalendarService) Open(ctx context.Context, token string) (Feed, error) {
	if !wellFormedFeedToken(token) {
		return Feed{}, errNoFeed
	}
	now := s.now()
	row, err := s.Store.OpenCalendarFeed(ctx, secretDigest(token))
	if errors.Is(err, db.ErrNotFound) {
		return Feed{}, errNoFeed
	}
	if err != nil {
		return Feed{}, fromDB(err)
	}
	if stale, due := touchDue(row.LastUsedAt, now); due {
		if err := s.Store.TouchCalendarFeed(ctx, db.TouchCalendarFeedParams{
			Now: now, CollaboratorID: row.CollaboratorID, UsedBefore: &stale,
		}); err != nil {
			return Feed{}, fromDB(err)
		}
	}
	has := func(p Permission) bool { return slices.Contains(row.Permissions, string(p)) }
	owner := row.CollaboratorID
	f := Feed{OwnerID: owner, From: now.Add(-FeedPast), Until: feedUntil(now)}
	rows, err := s.Store.CalendarEvents(ctx, db.CalendarEventsParams{
		StartsFrom: f.From, StartsUntil: f.Until,
		EveryEvent: has(PermEventUpdate), Assigned: has(PermEventUpdateAssign), OwnClients: has(PermClientUpdateOwn),
		CollaboratorID: &owner, RowLimit: FeedMaxEvents + 1,
	})
	if err != nil {
		return Feed{}, fromDB(err)
	}
	if len(rows) > FeedMaxEvents {
		rows, f.Cut = rows[:FeedMaxEvents], true
	}
	f.Events = make([]Event, len(rows))
	for i, r := range rows {
		f.Events[i] = toEvent(r)
	}
	return f, nil
}
