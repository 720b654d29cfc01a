package http_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/service"
)

type feedChange struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	RecordID  string          `json:"record_id"`
	Version   int             `json:"version"`
	At        string          `json:"at"`
	Actor     *map[string]any `json:"actor"`
	RequestID *string         `json:"request_id"`
	Data      json.RawMessage `json:"data"`
}

type feedPage struct {
	Data       []feedChange `json:"data"`
	NextCursor string       `json:"next_cursor"`
}

func readFeed(t testing.TB, api *apitest.API, token, query string) feedPage {
	t.Helper()
	res := api.Get("/v1/changes"+query, token)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /v1/changes%s: %d %s", query, res.Status, res.Body)
	}
	var p feedPage
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func feedHead(t testing.TB, api *apitest.API, token string) string {
	t.Helper()
	return expect(t, api.Get("/v1/changes/head", token), http.StatusOK)["cursor"].(string)
}

func decoded(t testing.TB, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return v
}

// Every version-moving write appends one change whose data is the body GET
// returned at that version; a no-op PATCH and a refused write append none.
func TestChangesCarryTheRecordAsGETReturnedIt(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	start := feedHead(t, api, api.ManagerToken)
	type step struct{ typ, path string }
	var steps []step
	var bodies [][]byte
	record := func(typ, path string) {
		t.Helper()
		res := api.Get(path, api.ManagerToken)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.Status)
		}
		steps = append(steps, step{typ, path})
		bodies = append(bodies, res.Body)
	}
	commercialID, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	record("collaborator.created", "/v1/collaborators/"+commercialID)
	supportID, support := api.CreateCollaborator(unique("kate"), "support")
	record("collaborator.created", "/v1/collaborators/"+supportID)
	clientID := newClient(t, api, commercial)
	record("client.created", "/v1/clients/"+clientID)
	expect(t, api.Patch("/v1/clients/"+clientID, commercial, map[string]any{"phone": "+33 1 23 45 67 89"}), http.StatusOK)
	record("client.updated", "/v1/clients/"+clientID)
	// A no-op PATCH and a refused one write nothing.
	expect(t, api.Patch("/v1/clients/"+clientID, commercial, map[string]any{"phone": "+33 1 23 45 67 89"}), http.StatusOK)
	expect(t, api.Patch("/v1/clients/"+clientID, support, map[string]any{"phone": "+33 1 23 45 67 80"}), http.StatusForbidden)
	contractID := newContract(t, api, clientID, "1000.00", true)
	record("contract.created", "/v1/contracts/"+contractID)
	expect(t, api.Patch("/v1/contracts/"+contractID, api.ManagerToken, map[string]any{"amount_due": "10.00"}), http.StatusOK)
	record("contract.updated", "/v1/contracts/"+contractID)
	eventID := newEvent(t, api, commercial, contractID, 48*time.Hour)
	record("event.created", "/v1/events/"+eventID)
	assignSupport(t, api, eventID, supportID)
	record("event.updated", "/v1/events/"+eventID)
	res := api.Do(apitest.Request{Method: http.MethodPut, Path: "/v1/me/password", Token: support,
		Body: map[string]any{"current_password": apitest.CollaboratorPassword, "new_password": "another-fine-password"}})
	expect(t, res, http.StatusNoContent)
	record("collaborator.updated", "/v1/collaborators/"+supportID)
	// The support hands over the upcoming event on deletion: both move.
	otherID, _ := api.CreateCollaborator(unique("sam"), "support")
	record("collaborator.created", "/v1/collaborators/"+otherID)
	expect(t, api.Delete("/v1/collaborators/"+supportID+"?reassign_to="+otherID, api.ManagerToken), http.StatusNoContent)
	record("event.updated", "/v1/events/"+eventID)
	record("collaborator.deleted", "/v1/collaborators/"+supportID)

	page := readFeed(t, api, api.ManagerToken, "?cursor="+start)
	if len(page.Data) != len(steps) {
		t.Fatalf("%d changes, want %d: %+v", len(page.Data), len(steps), page.Data)
	}
	for i, c := range page.Data {
		got := map[string]any{"type": c.Type, "data": decoded(t, c.Data)}
		want := map[string]any{"type": steps[i].typ, "data": decoded(t, bodies[i])}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("change %d (%s) differs from GET (-want +got):\n%s", i, steps[i].path, diff)
		}
		data := decoded(t, c.Data).(map[string]any)
		if c.RecordID != data["id"] || float64(c.Version) != data["version"] {
			t.Errorf("change %d names %s v%d, its data %v v%v", i, c.RecordID, c.Version, data["id"], data["version"])
		}
	}
	if tomb := decoded(t, page.Data[len(page.Data)-1].Data).(map[string]any); tomb["deleted_at"] == nil {
		t.Errorf("the tombstone carries no deleted_at: %v", tomb)
	}
}

// actor and request_id are the audit trail's: null without audit:read.
func TestChangesShowTheActorOnlyToAuditReaders(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	start := feedHead(t, api, api.ManagerToken)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	res := api.Do(apitest.Request{Method: http.MethodPost, Path: "/v1/clients", Token: commercial,
		Header: map[string]string{"X-Request-Id": "feed-request-0001"},
		Body:   map[string]any{"full_name": "Kevin Casey", "email": unique("k") + "@startup.test", "phone": "+678 123 456 78"}})
	expect(t, res, http.StatusCreated)

	seen := readFeed(t, api, api.ManagerToken, "?types=client.created&cursor="+start).Data
	if len(seen) != 1 || seen[0].Actor == nil || (*seen[0].Actor)["full_name"] != "Test Tester" ||
		seen[0].RequestID == nil || *seen[0].RequestID != "feed-request-0001" {
		t.Fatalf("management should see actor and request id: %+v", seen)
	}
	hidden := readFeed(t, api, commercial, "?types=client.created&cursor="+start).Data
	if len(hidden) != 1 || hidden[0].Actor != nil || hidden[0].RequestID != nil {
		t.Fatalf("a commercial should see neither actor nor request id: %+v", hidden)
	}
	// The first manager was created by the system: no actor at all.
	first := readFeed(t, api, api.ManagerToken, "?limit=1").Data
	if len(first) != 1 || first[0].Type != "collaborator.created" || first[0].Actor != nil || first[0].RequestID != nil {
		t.Fatalf("the system's write: %+v", first)
	}
}

// A cursor is a position: next_cursor moves past the changes a filter
// skipped, limit pages, and every department may read the feed.
func TestChangesTypesLimitAndCursors(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	_, support := api.CreateCollaborator(unique("kate"), "support")
	start := feedHead(t, api, support)
	clients := []string{newClient(t, api, commercial), newClient(t, api, commercial), newClient(t, api, commercial)}
	api.CreateCollaborator(unique("sam"), "support")

	onlyCollaborators := readFeed(t, api, support, "?types=collaborator.created&cursor="+start)
	if len(onlyCollaborators.Data) != 1 {
		t.Fatalf("types filter: %+v", onlyCollaborators.Data)
	}
	if end := feedHead(t, api, support); onlyCollaborators.NextCursor != end {
		t.Fatalf("next_cursor %s should be the head %s: the filter examined every change", onlyCollaborators.NextCursor, end)
	}
	// Two by two with another filter set, from the same position.
	var got []string
	cursor := start
	for range 3 {
		p := readFeed(t, api, commercial, "?limit=2&types=client.created,client.updated&cursor="+cursor)
		for _, c := range p.Data {
			got = append(got, c.RecordID)
		}
		cursor = p.NextCursor
	}
	if diff := cmp.Diff(clients, got); diff != "" {
		t.Fatalf("paging (-want +got):\n%s", diff)
	}
	// An empty page keeps the cursor where it was.
	if p := readFeed(t, api, commercial, "?cursor="+feedHead(t, api, commercial)); len(p.Data) != 0 || p.NextCursor == "" {
		t.Fatalf("empty page: %+v", p)
	}
}

func TestChangesRefusals(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	token := api.ManagerToken
	for query, field := range map[string]string{
		"?limit=0":                             "limit",
		"?limit=1001":                          "limit",
		"?limit=ten":                           "limit",
		"?wait=31":                             "wait",
		"?wait=-1":                             "wait",
		"?types=":                              "types",
		"?types=client.created,":               "types",
		"?types=client.deleted":                "types",
		"?types=ping":                          "types",
		"?types=client.created,client.created": "types",
		"?sort=position":                       "sort",
		"?limit=1&limit=2":                     "limit",
		"?since=2026-01-01T00:00:00Z":          "since",
		"?types=event.updated&types=event.created": "types",
	} {
		body := apitest.AssertProblem(t, api.Get("/v1/changes"+query, token), http.StatusUnprocessableEntity, "validation")
		if diff := cmp.Diff([]string{field}, apitest.FieldsOf(body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", query, diff)
		}
	}
	// A garbled cursor is 400, before invalid values.
	apitest.AssertProblem(t, api.Get("/v1/changes?cursor=nonsense", token), http.StatusBadRequest, "malformed-request")
	apitest.AssertProblem(t, api.Get("/v1/changes?cursor=nonsense&limit=0", token), http.StatusBadRequest, "malformed-request")
	apitest.AssertProblem(t, api.Get("/v1/changes/stream?cursor=nonsense", token), http.StatusBadRequest, "malformed-request")
	apitest.AssertProblem(t, api.Get("/v1/changes", ""), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, api.Get("/v1/changes/head", ""), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, api.Get("/v1/changes/stream", ""), http.StatusUnauthorized, "unauthenticated")
	// A cursor past the end (a database restored from an older backup).
	past := base64.RawURLEncoding.EncodeToString([]byte("p999999"))
	apitest.AssertProblem(t, api.Get("/v1/changes?cursor="+past, token), http.StatusGone, "cursor-expired")
	// 422 comes before 410.
	apitest.AssertProblem(t, api.Get("/v1/changes?limit=0&cursor="+past, token), http.StatusUnprocessableEntity, "validation")
	apitest.AssertProblem(t, api.Get("/v1/changes/stream?cursor="+past, token), http.StatusGone, "cursor-expired")
}

// Pruning expires the cursors that missed something, not a caught-up one.
func TestChangesPruningExpiresOldCursors(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	behind := feedHead(t, api, api.ManagerToken)
	commercialName := unique("bill")
	_, commercial := api.CreateCollaborator(commercialName, "commercial")
	newClient(t, api, commercial)
	caughtUp := feedHead(t, api, api.ManagerToken)

	api.Clock.Advance(34 * 24 * time.Hour)
	if n, err := api.Feed.Prune(context.Background()); err != nil || n != 0 {
		t.Fatalf("pruned %d before the retention, %v", n, err)
	}
	api.Clock.Advance(2 * 24 * time.Hour)
	if n, err := api.Feed.Prune(context.Background()); err != nil || n == 0 {
		t.Fatalf("pruned %d after the retention, %v", n, err)
	}
	// Tokens expired meanwhile.
	api.ManagerToken = api.Login("manager", apitest.ManagerPassword)
	commercial = api.Login(commercialName, apitest.CollaboratorPassword)
	apitest.AssertProblem(t, api.Get("/v1/changes?cursor="+behind, api.ManagerToken), http.StatusGone, "cursor-expired")
	if p := readFeed(t, api, api.ManagerToken, "?cursor="+caughtUp); len(p.Data) != 0 || p.NextCursor != caughtUp {
		t.Fatalf("a caught-up reader: %+v", p)
	}
	if p := readFeed(t, api, api.ManagerToken, ""); len(p.Data) != 0 || p.NextCursor != caughtUp {
		t.Fatalf("no cursor starts at the oldest kept: %+v", p)
	}
	newClient(t, api, commercial)
	if p := readFeed(t, api, api.ManagerToken, "?cursor="+caughtUp); len(p.Data) != 1 {
		t.Fatalf("after pruning, new changes still follow: %+v", p)
	}
}

// waitForWaiters polls (bounded) until n requests are held.
func waitForWaiters(t testing.TB, api *apitest.API, n int64) {
	t.Helper()
	for range 500 {
		if api.Feed.Waiters() == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d requests held, want %d", api.Feed.Waiters(), n)
}

// A long poll answers as soon as a matching change commits; changes that
// do not match keep it waiting.
func TestChangesLongPollWakesOnCommit(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	start := feedHead(t, api, commercial)
	answered := make(chan apitest.Response, 1)
	go func() {
		answered <- api.Get("/v1/changes?wait=30&types=client.created&cursor="+start, commercial)
	}()
	waitForWaiters(t, api, 1)
	api.CreateCollaborator(unique("kate"), "support") // not a client: still waiting
	select {
	case res := <-answered:
		t.Fatalf("answered before a matching change: %s", res.Body)
	case <-time.After(200 * time.Millisecond):
	}
	clientID := newClient(t, api, commercial)
	select {
	case res := <-answered:
		var p feedPage
		if err := json.Unmarshal(res.Body, &p); err != nil || len(p.Data) != 1 || p.Data[0].RecordID != clientID {
			t.Fatalf("long poll answer: %s", res.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not wake")
	}
	waitForWaiters(t, api, 0)

	// HEAD never waits.
	res := api.Do(apitest.Request{Method: http.MethodHead, Path: "/v1/changes?wait=30&cursor=" + feedHead(t, api, commercial), Token: commercial})
	if res.Status != http.StatusOK {
		t.Fatalf("HEAD: %d", res.Status)
	}
}

// An idle long poll answers an empty page when its time is up, and at once
// when the server drains; beyond the limit a server answers 503.
func TestChangesLongPollTimeoutDrainAndLimit(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Feed: func(c *service.FeedConfig) { c.MaxWaiters = 1 }})
	head := feedHead(t, api, api.ManagerToken)
	if p := readFeed(t, api, api.ManagerToken, "?wait=3&cursor="+head); len(p.Data) != 0 || p.NextCursor != head {
		t.Fatalf("timed-out long poll: %+v", p)
	}
	answered := make(chan apitest.Response, 1)
	go func() { answered <- api.Get("/v1/changes?wait=30&cursor="+head, api.ManagerToken) }()
	waitForWaiters(t, api, 1)
	apitest.AssertProblem(t, api.Get("/v1/changes?wait=30&cursor="+head, api.ManagerToken), http.StatusServiceUnavailable, "unavailable")
	// Without wait, a request is not held and not limited.
	readFeed(t, api, api.ManagerToken, "?cursor="+head)
	api.Feed.Drain()
	select {
	case res := <-answered:
		if res.Status != http.StatusOK {
			t.Fatalf("drained long poll: %d %s", res.Status, res.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not answer on drain")
	}
}

type sseEvent struct{ id, event, data string }

// readStream collects a stream's events and comments until it ends.
func readStream(t testing.TB, body *bufio.Scanner, events chan<- sseEvent, comments chan<- string) {
	var ev sseEvent
	for body.Scan() {
		line := body.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			if comments != nil {
				comments <- line
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Errorf("unexpected stream line %q", line)
		}
	}
	close(events)
}

func openStream(t testing.TB, srv *httptest.Server, token, query string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/changes/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res
}

// The stream sends each change as an event whose id resumes it, keeps the
// connection alive with comments, and ends when the session does.
func TestChangesStreamResumesAndEndsOnLogout(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Config: func(c *apihttp.Config) { c.FeedKeepalive = 50 * time.Millisecond }})
	srv := httptest.NewServer(api.Handler)
	t.Cleanup(srv.Close)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	start := feedHead(t, api, commercial)
	first := newClient(t, api, commercial)

	res := openStream(t, srv, commercial, "?types=client.created&cursor="+start, nil)
	events, comments := make(chan sseEvent, 10), make(chan string, 100)
	go readStream(t, bufio.NewScanner(res.Body), events, comments)
	second := newClient(t, api, commercial)
	var got []string
	var lastID string
	for range 2 {
		select {
		case ev := <-events:
			var c feedChange
			if err := json.Unmarshal([]byte(ev.data), &c); err != nil || ev.event != "client.created" || c.Type != ev.event {
				t.Fatalf("event %+v: %v", ev, err)
			}
			got = append(got, c.RecordID)
			lastID = ev.id
		case <-time.After(10 * time.Second):
			t.Fatalf("stream sent %v only", got)
		}
	}
	if diff := cmp.Diff([]string{first, second}, got); diff != "" {
		t.Fatalf("stream (-want +got):\n%s", diff)
	}
	select {
	case <-comments:
	case <-time.After(10 * time.Second):
		t.Fatal("no keepalive comment")
	}
	// Resuming with Last-Event-ID (over the cursor) sends what follows only.
	third := newClient(t, api, commercial)
	resumed := openStream(t, srv, commercial, "?cursor="+start, map[string]string{"Last-Event-ID": lastID})
	resumedEvents := make(chan sseEvent, 10)
	go readStream(t, bufio.NewScanner(resumed.Body), resumedEvents, nil)
	select {
	case ev := <-resumedEvents:
		if !strings.Contains(ev.data, third) {
			t.Fatalf("resumed stream sent %+v, want the third client", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("resumed stream sent nothing")
	}
	// Logging out ends both streams at their next keepalive.
	expect(t, api.Post("/v1/auth/logout", commercial, nil), http.StatusNoContent)
	for _, ch := range []chan sseEvent{events, resumedEvents} {
		deadline := time.After(10 * time.Second)
	drain:
		for {
			select {
			case _, open := <-ch:
				if !open {
					break drain
				}
			case <-deadline:
				t.Fatal("the stream outlived its session")
			}
		}
	}
	waitForWaiters(t, api, 0)
}

// Many writers commit concurrently while readers follow cursors (with
// long polls) and a stream: each reader ends with exactly the committed
// changes, none twice, each record's versions in order.
func TestChangesConcurrentWritersAndReadersSeeEverythingOnce(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	srv := httptest.NewServer(api.Handler)
	t.Cleanup(srv.Close)
	const writers, writes = 6, 12
	tokens := make([]string, writers)
	for i := range tokens {
		_, tokens[i] = api.CreateCollaborator(unique("writer"), "commercial")
	}
	start := feedHead(t, api, api.ManagerToken)

	stream := openStream(t, srv, api.ManagerToken, "?cursor="+start, nil)
	streamed := make(chan sseEvent, writers*(writes+1)+10)
	go readStream(t, bufio.NewScanner(stream.Body), streamed, nil)

	done := make(chan struct{})
	type seen struct {
		ids      []string
		versions map[string][]int
	}
	const readers = 3
	results := make([]seen, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := seen{versions: map[string][]int{}}
			cursor := start
			for {
				res := api.Get(fmt.Sprintf("/v1/changes?limit=%d&wait=1&cursor=%s", 3+r, url.QueryEscape(cursor)), api.ManagerToken)
				if res.Status != http.StatusOK {
					t.Errorf("reader %d: %d %s", r, res.Status, res.Body)
					return
				}
				var p feedPage
				if err := json.Unmarshal(res.Body, &p); err != nil {
					t.Error(err)
					return
				}
				for _, c := range p.Data {
					s.ids = append(s.ids, c.ID)
					s.versions[c.RecordID] = append(s.versions[c.RecordID], c.Version)
				}
				cursor = p.NextCursor
				select {
				case <-done:
					if len(p.Data) == 0 {
						results[r] = s
						return
					}
				default:
				}
			}
		}()
	}

	var writing sync.WaitGroup
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			res := api.Post("/v1/clients", tokens[w], map[string]any{
				"full_name": "Client Of Writer", "email": unique("cw") + "@startup.test", "phone": "+678 123 456 78"})
			if res.Status != http.StatusCreated {
				t.Errorf("create: %d %s", res.Status, res.Body)
				return
			}
			id := res.JSON(t)["id"].(string)
			for i := range writes {
				res := api.Patch("/v1/clients/"+id, tokens[w], map[string]any{"phone": fmt.Sprintf("+33 1 00 00 %02d %02d", w, i)})
				if res.Status != http.StatusOK {
					t.Errorf("patch: %d %s", res.Status, res.Body)
				}
			}
		}()
	}
	writing.Wait()
	end := feedHead(t, api, api.ManagerToken)
	close(done)
	wg.Wait()

	committed := map[string]bool{}
	rows, err := api.Pool.Query(context.Background(), "SELECT id::text FROM changes WHERE type LIKE 'client.%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		committed[id] = true
	}
	rows.Close()
	if len(committed) != writers*(writes+1) {
		t.Fatalf("%d changes committed, want %d", len(committed), writers*(writes+1))
	}
	check := func(who string, ids []string, versions map[string][]int) {
		t.Helper()
		got := map[string]bool{}
		for _, id := range ids {
			if got[id] {
				t.Errorf("%s saw change %s twice", who, id)
			}
			got[id] = true
		}
		if diff := cmp.Diff(committed, got); diff != "" {
			t.Errorf("%s did not see exactly the committed changes (-want +got):\n%s", who, diff)
		}
		for record, vs := range versions {
			for i := 1; i < len(vs); i++ {
				if vs[i] != vs[i-1]+1 {
					t.Errorf("%s saw record %s's versions %v", who, record, vs)
					break
				}
			}
		}
	}
	for r, s := range results {
		check(fmt.Sprintf("reader %d", r), s.ids, s.versions)
	}
	var ids []string
	versions := map[string][]int{}
	timeout := time.After(30 * time.Second)
	for ev := range streamed {
		select {
		case <-timeout:
			t.Fatal("the stream did not reach the head")
		default:
		}
		var c feedChange
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		versions[c.RecordID] = append(versions[c.RecordID], c.Version)
		if ev.id == end {
			break
		}
	}
	check("the stream", ids, versions)
}

// If-None-Match: a single record's strong ETag, a list's and the feed's
// weak one; 304 carries no body and comes after every refusal.
func TestConditionalGET(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	clientID := newClient(t, api, commercial)
	get := func(path, token string, header map[string]string) apitest.Response {
		t.Helper()
		return api.Do(apitest.Request{Method: http.MethodGet, Path: path, Token: token, Header: header})
	}
	for _, path := range []string{"/v1/clients/" + clientID, "/v1/clients", "/v1/changes", "/v1/me",
		"/v1/clients/" + clientID + "/history"} {
		first := get(path, api.ManagerToken, nil)
		tag := first.Header.Get("ETag")
		if first.Status != http.StatusOK || tag == "" || first.Header.Get("Cache-Control") != "private, no-cache" {
			t.Fatalf("%s: %d, ETag %q, Cache-Control %q", path, first.Status, tag, first.Header.Get("Cache-Control"))
		}
		again := get(path, api.ManagerToken, map[string]string{"If-None-Match": `"other", ` + tag})
		if again.Status != http.StatusNotModified || len(again.Body) != 0 || again.Header.Get("ETag") != tag {
			t.Fatalf("%s with its tag: %d %q %s", path, again.Status, again.Header.Get("ETag"), again.Body)
		}
		if res := get(path, api.ManagerToken, map[string]string{"If-None-Match": `"other"`}); res.Status != http.StatusOK {
			t.Fatalf("%s with another tag: %d", path, res.Status)
		}
		// Refusals first: no credential is 401 whatever the tag.
		apitest.AssertProblem(t, get(path, "", map[string]string{"If-None-Match": tag}), http.StatusUnauthorized, "unauthenticated")
	}
	// A weak tag of the record's version matches too (weak comparison).
	if res := get("/v1/clients/"+clientID, commercial, map[string]string{"If-None-Match": `W/"1"`}); res.Status != http.StatusNotModified {
		t.Fatalf("weak form of the version: %d", res.Status)
	}
	// A write changes the tags.
	listTag := get("/v1/clients", commercial, nil).Header.Get("ETag")
	feedTag := get("/v1/changes", commercial, nil).Header.Get("ETag")
	expect(t, api.Patch("/v1/clients/"+clientID, commercial, map[string]any{"full_name": "Kevin Changed"}), http.StatusOK)
	for path, tag := range map[string]string{"/v1/clients/" + clientID: `"1"`, "/v1/clients": listTag, "/v1/changes": feedTag} {
		if res := get(path, commercial, map[string]string{"If-None-Match": tag}); res.Status != http.StatusOK {
			t.Errorf("%s after a write with the old tag: %d", path, res.Status)
		}
	}
	// 404 and 422 come before 304.
	apitest.AssertProblem(t, get("/v1/clients/"+"00000000-0000-0000-0000-000000000001", commercial, map[string]string{"If-None-Match": "*"}),
		http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, get("/v1/changes?limit=0", commercial, map[string]string{"If-None-Match": "*"}),
		http.StatusUnprocessableEntity, "validation")
}

// The listening connection comes back after a loss, and a held reader is
// woken by a change committed after it: nothing is skipped.
func TestChangesListenerReconnectsAfterALostConnection(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	killed := api.Count(`SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN epicevents_changes'`)
	if killed != 1 {
		t.Fatalf("terminated %d listening connections, want 1", killed)
	}
	// Once it listens again, a long poll wakes on the next commit.
	for range 500 {
		if api.Count(`SELECT count(*)::int FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN epicevents_changes'`) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	head := feedHead(t, api, commercial)
	answered := make(chan apitest.Response, 1)
	go func() { answered <- api.Get("/v1/changes?wait=30&cursor="+head, commercial) }()
	waitForWaiters(t, api, 1)
	clientID := newClient(t, api, commercial)
	select {
	case res := <-answered:
		if !strings.Contains(string(res.Body), clientID) {
			t.Fatalf("long poll after reconnection: %s", res.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll was not woken after the listener reconnected")
	}
}

// A long poll outlives REQUEST_TIMEOUT; a plain request does not.
func TestChangesLongPollIsExemptFromTheRequestTimeout(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Config: func(c *apihttp.Config) { c.RequestTimeout = 1500 * time.Millisecond }})
	head := feedHead(t, api, api.ManagerToken)
	started := time.Now()
	p := readFeed(t, api, api.ManagerToken, "?wait=3&cursor="+head)
	if len(p.Data) != 0 || time.Since(started) < 3*time.Second {
		t.Fatalf("the long poll answered %+v after %s", p, time.Since(started))
	}
}

// With CORS on, browsers may send If-None-Match and Last-Event-ID.
func TestCORSAllowsConditionalAndResumeHeaders(t *testing.T) {
	t.Parallel()
	const origin = "https://app.epic-events.test"
	api := apitest.New(t, withCORS(origin))
	res := preflight(api, origin, "GET", "Authorization, If-None-Match, Last-Event-ID")
	if res.Status >= 300 || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight: %d %v", res.Status, res.Header)
	}
	want := []string{"authorization", "if-none-match", "last-event-id"}
	if diff := cmp.Diff(want, headerList(res.Header, "Access-Control-Allow-Headers")); diff != "" {
		t.Fatalf("allowed headers (-want +got):\n%s", diff)
	}
}
