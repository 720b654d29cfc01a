package http

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"epicevents/internal/service"
)

// problemTypePrefix makes each slug a stable absolute URI.
const problemTypePrefix = "urn:epic-events:problem:"

// problemStatus and problemTitle are the one table from problem slugs to
// HTTP: every error the API returns passes through writeError.
var problemStatus = map[service.Code]int{
	service.CodeMalformedRequest:     http.StatusBadRequest,
	service.CodeValidation:           http.StatusUnprocessableEntity,
	service.CodeUnauthenticated:      http.StatusUnauthorized,
	service.CodeForbidden:            http.StatusForbidden,
	service.CodeNotFound:             http.StatusNotFound,
	service.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	service.CodeDuplicate:            http.StatusConflict,
	service.CodeContractSigned:       http.StatusConflict,
	service.CodeContractNotSigned:    http.StatusConflict,
	service.CodeEventFinished:        http.StatusConflict,
	service.CodeHasDependents:        http.StatusConflict,
	service.CodeLastManager:          http.StatusConflict,
	service.CodeIdempotencyKeyInUse:  http.StatusConflict,
	service.CodePreconditionFailed:   http.StatusPreconditionFailed,
	service.CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	service.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	service.CodeIdempotencyKeyReused: http.StatusUnprocessableEntity,
	service.CodeRateLimited:          http.StatusTooManyRequests,
	service.CodeInternal:             http.StatusInternalServerError,
	service.CodeUnavailable:          http.StatusServiceUnavailable,
	service.CodeLimitReached:         http.StatusConflict,
	service.CodeCursorExpired:        http.StatusGone,
	service.CodeDeliveryInFlight:     http.StatusConflict,
}

var problemTitle = map[service.Code]string{
	service.CodeMalformedRequest:     "Malformed request",
	service.CodeValidation:           "Invalid input",
	service.CodeUnauthenticated:      "Authentication required",
	service.CodeForbidden:            "Forbidden",
	service.CodeNotFound:             "Not found",
	service.CodeMethodNotAllowed:     "Method not allowed",
	service.CodeDuplicate:            "Already exists",
	service.CodeContractSigned:       "Contract already signed",
	service.CodeContractNotSigned:    "Contract not signed",
	service.CodeEventFinished:        "Event finished",
	service.CodeHasDependents:        "Collaborator has dependents",
	service.CodeLastManager:          "Last manager",
	service.CodeIdempotencyKeyInUse:  "Idempotency key in use",
	service.CodePreconditionFailed:   "Precondition failed",
	service.CodePayloadTooLarge:      "Payload too large",
	service.CodeUnsupportedMediaType: "Unsupported media type",
	service.CodeIdempotencyKeyReused: "Idempotency key reused",
	service.CodeRateLimited:          "Too many requests",
	service.CodeInternal:             "Internal error",
	service.CodeUnavailable:          "Service unavailable",
	service.CodeLimitReached:         "Limit reached",
	service.CodeCursorExpired:        "Cursor expired",
	service.CodeDeliveryInFlight:     "Delivery in flight",
}

type problemJSON struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail"`
	RequestID string             `json:"request_id"`
	Errors    []problemFieldJSON `json:"errors,omitempty"`
}

type problemFieldJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// writeError answers with the RFC 9457 problem for err. An error that is not
// a service error is internal: its text goes to the log, never to the caller.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	info, inRequest := r.Context().Value(requestInfoKey).(*requestInfo)
	if !inRequest {
		info = &requestInfo{}
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The client hung up: nobody reads an answer, and it is not our
		// failure. The request's log line says 499 at INFO.
		info.clientGone = true
		return
	}
	e := service.AsError(err)
	status, ok := problemStatus[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		// The request's one log line (observe) carries the error.
		info.err = err
		if !inRequest {
			s.log.ErrorContext(r.Context(), "request failed", "error", err.Error())
		}
	}
	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="epic-events"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		secs := int(e.RetryAfter.Seconds() + 0.999)
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	body := problemJSON{
		Type: problemTypePrefix + string(e.Code), Title: problemTitle[e.Code], Status: status,
		Detail: e.Detail, RequestID: info.id,
	}
	if body.Detail == "" {
		body.Detail = body.Title + "."
	}
	for _, f := range e.Fields {
		body.Errors = append(body.Errors, problemFieldJSON(f))
	}
	slices.SortStableFunc(body.Errors, func(a, b problemFieldJSON) int { return strings.Compare(a.Field, b.Field) })
	writeJSONAs(w, r, "application/problem+json", status, body)
}
