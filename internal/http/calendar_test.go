package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"

	"epicevents/internal/apitest"
)

// feedPath makes a feed for the session's collaborator and returns the
// path of its URL.
func feedPath(t testing.TB, api *apitest.API, session string) string {
	t.Helper()
	body := expect(t, api.Post("/v1/me/calendar", session, nil), http.StatusCreated)
	url := body["url"].(string)
	if !strings.HasPrefix(url, apitest.PublicBaseURL+"/calendar/eef_") {
		t.Fatalf("feed url %q is not under PUBLIC_BASE_URL", url)
	}
	return strings.TrimPrefix(url, apitest.PublicBaseURL)
}

// expectFeed fails unless a feed answer has the status.
func expectFeed(t testing.TB, res apitest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, excerptOf(res.Body))
	}
}

func excerptOf(b []byte) string {
	if len(b) > 500 {
		b = b[:500]
	}
	return string(b)
}

type eventJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Client struct {
		FullName string `json:"full_name"`
		Phone    string `json:"phone"`
	} `json:"client"`
	Support *struct {
		FullName string `json:"full_name"`
	} `json:"support"`
	StartAt   time.Time `json:"start_at"`
	EndAt     time.Time `json:"end_at"`
	Timezone  string    `json:"timezone"`
	Location  string    `json:"location"`
	Attendees int       `json:"attendees"`
	Notes     string    `json:"notes"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// feedEvent is what a calendar app reads of one VEVENT.
type feedEvent struct {
	UID, Sequence, Summary, Location, Description string
	DTStamp, LastModified, Created, Start, End    time.Time
}

// expectedFeedEvent is what openapi.yaml says a VEVENT holds for an event
// of the API, written here independently of the server's code.
func expectedFeedEvent(t testing.TB, e eventJSON) feedEvent {
	t.Helper()
	loc, err := time.LoadLocation(e.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	support := "none yet"
	if e.Support != nil {
		support = e.Support.FullName
	}
	d := "Client: " + e.Client.FullName + "\nPhone: " + e.Client.Phone + "\nAttendees: " + strconv.Itoa(e.Attendees) +
		"\nSupport: " + support + "\nLocal start: " + e.StartAt.In(loc).Format("2006-01-02 15:04 MST") + " (" + e.Timezone + ")"
	// Line breaks of any kind come back as \n.
	newlines := strings.NewReplacer("\r\n", "\n", "\r", "\n")
	if e.Notes != "" {
		d += "\n\n" + newlines.Replace(e.Notes)
	}
	sec := func(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
	return feedEvent{
		UID: e.ID + "@epic-events", Sequence: strconv.Itoa(e.Version - 1), Summary: e.Name,
		Location: newlines.Replace(e.Location), Description: d,
		DTStamp: sec(e.UpdatedAt), LastModified: sec(e.UpdatedAt), Created: sec(e.CreatedAt),
		Start: sec(e.StartAt), End: sec(e.EndAt),
	}
}

// parseFeed reads a calendar with a third-party RFC 5545 parser, after
// checking the octets themselves: CRLF line ends, folded at 75 octets,
// never inside a UTF-8 sequence.
func parseFeed(t testing.TB, body []byte) (*ics.Calendar, []feedEvent) {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Fatal("the calendar does not end in CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d holds a bare line break: %q", i, line)
		}
		if len(line) > 75 {
			t.Fatalf("line %d has %d octets: %q", i, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("line %d splits a UTF-8 sequence: %q", i, line)
		}
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the parser refuses the calendar: %v", err)
	}
	var out []feedEvent
	for _, ev := range cal.Events() {
		prop := func(p ics.ComponentProperty) string {
			if v := ev.GetProperty(p); v != nil {
				return v.Value
			}
			t.Fatalf("VEVENT without %s", p)
			return ""
		}
		instant := func(p ics.ComponentProperty) time.Time {
			v, err := time.Parse("20060102T150405Z", prop(p))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			return v
		}
		start, err := ev.GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		end, err := ev.GetEndAt()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, feedEvent{
			UID: prop(ics.ComponentPropertyUniqueId), Sequence: prop(ics.ComponentPropertySequence),
			Summary: prop(ics.ComponentPropertySummary), Location: prop(ics.ComponentPropertyLocation),
			Description: prop(ics.ComponentPropertyDescription),
			DTStamp:     instant(ics.ComponentPropertyDtstamp), LastModified: instant(ics.ComponentPropertyLastModified),
			Created: instant(ics.ComponentPropertyCreated), Start: start.UTC(), End: end.UTC(),
		})
	}
	return cal, out
}

func calendarProperty(cal *ics.Calendar, name string) string {
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == name {
			return p.Value
		}
	}
	return ""
}

func getEvent(t testing.TB, api *apitest.API, id string) eventJSON {
	t.Helper()
	res := api.Get("/v1/events/"+id, api.ManagerToken)
	expect(t, res, http.StatusOK)
	var e eventJSON
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// The feed of each department holds exactly the events its permissions
// point at, in the window, soonest first, and a third-party parser reads
// back every field as the API shows it, tricky text included.
func TestCalendarFeedHoldsTheOwnersEventsAsTheAPIShowsThem(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	// A 200-character client name in several scripts, with 4-byte characters
	// that folding must not split.
	longName := ""
	for utf8.RuneCountInString(longName) < 200 {
		longName += "Zoé Ωμέγα Жанна 山田太郎 😀, ; \\ "
	}
	longName = string([]rune(longName)[:199]) + "é"
	billClient := expect(t, api.Post("/v1/clients", bill, map[string]any{
		"full_name": longName, "email": "zoe@startup.test", "phone": "+33 (0)1 23-45.67"}), http.StatusCreated)["id"].(string)
	annaClient := newClient(t, api, anna)
	billContract := newContract(t, api, billClient, "1000", true)
	annaContract := newContract(t, api, annaClient, "1000", true)

	event := func(token, contract string, in time.Duration, body map[string]any) string {
		t.Helper()
		b := map[string]any{"contract_id": contract, "name": unique("Event "), "start_at": instant(api, in),
			"end_at": instant(api, in+5*time.Hour), "location": "", "attendees": 10}
		for k, v := range body {
			b[k] = v
		}
		return expect(t, api.Post("/v1/events", token, b), http.StatusCreated)["id"].(string)
	}
	// Two events that will have started when the clock moves 35 days on:
	// one 34 days ago (out of the window), one 15 days ago (in it).
	event(bill, billContract, time.Hour, nil) // no feed shows it
	recent := event(bill, billContract, 20*24*time.Hour, map[string]any{"timezone": "America/New_York"})
	assignSupport(t, api, recent, kateID)
	api.Clock.Advance(35 * 24 * time.Hour)
	api.ManagerToken = api.Login("manager", apitest.ManagerPassword)
	bill = api.Login("bill", apitest.CollaboratorPassword)
	anna = api.Login("anna", apitest.CollaboratorPassword)
	kate := api.Login("kate", apitest.CollaboratorPassword)

	tricky := event(bill, billContract, 48*time.Hour, map[string]any{
		"name":     string([]rune(strings.Repeat("Mariage, dîner; fête \\ 結婚式 свадьба 🎉 ", 8))[:200]),
		"location": "53 Rue du Château, 41120 Candé-sur-Beuvron; France \\ quai\r\nEntrée B\rPorte 2\nCour",
		"notes":    "Starts at 3PM, by the river.\r\nBring: chairs, tables; lights \\ cables\n\n\tTabbed line\rEnd",
		"timezone": "Asia/Tokyo", "attendees": 75,
	})
	assignSupport(t, api, tricky, kateID)
	expect(t, api.Patch("/v1/events/"+tricky, api.ManagerToken, map[string]any{"attendees": 80}), http.StatusOK)
	annas := event(anna, annaContract, 24*time.Hour, nil)
	assignSupport(t, api, annas, joeID)
	unassigned := event(bill, billContract, 365*24*time.Hour, map[string]any{"notes": ""})
	event(bill, billContract, 2*366*24*time.Hour, nil) // beyond two years: no feed shows it

	cases := []struct {
		who, session string
		want         []string // soonest first
	}{
		{"commercial: their clients' events", bill, []string{recent, tricky, unassigned}},
		{"support: the events assigned to them", kate, []string{recent, tricky}},
		{"management: every event", api.ManagerToken, []string{recent, annas, tricky, unassigned}},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			path := feedPath(t, api, c.session)
			res := api.Do(apitest.Request{Method: "GET", Path: path})
			expectFeed(t, res, http.StatusOK)
			if ct := res.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			cal, got := parseFeed(t, res.Body)
			var want []feedEvent
			for _, id := range c.want {
				want = append(want, expectedFeedEvent(t, getEvent(t, api, id)))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("VEVENTs (-want +got):\n%s", diff)
			}
			if desc := calendarProperty(cal, "X-WR-CALDESC"); strings.Contains(desc, "Cut") || desc == "" {
				t.Errorf("X-WR-CALDESC %q", desc)
			}
			// Lenient parsers read a bare ';' or ',' too: the octets
			// themselves carry RFC 5545's escapes.
			unfolded := strings.ReplaceAll(string(res.Body), "\r\n ", "")
			if !strings.Contains(unfolded, "\r\nSUMMARY:Mariage\\, dîner\\; fête \\\\ 結婚式") {
				t.Error("SUMMARY is not escaped as RFC 5545 says")
			}
			if v := calendarProperty(cal, "VERSION"); v != "2.0" {
				t.Errorf("VERSION %q", v)
			}
		})
	}
	// The tricky event's sequence moved with its version.
	if e := getEvent(t, api, tricky); e.Version < 3 {
		t.Fatalf("version %d: the test meant to change the event twice", e.Version)
	}
}

func TestCalendarFeedIsCutAtFiveThousandEvents(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	contract := newContract(t, api, newClient(t, api, bill), "1000", true)
	first := newEvent(t, api, bill, contract, time.Hour)
	// 5,000 more, each a minute after the one before, written straight to
	// the table: the API would take minutes to create them.
	now := api.Clock.Now()
	if _, err := api.Pool.Exec(context.Background(), `
		INSERT INTO events (contract_id, name, start_at, end_at, timezone, attendees, created_at, updated_at)
		SELECT $1, 'bulk ' || g, $2::timestamptz + g * interval '1 minute' + interval '2 hours',
		       $2::timestamptz + g * interval '1 minute' + interval '3 hours', 'Europe/Paris', 1, $2, $2
		FROM generate_series(1, 5000) g`, contract, now); err != nil {
		t.Fatal(err)
	}
	res := api.Do(apitest.Request{Method: "GET", Path: feedPath(t, api, api.ManagerToken)})
	expectFeed(t, res, http.StatusOK)
	cal, got := parseFeed(t, res.Body)
	if len(got) != 5000 {
		t.Fatalf("%d events, want 5000", len(got))
	}
	if got[0].UID != first+"@epic-events" || got[4999].Summary != "bulk 4999" {
		t.Errorf("not the soonest 5000: first %s, last %s", got[0].UID, got[4999].Summary)
	}
	if !slices.IsSortedFunc(got, func(a, b feedEvent) int { return a.Start.Compare(b.Start) }) {
		t.Error("not soonest first")
	}
	if desc := calendarProperty(cal, "X-WR-CALDESC"); !strings.Contains(desc, "Cut to the first 5000 events") {
		t.Errorf("X-WR-CALDESC %q does not say the feed is cut", desc)
	}
}

func TestCalendarFeedETagAndLastUsed(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	clientID := newClient(t, api, bill)
	event := newEvent(t, api, bill, newContract(t, api, clientID, "1000", true), 48*time.Hour)
	path := feedPath(t, api, bill)
	status := func() (active bool, lastUsed *time.Time) {
		var s struct {
			Active     bool       `json:"active"`
			LastUsedAt *time.Time `json:"last_used_at"`
		}
		res := api.Get("/v1/me/calendar", bill)
		expect(t, res, http.StatusOK)
		if err := json.Unmarshal(res.Body, &s); err != nil {
			t.Fatal(err)
		}
		return s.Active, s.LastUsedAt
	}
	if active, used := status(); !active || used != nil {
		t.Fatalf("new feed: active %v, last used %v", active, used)
	}
	first := api.Do(apitest.Request{Method: "GET", Path: path})
	expectFeed(t, first, http.StatusOK)
	tag := first.Header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("ETag %q is not weak", tag)
	}
	// The body streams: the headers are flushed before it, so no length
	// is computed by holding the body back.
	rec := httptest.NewRecorder()
	api.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if !rec.Flushed || rec.Header().Get("Content-Length") != "" || rec.Header().Get("ETag") != tag {
		t.Fatalf("flushed %v, Content-Length %q, ETag %q", rec.Flushed, rec.Header().Get("Content-Length"), rec.Header().Get("ETag"))
	}
	t0 := api.Clock.Now().UTC().Truncate(time.Microsecond)
	if _, used := status(); used == nil || !used.Equal(t0) {
		t.Fatalf("last used %v, want %v", used, t0)
	}
	// Unchanged data, same tag; If-None-Match (weak comparison) is a 304
	// with no body.
	again := api.Do(apitest.Request{Method: "GET", Path: path})
	if again.Header.Get("ETag") != tag || !bytes.Equal(again.Body, first.Body) {
		t.Fatal("the same data gave another tag or body")
	}
	for _, inm := range []string{tag, strings.TrimPrefix(tag, "W/"), `"nope", ` + tag, "*"} {
		res := api.Do(apitest.Request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": inm}})
		if res.Status != http.StatusNotModified || len(res.Body) != 0 || res.Header.Get("ETag") != tag {
			t.Fatalf("If-None-Match %s: %d, %d bytes, ETag %q", inm, res.Status, len(res.Body), res.Header.Get("ETag"))
		}
	}
	// A 304 and a HEAD move last_used_at too, at most once a minute.
	api.Clock.Advance(59 * time.Second)
	api.Do(apitest.Request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": tag}})
	if _, used := status(); !used.Equal(t0) {
		t.Fatalf("last used moved within the minute: %v", used)
	}
	api.Clock.Advance(time.Second)
	expect(t, api.Do(apitest.Request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": tag}}), http.StatusNotModified)
	if _, used := status(); !used.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a 304 did not move last used: %v", used)
	}
	api.Clock.Advance(time.Minute)
	expectFeed(t, api.Do(apitest.Request{Method: "HEAD", Path: path}), http.StatusOK)
	if _, used := status(); !used.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("a HEAD did not move last used: %v", used)
	}
	// The tag follows the data: the event's own fields, and the names it
	// shows of other records.
	bill = api.Login("bill", apitest.CollaboratorPassword)
	api.ManagerToken = api.Login("manager", apitest.ManagerPassword)
	expect(t, api.Patch("/v1/events/"+event, api.ManagerToken, map[string]any{"attendees": 11}), http.StatusOK)
	afterEvent := api.Do(apitest.Request{Method: "GET", Path: path}).Header.Get("ETag")
	expect(t, api.Patch("/v1/clients/"+clientID, bill, map[string]any{"full_name": "Renamed Client"}), http.StatusOK)
	afterClient := api.Do(apitest.Request{Method: "GET", Path: path, Header: map[string]string{"If-None-Match": afterEvent}})
	if afterEvent == tag || afterClient.Status != http.StatusOK || afterClient.Header.Get("ETag") == afterEvent {
		t.Fatalf("tags %s, %s, %s (%d): the data changed", tag, afterEvent, afterClient.Header.Get("ETag"), afterClient.Status)
	}
	if !strings.Contains(string(afterClient.Body), "Client: Renamed Client") {
		t.Error("the feed does not show the new client name")
	}
}

func TestCalendarFeedLifecycle(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	colleague, _ := api.CreateCollaborator("anna", "commercial")
	var none struct {
		Active     bool       `json:"active"`
		CreatedAt  *time.Time `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
	if err := json.Unmarshal(api.Get("/v1/me/calendar", bill).Body, &none); err != nil || none.Active || none.CreatedAt != nil || none.LastUsedAt != nil {
		t.Fatalf("no feed yet: %+v %v", none, err)
	}
	audits := auditCount(api, billID)
	first := feedPath(t, api, bill)
	expectFeed(t, api.Do(apitest.Request{Method: "GET", Path: first}), http.StatusOK)
	// A second URL replaces the first.
	second := feedPath(t, api, bill)
	if first == second {
		t.Fatal("the same URL twice")
	}
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: first}), http.StatusNotFound, "not-found")
	expectFeed(t, api.Do(apitest.Request{Method: "GET", Path: second}), http.StatusOK)
	// Deleting ends it; deleting again is still 204.
	expect(t, api.Delete("/v1/me/calendar", bill), http.StatusNoContent)
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: second}), http.StatusNotFound, "not-found")
	expect(t, api.Delete("/v1/me/calendar", bill), http.StatusNoContent)
	// Create, replace, delete: three audit rows on bill's record.
	if n := auditCount(api, billID) - audits; n != 3 {
		t.Errorf("%d audit rows for the feed's writes, want 3", n)
	}
	res := api.Get("/v1/collaborators/"+billID+"/history", api.ManagerToken)
	if !strings.Contains(string(res.Body), `"calendar_feed"`) {
		t.Errorf("history: %s", res.Body)
	}
	// Deactivation ends the feed for good: reactivation does not bring it back.
	third := feedPath(t, api, bill)
	expect(t, api.Patch("/v1/collaborators/"+billID, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": colleague}), http.StatusOK)
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: third}), http.StatusNotFound, "not-found")
	expect(t, api.Patch("/v1/collaborators/"+billID, api.ManagerToken, map[string]any{"is_active": true}), http.StatusOK)
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: third}), http.StatusNotFound, "not-found")
	// So does deletion.
	bill = api.Login("bill", apitest.CollaboratorPassword)
	fourth := feedPath(t, api, bill)
	expect(t, api.Delete("/v1/collaborators/"+billID+"?reassign_to="+colleague, api.ManagerToken), http.StatusNoContent)
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: fourth}), http.StatusNotFound, "not-found")
	// Made-up and malformed paths are 404 alike.
	for _, p := range []string{"/calendar/eef_" + strings.Repeat("A", 32) + ".ics", "/calendar/nothing.ics", "/calendar/eef_%00.ics"} {
		apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: p}), http.StatusNotFound, "not-found")
	}
	// The feed token is never in the logs; the route's pattern is.
	logs := api.LogText()
	for _, p := range []string{first, second, third, fourth} {
		token := strings.TrimSuffix(strings.TrimPrefix(p, "/calendar/"), ".ics")
		if strings.Contains(logs, token[4:]) {
			t.Fatalf("a feed token is in the logs")
		}
	}
	if !strings.Contains(logs, `"route":"/calendar/{token}.ics"`) {
		t.Error("the feed's requests are not logged by route pattern")
	}
}

// Permissions are data: a department holding several of the feed's
// permissions sees the union of what each points at.
func TestCalendarFeedShowsTheUnionOfWhatPermissionsPointAt(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	own := newEvent(t, api, bill, newContract(t, api, newClient(t, api, bill), "1000", true), 48*time.Hour)
	assigned := newEvent(t, api, anna, newContract(t, api, newClient(t, api, anna), "1000", true), 24*time.Hour)
	newEvent(t, api, anna, newContract(t, api, newClient(t, api, anna), "1000", true), 72*time.Hour) // neither
	// Commercials are also given event:update_assigned, and Bill runs one
	// of Anna's events (written to the tables: the API keeps supports in
	// the support department).
	for _, sql := range []string{
		`INSERT INTO role_permissions (role, permission) VALUES ('commercial', 'event:update_assigned')`,
		`UPDATE events SET support_id = '` + billID + `' WHERE id = '` + assigned + `'`,
	} {
		if _, err := api.Pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	res := api.Do(apitest.Request{Method: "GET", Path: feedPath(t, api, bill)})
	expectFeed(t, res, http.StatusOK)
	_, got := parseFeed(t, res.Body)
	var uids []string
	for _, e := range got {
		uids = append(uids, e.UID)
	}
	if diff := cmp.Diff([]string{assigned + "@epic-events", own + "@epic-events"}, uids); diff != "" {
		t.Errorf("UIDs (-want +got):\n%s", diff)
	}
}
