package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

type lastEvent struct{ event *sentry.Event }

func (l *lastEvent) Configure(sentry.ClientOptions)        {}
func (l *lastEvent) Flush(time.Duration) bool              { return true }
func (l *lastEvent) FlushWithContext(context.Context) bool { return true }
func (l *lastEvent) Close()                                {}
func (l *lastEvent) SendEvent(e *sentry.Event)             { l.event = e }

// Whatever a scope or an integration adds, the reporter's client sends no
// request data, no user data but the id, and no breadcrumbs.
func TestReporterScrubsRequestAndUserData(t *testing.T) {
	t.Parallel()
	tr := &lastEvent{}
	r, err := NewReporter(SentryOptions{DSN: "https://public@sentry.invalid/1", Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	req, _ := http.NewRequest(http.MethodPost, "https://api.epic-events.test/v1/auth/login?token=query-canary",
		strings.NewReader(`{"password":"body-canary"}`))
	req.Header.Set("Authorization", "Bearer header-canary")
	req.Header.Set("Cookie", "session=cookie-canary")
	scope := sentry.NewScope()
	scope.SetRequest(req)
	scope.SetRequestBody([]byte(`{"password":"body-canary"}`))
	scope.SetUser(sentry.User{ID: "u1", Email: "email-canary@epic-events.test", IPAddress: "192.0.2.1", Username: "name-canary"})
	scope.AddBreadcrumb(&sentry.Breadcrumb{Message: "Bearer crumb-canary"}, 10)
	scope.SetContext("request-context", sentry.Context{"authorization": "context-canary"})
	r.client.CaptureException(errors.New("boom"), nil, scope)

	if tr.event == nil || tr.event.User.ID != "u1" {
		t.Fatalf("event: %+v", tr.event)
	}
	raw, _ := json.Marshal(tr.event)
	for _, canary := range []string{"canary", "192.0.2.1", "authorization"} {
		if strings.Contains(strings.ToLower(string(raw)), canary) {
			t.Fatalf("event carries %q: %s", canary, raw)
		}
	}
}
