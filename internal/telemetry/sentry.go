// Package telemetry reports what the running API does to its operators:
// Prometheus metrics and Sentry events. It hears of requests through the
// HTTP layer's Observe hook and of business events through the service
// layer's Notifier, and sends ids only: never a name, an email, a body, a
// header or a token.
package telemetry

import (
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	apihttp "epicevents/internal/http"
)

// SentryOptions configure the reporter.
type SentryOptions struct {
	// DSN is the project's key; without it nothing is sent.
	DSN         string
	Environment string
	Release     string
	// Transport replaces the network transport (tests capture events).
	Transport sentry.Transport
}

// Reporter sends panics, 5xx answers and business events to Sentry. The
// zero Reporter (and a nil one) reports nothing.
type Reporter struct {
	client *sentry.Client
}

// NewReporter builds a reporter; with no DSN and no transport it is a no-op
// and never touches the network.
func NewReporter(opts SentryOptions) (*Reporter, error) {
	if opts.DSN == "" && opts.Transport == nil {
		return &Reporter{}, nil
	}
	if opts.Release == "" {
		opts.Release = "dev"
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         opts.DSN,
		Environment: opts.Environment,
		// An explicit release also keeps the SDK from running git to guess one.
		Release:              opts.Release,
		Transport:            opts.Transport,
		SendDefaultPII:       false,
		BeforeSend:           scrub,
		DisableMetrics:       true,
		DisableClientReports: true,
		MaxBreadcrumbs:       -1,
		// Source lines around stack frames would be read from disk at run
		// time; the image has no sources, and events need none.
		Integrations: func(all []sentry.Integration) []sentry.Integration {
			kept := all[:0]
			for _, i := range all {
				if i.Name() != "ContextifyFrames" {
					kept = append(kept, i)
				}
			}
			return kept
		},
	})
	if err != nil {
		return nil, err
	}
	return &Reporter{client: client}, nil
}

// Enabled reports whether events go anywhere.
func (r *Reporter) Enabled() bool { return r != nil && r.client != nil }

// scrub drops whatever could carry personal data or credentials, whoever
// set it: the request (headers, cookies, body, query), user fields other
// than the id, breadcrumbs and free-form extras.
func scrub(event *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	event.Request = nil
	event.User = sentry.User{ID: event.User.ID}
	event.Breadcrumbs = nil
	for key := range event.Contexts {
		switch key {
		case "device", "os", "runtime":
		default:
			delete(event.Contexts, key)
		}
	}
	return event
}

// ObserveRequest reports a finished request when it failed on our side: a
// panic or a 5xx answer, tagged with the request id, route and
// collaborator id.
func (r *Reporter) ObserveRequest(rec apihttp.RequestRecord) {
	if !r.Enabled() || (rec.Status < 500 && rec.Err == nil && !rec.Panic) {
		return
	}
	scope := sentry.NewScope()
	scope.SetTags(map[string]string{
		"request_id":      rec.RequestID,
		"route":           rec.Route,
		"method":          rec.Method,
		"status":          strconv.Itoa(rec.Status),
		"collaborator_id": rec.CollaboratorID,
		"panic":           strconv.FormatBool(rec.Panic),
	})
	if rec.CollaboratorID != "" {
		scope.SetUser(sentry.User{ID: rec.CollaboratorID})
	}
	level := sentry.LevelError
	if rec.Status == 503 && !rec.Panic {
		level = sentry.LevelWarning // the database is away; usually transient
	}
	scope.SetLevel(level)
	kind := "status " + strconv.Itoa(rec.Status)
	if rec.Panic {
		kind = "panic"
	}
	// One issue per route and kind of failure, not one per stack trace.
	scope.SetFingerprint([]string{kind, rec.Method + " " + rec.Route, firstLine(rec.Err)})
	// The event is built by hand: the SDK would attach the stack of this
	// reporting call, which says nothing of the failure. A panic's own stack
	// is in its error text.
	event := sentry.NewEvent()
	event.Level = level
	if rec.Err == nil {
		event.Message = rec.Method + " " + rec.Route + " answered " + strconv.Itoa(rec.Status)
	} else {
		value := rec.Err.Error()
		if len(value) > 8000 {
			value = value[:8000]
		}
		event.Exception = []sentry.Exception{{Type: kind, Value: value}}
	}
	r.client.CaptureEvent(event, nil, scope)
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}

// Notify sends a business event (collaborator created, updated or deleted;
// contract signed) as a Sentry message carrying the actor's and the
// record's ids, nothing else. It implements service.Notifier.
func (r *Reporter) Notify(event, actorID, recordID string) {
	if !r.Enabled() {
		return
	}
	recordType, _, _ := strings.Cut(event, ".")
	scope := sentry.NewScope()
	scope.SetTags(map[string]string{
		"event":       event,
		"record_type": recordType,
		"actor_id":    actorID,
		"record_id":   recordID,
	})
	scope.SetUser(sentry.User{ID: actorID})
	scope.SetLevel(sentry.LevelInfo)
	scope.SetFingerprint([]string{"business-event", event})
	r.client.CaptureMessage(event, nil, scope)
}

// Flush waits up to timeout for queued events to leave; call it before
// exiting.
func (r *Reporter) Flush(timeout time.Duration) {
	if r.Enabled() {
		r.client.Flush(timeout)
	}
}

// Close stops the client's background work.
func (r *Reporter) Close() {
	if r.Enabled() {
		r.client.Close()
	}
}
