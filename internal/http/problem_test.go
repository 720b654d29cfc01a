package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"epicevents/internal/db"
	"epicevents/internal/service"
)

// contractStatuses is SPEC §3's (and §7's) list of problem slugs and their statuses.
var contractStatuses = map[service.Code]int{
	"malformed-request": 400, "validation": 422, "unauthenticated": 401, "forbidden": 403,
	"not-found": 404, "method-not-allowed": 405, "duplicate": 409, "contract-signed": 409,
	"contract-not-signed": 409, "event-finished": 409, "collaborator-has-dependents": 409,
	"last-manager": 409, "idempotency-key-in-use": 409, "precondition-failed": 412,
	"payload-too-large": 413, "unsupported-media-type": 415, "idempotency-key-reused": 422,
	"rate-limited": 429, "internal": 500, "unavailable": 503,
	// SPEC §7.
	"limit-reached": 409, "cursor-expired": 410,
	// Chosen where SPEC §7 gives a status without a slug.
	"delivery-in-flight": 409,
}

func writeProblem(t *testing.T, err error) (*httptest.ResponseRecorder, map[string]any, string) {
	t.Helper()
	var logs bytes.Buffer
	s := &server{cfg: Config{RequestTimeout: time.Second}, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, err) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/anything", nil))
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %s", w.Body)
	}
	return w, body, logs.String()
}

func TestEverySlugAnswersItsContractStatusShapeAndHeaders(t *testing.T) {
	for code, status := range problemStatus {
		if contractStatuses[code] != status {
			t.Fatalf("slug %s answers %d, which the contract does not list", code, status)
		}
	}
	for code, status := range contractStatuses {
		err := &service.Error{Code: code, Detail: "What went wrong.", RetryAfter: 1500 * time.Millisecond}
		if code == service.CodeValidation || code == service.CodeIdempotencyKeyReused {
			err.Fields = []service.FieldError{{Field: "b", Message: "is wrong"}, {Field: "a", Message: "is wrong too"}}
		}
		w, body, _ := writeProblem(t, err)
		if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: status %d, content type %q", code, w.Code, w.Header().Get("Content-Type"))
		}
		typ, _ := body["type"].(string)
		if typ != "urn:epic-events:problem:"+string(code) || typ[strings.LastIndexAny(typ, "/:")+1:] != string(code) {
			t.Fatalf("%s: type %q", code, typ)
		}
		if body["title"] == "" || body["status"] != float64(status) || body["detail"] != "What went wrong." ||
			body["request_id"] != w.Header().Get("X-Request-Id") || body["request_id"] == "" {
			t.Fatalf("%s: body %s", code, w.Body)
		}
		switch status {
		case 401:
			if w.Header().Get("WWW-Authenticate") == "" || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s: WWW-Authenticate %q", code, w.Header().Get("WWW-Authenticate"))
			}
		case 429, 503:
			// Whole seconds, rounded up so a client never comes back early.
			if w.Header().Get("Retry-After") != "2" {
				t.Fatalf("%s: Retry-After %q", code, w.Header().Get("Retry-After"))
			}
		default:
			if w.Header().Get("Retry-After") != "" || w.Header().Get("WWW-Authenticate") != "" {
				t.Fatalf("%s: unexpected headers %v", code, w.Header())
			}
		}
		if code == service.CodeValidation {
			if errs, _ := json.Marshal(body["errors"]); string(errs) != `[{"field":"a","message":"is wrong too"},{"field":"b","message":"is wrong"}]` {
				t.Fatalf("errors: %s", errs)
			}
		}
	}
}

// An error that is not a service error is a 500 that tells nothing of
// itself; its text is in the log under the request id.
func TestUnknownErrorsAreInternalAndSayNothing(t *testing.T) {
	w, body, logs := writeProblem(t, errors.New(`ERROR: relation "collaborators_secret" does not exist (SQLSTATE 42P01)`))
	if w.Code != 500 || body["type"] != "urn:epic-events:problem:internal" {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	for _, leak := range []string{"collaborators_secret", "SQLSTATE", "relation"} {
		if strings.Contains(w.Body.String(), leak) {
			t.Fatalf("500 body tells %q: %s", leak, w.Body)
		}
	}
	id := w.Header().Get("X-Request-Id")
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		lines = append(lines, line)
	}
	// One line for the request, which carries the error.
	if len(lines) != 1 || lines[0]["request_id"] != id || lines[0]["msg"] != "request" || lines[0]["level"] != "ERROR" ||
		lines[0]["status"] != float64(500) || !strings.Contains(lines[0]["error"].(string), "collaborators_secret") {
		t.Fatalf("log for request %s:\n%s", id, logs)
	}
	if body["request_id"] != id {
		t.Fatalf("body request id %v, header %s", body["request_id"], id)
	}
	// A wrapped service error keeps its own answer.
	if w, _, _ := writeProblem(t, errors.Join(errors.New("context"), service.Errorf(service.CodeNotFound, "No client has this id."))); w.Code != 404 {
		t.Fatalf("wrapped service error: %d", w.Code)
	}
}

// A database that is away, even one a service forgot to translate, is a
// 503 with Retry-After whose log line is a WARN: an outage, not a bug.
func TestLostDatabaseIsA503LoggedAsWarning(t *testing.T) {
	w, body, logs := writeProblem(t, fmt.Errorf("load client: %w", db.ErrUnavailable))
	if w.Code != 503 || body["type"] != "urn:epic-events:problem:unavailable" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v: %s", w.Code, w.Header(), w.Body)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs)), &line); err != nil || line["level"] != "WARN" || line["status"] != float64(503) {
		t.Fatalf("log line %s (%v)", logs, err)
	}
}
