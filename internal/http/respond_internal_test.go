package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An answer is encoded whole before its status line: a value that cannot
// be encoded (an instant past year 9999) is a 500 problem whose cause
// joins the request's log line, never a 200 with an empty body.
func TestAnswerThatCannotBeEncodedIsA500NotAnEmpty200(t *testing.T) {
	t.Parallel()
	info := &requestInfo{id: "encode-test-1"}
	r := httptest.NewRequest("GET", "/v1/clients", nil)
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, info))
	w := httptest.NewRecorder()
	w.Header().Set("ETag", `"3"`)
	writeResource(w, r, http.StatusOK, 3, struct {
		At time.Time `json:"at"`
	}{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})

	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if w.Header().Get("ETag") != "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("headers %v", w.Header())
	}
	var p struct {
		Type      string `json:"type"`
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if p.Type != problemTypePrefix+"internal" || p.Status != 500 || p.RequestID != "encode-test-1" {
		t.Fatalf("problem %+v", p)
	}
	if info.err == nil || !strings.Contains(info.err.Error(), "encode") {
		t.Fatalf("the cause did not reach the log line: %v", info.err)
	}
}

// A good answer carries its length, so a client knows it got it whole.
func TestAnswerCarriesItsLength(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/healthz", nil)
	w := httptest.NewRecorder()
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	if w.Code != 200 || w.Header().Get("Content-Length") != "16" || w.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Fatalf("%d %v %q", w.Code, w.Header(), w.Body)
	}
}
