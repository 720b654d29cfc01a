package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"epicevents/internal/service"
)

// idempotent makes a create route replayable under an Idempotency-Key: the
// first answer (any status below 500) is kept for 24 h and replayed to a
// retry of the same request by the same caller, which creates nothing.
// It runs after authentication and the route's permission check.
func (s *server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header.Values("Idempotency-Key")
		if len(keys) == 0 || s.cfg.Idempotency == nil {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil || len(raw) > maxBodyBytes {
			// Too large or unreadable: the handler gives the answer, and
			// such a request cannot create anything to guard.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), r.Body))
			next.ServeHTTP(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		// A body that is not one JSON object is 415 or 400 whatever the
		// key, and such errors come before the key's own 422.
		if err := checkContentType(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if _, err := jsonObject(raw); err != nil {
			s.writeError(w, r, err)
			return
		}
		key := keys[0]
		if len(keys) > 1 {
			key = ""
		}
		claim, replay, err := s.cfg.Idempotency.Begin(r.Context(), callerFrom(r.Context()), key,
			r.Method+" "+r.URL.Path, canonicalJSON(raw))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if replay != nil {
			writeStored(w, replay)
			return
		}
		rec := &recordingWriter{ResponseWriter: w}
		// Whatever happens to the request, the claim is settled without
		// the request's own (perhaps cancelled) context.
		settle := context.WithoutCancel(r.Context())
		defer func() {
			if p := recover(); p != nil {
				_ = s.cfg.Idempotency.Release(settle, claim)
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status == 0 || rec.status >= 500 {
			_ = s.cfg.Idempotency.Release(settle, claim)
			return
		}
		h := w.Header()
		err = s.cfg.Idempotency.Complete(settle, claim, service.StoredResponse{
			Status: rec.status, ContentType: h.Get("Content-Type"), Location: h.Get("Location"),
			ETag: h.Get("ETag"), Body: rec.body.Bytes(),
		})
		if err != nil {
			s.log.ErrorContext(r.Context(), "idempotency key not stored", "request_id", requestInfoFrom(r.Context()).id, "error", err.Error())
		}
	})
}

// canonicalJSON renders an object with sorted keys and no spacing, so that
// a retry that serialises the same object differently is the same request.
func canonicalJSON(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

func writeStored(w http.ResponseWriter, res *service.StoredResponse) {
	h := w.Header()
	for name, value := range map[string]string{"Content-Type": res.ContentType, "Location": res.Location, "ETag": res.ETag} {
		if value != "" {
			h.Set(name, value)
		}
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

// recordingWriter passes a response through and keeps a copy of it.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}
