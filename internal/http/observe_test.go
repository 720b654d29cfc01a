package http

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A panic becomes a 500 problem that says nothing of the internals, and
// its request id finds the details in the log.
func TestPanicsBecomeInternalProblems(t *testing.T) {
	var logs bytes.Buffer
	var seen RequestRecord
	s := &server{cfg: Config{RequestTimeout: time.Second, Observe: func(r RequestRecord) { seen = r }},
		log: slog.New(slog.NewJSONHandler(&logs, nil))}
	h := s.observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal detail") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/anything", nil))

	if w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	id := w.Header().Get("X-Request-Id")
	if body["type"] != "urn:epic-events:problem:internal" || body["request_id"] != id || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("body: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), `"request_id":"`+id+`"`) ||
		!strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("log does not hold the panic under its request id:\n%s", logs.String())
	}
	if seen.Status != 500 || seen.Err == nil || seen.RequestID != id {
		t.Fatalf("observer saw %+v", seen)
	}
}
