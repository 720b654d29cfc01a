package http

import (
	"encoding/json"
	"net/http"
	"strconv"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, "application/json", status, v)
}

func writeJSONAs(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeResource answers with one resource and its strong ETag.
func writeResource(w http.ResponseWriter, status int, version int32, v any) {
	w.Header().Set("ETag", etag(version))
	writeJSON(w, status, v)
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
