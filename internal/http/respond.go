package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeJSONAs(w, r, "application/json", status, v)
}

// internalProblem is the answer when a body cannot be encoded: fixed
// bytes, so answering it cannot fail in turn.
const internalProblem = `{"type":"urn:epic-events:problem:internal","title":"Internal error","status":500,` +
	`"detail":"Something went wrong on our side; quote the request id if you report it.","request_id":%q}` + "\n"

// writeJSONAs encodes the whole body before the status line goes out, so
// an answer is never half sent: a value that cannot be encoded is a 500
// whose cause joins the request's log line, never a 200 with no body.
func writeJSONAs(w http.ResponseWriter, r *http.Request, contentType string, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		info := requestInfoFrom(r.Context())
		info.err = fmt.Errorf("encode %T answer: %w", v, err)
		h := w.Header()
		h.Del("ETag")
		h.Del("Location")
		h.Set("Content-Type", "application/problem+json")
		h.Set("Content-Length", strconv.Itoa(len(fmt.Sprintf(internalProblem, info.id))))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, internalProblem, info.id)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeResource answers with one resource and its strong ETag; a GET
// whose If-None-Match names it is 304.
func writeResource(w http.ResponseWriter, r *http.Request, status int, version int32, v any) {
	tag := etag(version)
	w.Header().Set("ETag", tag)
	if revalidated(w, r, status, tag) {
		return
	}
	writeJSON(w, r, status, v)
}

// writeCacheable answers a GET whose body has no version of its own (a
// list, the feed) with a weak ETag of the body, or 304 when If-None-Match
// names it.
func writeCacheable(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeJSON(w, r, status, v) // answers the encoding failure
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	tag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	w.Header().Set("ETag", tag)
	if revalidated(w, r, status, tag) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// revalidated marks a successful GET's answer as private and to be
// revalidated, and answers 304 when If-None-Match names its tag (weak
// comparison, as RFC 9110 says for If-None-Match; "*" names any). Every
// refusal has been answered before: 304 comes after them all.
func revalidated(w http.ResponseWriter, r *http.Request, status int, tag string) bool {
	if status != http.StatusOK || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	if !ifNoneMatch(r, tag) {
		return false
	}
	w.WriteHeader(http.StatusNotModified)
	return true
}

func ifNoneMatch(r *http.Request, tag string) bool {
	opaque := strings.TrimPrefix(tag, "W/")
	for _, header := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(header, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == opaque {
				return true
			}
		}
	}
	return false
}

func etag(version int32) string {
	return `"` + strconv.Itoa(int(version)) + `"`
}

// listJSON is the envelope of every collection.
type listJSON[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func newList[S any, T any](items []S, next string, conv func(S) T) listJSON[T] {
	out := listJSON[T]{Data: make([]T, 0, len(items))}
	for _, it := range items {
		out.Data = append(out.Data, conv(it))
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out
}
