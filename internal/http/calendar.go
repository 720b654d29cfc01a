package http

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"epicevents/internal/ical"
	"epicevents/internal/service"
)

type createdFeedJSON struct {
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

type feedStatusJSON struct {
	Active     bool       `json:"active"`
	CreatedAt  *time.Time `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *server) createCalendar(w http.ResponseWriter, r *http.Request) {
	f, err := s.cfg.Calendars.Create(r.Context(), callerFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/me/calendar")
	writeJSON(w, r, http.StatusCreated, createdFeedJSON{URL: f.URL, CreatedAt: f.CreatedAt})
}

func (s *server) calendarStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Calendars.Status(r.Context(), callerFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, feedStatusJSON(st))
}

func (s *server) deleteCalendar(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Calendars.Delete(r.Context(), callerFrom(r.Context())); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// calendarFeed serves a feed URL. The weak ETag is a digest of every value
// the body shows, computed from the rows before the body is written, so a
// calendar app's If-None-Match gets a 304 without the body being made.
func (s *server) calendarFeed(w http.ResponseWriter, r *http.Request) {
	feed, err := s.cfg.Calendars.Open(r.Context(), chi.URLParam(r, "token"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	requestInfoFrom(r.Context()).collaboratorID = feed.OwnerID.String()
	descriptions := eventDescriptions(feed.Events)
	tag := feedETag(feed, descriptions)
	h := w.Header()
	h.Set("ETag", tag)
	// Private: the URL is a secret, so no shared cache may keep the body;
	// apps revalidate with If-None-Match.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="epic-events.ics"`)
	w.WriteHeader(http.StatusOK)
	// The headers leave now, without a length: the body streams, and a
	// HEAD gets the very headers a GET does, however short the calendar.
	_ = http.NewResponseController(w).Flush()
	if err := writeFeed(w, feed, descriptions); err != nil {
		// The status is out; the client sees a cut body. The log line
		// says why, unless the client went away.
		if r.Context().Err() == nil {
			requestInfoFrom(r.Context()).err = fmt.Errorf("write calendar: %w", err)
		}
	}
}

// noneMatch reports whether If-None-Match names the tag (weak comparison,
// RFC 9110 §13.1.2) or is "*".
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	opaque := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == opaque {
			return true
		}
	}
	return false
}

// feedDescription and feedCutDescription are the calendar's X-WR-CALDESC.
const feedDescription = "Your Epic Events events, from 30 days ago to two years ahead, soonest first."

func feedCutDescription() string {
	return "Cut to the first " + strconv.Itoa(service.FeedMaxEvents) +
		" events, soonest first: later events in the two years ahead are not shown."
}

// eventDescriptions are the VEVENTs' DESCRIPTIONs, made once for the
// ETag and the body, each time zone loaded once.
func eventDescriptions(events []service.Event) []string {
	zones := map[string]*time.Location{}
	out := make([]string, len(events))
	for i, e := range events {
		loc, ok := zones[e.Timezone]
		if !ok {
			var err error
			if loc, err = time.LoadLocation(e.Timezone); err != nil {
				loc = time.UTC // the API only stores names it can load
			}
			zones[e.Timezone] = loc
		}
		out[i] = eventDescription(e, loc)
	}
	return out
}

// eventDescription is a VEVENT's DESCRIPTION: who and how many, in the
// event's own time zone, then the notes.
func eventDescription(e service.Event, loc *time.Location) string {
	support := "none yet"
	if e.Support != nil {
		support = e.Support.FullName
	}
	local := e.StartAt.In(loc).Format("2006-01-02 15:04 MST")
	d := fmt.Sprintf("Client: %s\nPhone: %s\nAttendees: %d\nSupport: %s\nLocal start: %s (%s)",
		e.Client.FullName, e.Client.Phone, e.Attendees, support, local, e.Timezone)
	if e.Notes != "" {
		d += "\n\n" + e.Notes
	}
	return d
}

// writeFeed writes the calendar, event by event.
func writeFeed(out http.ResponseWriter, feed service.Feed, descriptions []string) error {
	w := ical.NewWriter(out)
	w.Raw("BEGIN", "VCALENDAR")
	w.Raw("VERSION", "2.0")
	w.Raw("PRODID", "-//Epic Events//CRM API//EN")
	w.Raw("CALSCALE", "GREGORIAN")
	w.Raw("METHOD", "PUBLISH")
	w.Text("X-WR-CALNAME", "Epic Events")
	if feed.Cut {
		w.Text("X-WR-CALDESC", feedCutDescription())
	} else {
		w.Text("X-WR-CALDESC", feedDescription)
	}
	for i, e := range feed.Events {
		w.Raw("BEGIN", "VEVENT")
		w.Text("UID", e.ID.String()+"@epic-events")
		w.Raw("SEQUENCE", strconv.Itoa(int(e.Version)-1))
		w.Time("DTSTAMP", e.UpdatedAt)
		w.Time("LAST-MODIFIED", e.UpdatedAt)
		w.Time("CREATED", e.CreatedAt)
		w.Time("DTSTART", e.StartAt)
		w.Time("DTEND", e.EndAt)
		w.Text("SUMMARY", e.Name)
		w.Text("LOCATION", e.Location)
		w.Text("DESCRIPTION", descriptions[i])
		w.Raw("END", "VEVENT")
	}
	w.Raw("END", "VCALENDAR")
	return w.Flush()
}

// feedETag digests every value the body shows (an event's own fields move
// its version, but its client's and support's names do not), length-
// prefixed so that no two feeds share an encoding.
func feedETag(feed service.Feed, descriptions []string) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(strconv.FormatBool(feed.Cut))
	for i, e := range feed.Events {
		field(e.ID.String())
		field(strconv.Itoa(int(e.Version)))
		field(ical.FormatTime(e.UpdatedAt))
		field(ical.FormatTime(e.CreatedAt))
		field(ical.FormatTime(e.StartAt))
		field(ical.FormatTime(e.EndAt))
		field(e.Name)
		field(e.Location)
		field(descriptions[i])
	}
	return `W/"` + digestHex(h) + `"`
}

func digestHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)[:16]) }
