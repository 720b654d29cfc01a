package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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

// writeResource answers with one resource and its strong ETag.
func writeResource(w http.ResponseWriter, r *http.Request, status int, version int32, v any) {
	w.Header().Set("ETag", etag(version))
	writeJSON(w, r, status, v)
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
