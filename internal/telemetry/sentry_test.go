package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/service"
	"epicevents/internal/telemetry"
)

// captureTransport keeps the events the client would send.
type captureTransport struct {
	mu     sync.Mutex
	events []*sentry.Event
}

func (c *captureTransport) Configure(sentry.ClientOptions)        {}
func (c *captureTransport) Flush(time.Duration) bool              { return true }
func (c *captureTransport) FlushWithContext(context.Context) bool { return true }
func (c *captureTransport) Close()                                {}
func (c *captureTransport) SendEvent(e *sentry.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *captureTransport) Events() []*sentry.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sentry.Event(nil), c.events...)
}

func newReporter(t *testing.T) (*telemetry.Reporter, *captureTransport) {
	t.Helper()
	tr := &captureTransport{}
	r, err := telemetry.NewReporter(telemetry.SentryOptions{
		DSN: "https://public@sentry.invalid/1", Environment: "test", Release: "1.2.3-test", Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, tr
}

// assertClean fails when an event carries anything but ids: no request
// data, no user but an id, none of the given strings.
func assertClean(t *testing.T, events []*sentry.Event, forbidden ...string) {
	t.Helper()
	for _, e := range events {
		if e.Request != nil || e.User.Email != "" || e.User.Username != "" || e.User.IPAddress != "" ||
			e.User.Name != "" || len(e.Breadcrumbs) > 0 {
			t.Fatalf("event carries request or user data: %+v", e)
		}
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ToLower(string(raw))
		for _, f := range append(forbidden, "authorization", "bearer", "password") {
			if f != "" && strings.Contains(text, strings.ToLower(f)) {
				t.Fatalf("event carries %q: %s", f, raw)
			}
		}
	}
}

func TestSentryGetsPanicsAndServerErrorsWithRequestIDAndRoute(t *testing.T) {
	t.Parallel()
	reporter, tr := newReporter(t)
	var mode atomic.Value
	mode.Store("ok")
	api := apitest.New(t, apitest.Options{Config: func(c *apihttp.Config) {
		c.Observe = reporter.ObserveRequest
		c.Ready = func(context.Context) error {
			switch mode.Load() {
			case "panic":
				panic("readiness exploded")
			case "internal":
				return errors.New("disk on fire")
			case "unavailable":
				return &service.Error{Code: service.CodeUnavailable, RetryAfter: time.Second}
			}
			return nil
		}
	}})

	// Successes and client errors are not reported.
	api.Get("/readyz", "")
	api.Get("/v1/me", "")
	api.Post("/v1/auth/login", "", map[string]string{"username": "manager", "password": "wrong-but-long-enough"})
	if n := len(tr.Events()); n != 0 {
		t.Fatalf("%d events for answers below 500", n)
	}

	cases := []struct {
		mode   string
		status int
		level  sentry.Level
		panic  string
		text   string
	}{
		{"panic", 500, sentry.LevelError, "true", "readiness exploded"},
		{"internal", 500, sentry.LevelError, "false", "disk on fire"},
		{"unavailable", 503, sentry.LevelWarning, "false", "unavailable"},
	}
	for i, c := range cases {
		mode.Store(c.mode)
		res := api.Get("/readyz", "")
		if res.Status != c.status {
			t.Fatalf("%s: status %d", c.mode, res.Status)
		}
		events := tr.Events()
		if len(events) != i+1 {
			t.Fatalf("%s: %d events, want %d", c.mode, len(events), i+1)
		}
		e := events[i]
		want := map[string]string{"request_id": res.Header.Get("X-Request-Id"), "route": "/readyz", "method": "GET",
			"status": strconv.Itoa(c.status), "panic": c.panic, "collaborator_id": ""}
		for k, v := range want {
			if e.Tags[k] != v {
				t.Fatalf("%s: tag %s = %q, want %q (tags %v)", c.mode, k, e.Tags[k], v, e.Tags)
			}
		}
		if e.Level != c.level || e.Release != "1.2.3-test" || e.Environment != "test" {
			t.Fatalf("%s: level %s, release %q, environment %q", c.mode, e.Level, e.Release, e.Environment)
		}
		if len(e.Exception) == 0 || !strings.Contains(e.Exception[len(e.Exception)-1].Value, c.text) {
			t.Fatalf("%s: exception %+v", c.mode, e.Exception)
		}
	}
	assertClean(t, tr.Events(), apitest.ManagerPassword, api.ManagerToken)
}

func TestSentryTagsServerErrorsWithTheCollaborator(t *testing.T) {
	t.Parallel()
	reporter, tr := newReporter(t)
	reporter.ObserveRequest(apihttp.RequestRecord{Method: "PATCH", Route: "/v1/collaborators/{id}", Status: 500,
		RequestID: "req-12345678", CollaboratorID: "0b9c1c6e-7d1c-4c55-9d8e-4c1f1d7e9a01", Err: errors.New("boom")})
	events := tr.Events()
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	e := events[0]
	if e.Tags["collaborator_id"] != "0b9c1c6e-7d1c-4c55-9d8e-4c1f1d7e9a01" || e.User.ID != e.Tags["collaborator_id"] ||
		e.Tags["request_id"] != "req-12345678" || e.Tags["route"] != "/v1/collaborators/{id}" {
		t.Fatalf("tags %v, user %+v", e.Tags, e.User)
	}
}

func TestSentryGetsCollaboratorChangesByIDsOnly(t *testing.T) {
	t.Parallel()
	reporter, tr := newReporter(t)
	api := apitest.New(t, apitest.Options{Notifier: reporter})
	managerID := api.Get("/v1/me", api.ManagerToken).JSON(t)["id"].(string)

	const email, first, password = "zebulon.quartz@epic-events.test", "Zebulon", "zebulon-secret-password"
	res := api.Post("/v1/collaborators", api.ManagerToken, map[string]any{
		"employee_number": 777, "first_name": first, "last_name": "Quartz", "email": email,
		"username": "zebulon", "department": "support", "password": password,
	})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	id := res.JSON(t)["id"].(string)
	if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"last_name": "Quartzite"}); res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if res := api.Delete("/v1/collaborators/"+id, api.ManagerToken); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	// A refused write reports nothing.
	api.Post("/v1/collaborators", api.ManagerToken, map[string]any{"username": "x"})

	events := tr.Events()
	want := []string{"collaborator.created", "collaborator.updated", "collaborator.deleted"}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d", len(events), len(want))
	}
	for i, e := range events {
		if e.Message != want[i] || e.Level != sentry.LevelInfo || e.Tags["event"] != want[i] ||
			e.Tags["record_type"] != "collaborator" || e.Tags["actor_id"] != managerID || e.Tags["record_id"] != id {
			t.Fatalf("event %d: message %q, level %s, tags %v", i, e.Message, e.Level, e.Tags)
		}
	}
	assertClean(t, events, email, first, "Quartz", "zebulon", password, api.ManagerToken)
}

func TestSentryGetsEachContractSignatureByIDsOnly(t *testing.T) {
	t.Parallel()
	reporter, tr := newReporter(t)
	api := apitest.New(t, apitest.Options{Notifier: reporter})
	managerID := api.Caller(api.ManagerToken)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	const clientName, clientEmail = "Kevin Casey", "kevin.casey@startup.test"
	res := api.Post("/v1/clients", bill, map[string]any{
		"full_name": clientName, "email": clientEmail, "phone": "+678 123 456 78"})
	if res.Status != http.StatusCreated {
		t.Fatalf("client: %d %s", res.Status, res.Body)
	}
	clientID := res.JSON(t)["id"].(string)
	contract := func(signed bool) string {
		t.Helper()
		res := api.Post("/v1/contracts", api.ManagerToken, map[string]any{
			"client_id": clientID, "total_amount": "15000.00", "signed": signed})
		if res.Status != http.StatusCreated {
			t.Fatalf("contract: %d %s", res.Status, res.Body)
		}
		return res.JSON(t)["id"].(string)
	}
	before := len(tr.Events()) // creating Bill is a collaborator event

	signedAtCreation := contract(true)
	draft := contract(false)
	// Amounts alone are no signature; signing is, by its commercial; a
	// second "signed": true changes nothing and says nothing.
	for _, body := range []map[string]any{{"amount_due": "100.00"}, {"signed": true}, {"signed": true}} {
		if res := api.Patch("/v1/contracts/"+draft, bill, body); res.Status != http.StatusOK {
			t.Fatalf("patch %v: %d %s", body, res.Status, res.Body)
		}
	}

	events := tr.Events()[before:]
	want := []struct{ actor, record string }{{managerID, signedAtCreation}, {billID, draft}}
	if len(events) != len(want) {
		t.Fatalf("%d events after the collaborator's, want %d", len(events), len(want))
	}
	for i, e := range events {
		if e.Message != "contract.signed" || e.Level != sentry.LevelInfo || e.Tags["record_type"] != "contract" ||
			e.Tags["actor_id"] != want[i].actor || e.Tags["record_id"] != want[i].record {
			t.Fatalf("event %d: message %q, level %s, tags %v", i, e.Message, e.Level, e.Tags)
		}
	}
	assertClean(t, events, clientName, clientEmail, "Bill", "15000")
}

func TestWithoutDSNNothingIsSentAndNothingBreaks(t *testing.T) {
	t.Parallel()
	for _, r := range []*telemetry.Reporter{nil, mustReporter(t, telemetry.SentryOptions{})} {
		if r.Enabled() {
			t.Fatal("a reporter without DSN is enabled")
		}
		r.Notify("collaborator.created", "a", "b")
		r.ObserveRequest(apihttp.RequestRecord{Status: 500, Err: errors.New("boom"), Panic: true})
		r.Flush(time.Millisecond)
		r.Close()
	}
	// Wired into the API, it changes nothing.
	r := mustReporter(t, telemetry.SentryOptions{})
	api := apitest.New(t, apitest.Options{Notifier: r, Config: func(c *apihttp.Config) { c.Observe = r.ObserveRequest }})
	if _, token := api.CreateCollaborator("kate", "support"); token == "" {
		t.Fatal("no token")
	}
}

func mustReporter(t *testing.T, opts telemetry.SentryOptions) *telemetry.Reporter {
	t.Helper()
	r, err := telemetry.NewReporter(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBadDSNIsRefused(t *testing.T) {
	t.Parallel()
	if _, err := telemetry.NewReporter(telemetry.SentryOptions{DSN: "not a dsn"}); err == nil {
		t.Fatal("a malformed DSN was accepted")
	}
}
