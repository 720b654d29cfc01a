package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// How long a key holds its response, and after how long a claimed key
// whose request never answered (a crashed replica) may be taken over.
const (
	idempotencyWindow     = 24 * time.Hour
	idempotencyAbandonAge = 5 * time.Minute
)

// IdempotencyService remembers the responses of create requests by the
// caller's Idempotency-Key, in PostgreSQL so that every replica sees them.
type IdempotencyService struct {
	Deps
}

// NewIdempotencyService builds the service.
func NewIdempotencyService(d Deps) *IdempotencyService {
	return &IdempotencyService{Deps: d.withDefaults()}
}

// StoredResponse is a response kept for replay.
type StoredResponse struct {
	Status      int
	ContentType string
	Location    string
	ETag        string
	Body        []byte
}

// IdempotencyClaim is a key held by a request in progress.
type IdempotencyClaim struct {
	callerID  uuid.UUID
	key       string
	createdAt time.Time
}

// IdempotencyKeyHeader names the header in errors.
const IdempotencyKeyHeader = "Idempotency-Key"

func validIdempotencyKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Begin claims the key for a request identified by its route and body.
// It returns a claim when the request should run, or the stored response
// to replay: a retry with the same request within 24 h. The same key with
// another request is 422 idempotency-key-reused; with the same request
// still running, 409 idempotency-key-in-use.
func (s *IdempotencyService) Begin(ctx context.Context, caller Caller, key, route string, body []byte) (*IdempotencyClaim, *StoredResponse, error) {
	if !validIdempotencyKey(key) {
		return nil, nil, InvalidField(IdempotencyKeyHeader, "must be 1 to 255 visible ASCII characters")
	}
	sum := sha256.New()
	sum.Write([]byte(route))
	sum.Write([]byte{0})
	sum.Write(body)
	fingerprint := sum.Sum(nil)
	now := s.now()
	if err := s.Store.DeleteExpiredIdempotencyKeys(ctx, now.Add(-idempotencyWindow)); err != nil {
		return nil, nil, fromDB(err)
	}
	// A released key can vanish between the claim and the read: try again.
	for range 3 {
		createdAt, err := s.Store.ClaimIdempotencyKey(ctx, db.ClaimIdempotencyKeyParams{
			CollaboratorID: caller.ID, Key: key, Fingerprint: fingerprint, Now: now,
			ExpiredBefore: now.Add(-idempotencyWindow), AbandonedBefore: now.Add(-idempotencyAbandonAge),
		})
		if err == nil {
			return &IdempotencyClaim{callerID: caller.ID, key: key, createdAt: createdAt}, nil, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return nil, nil, fromDB(err)
		}
		row, err := s.Store.GetIdempotencyKey(ctx, db.GetIdempotencyKeyParams{CollaboratorID: caller.ID, Key: key})
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fromDB(err)
		}
		if subtle.ConstantTimeCompare(row.Fingerprint, fingerprint) != 1 {
			// A 422 like any other: errors[] names the header at fault.
			return nil, nil, &Error{Code: CodeIdempotencyKeyReused,
				Detail: "This Idempotency-Key was used with another request in the last 24 hours; use a new key.",
				Fields: []FieldError{{Field: "Idempotency-Key", Message: "was used with another request body"}}}
		}
		if row.Status == nil {
			return nil, nil, Errorf(CodeIdempotencyKeyInUse,
				"A request with this Idempotency-Key is still running; retry when it has finished.")
		}
		return nil, &StoredResponse{Status: int(*row.Status), ContentType: row.ContentType,
			Location: row.Location, ETag: row.Etag, Body: row.Body}, nil
	}
	return nil, nil, Errorf(CodeIdempotencyKeyInUse, "A request with this Idempotency-Key is still running; retry when it has finished.")
}

// Complete stores the response of a claimed request for replay.
func (s *IdempotencyService) Complete(ctx context.Context, c *IdempotencyClaim, res StoredResponse) error {
	status := int32(res.Status)
	return fromDB(s.Store.CompleteIdempotencyKey(ctx, db.CompleteIdempotencyKeyParams{
		CollaboratorID: c.callerID, Key: c.key, CreatedAt: c.createdAt, Status: &status,
		ContentType: res.ContentType, Location: res.Location, Etag: res.ETag, Body: res.Body,
	}))
}

// Release forgets a claim whose request failed on the server's side, so
// that a retry runs it again.
func (s *IdempotencyService) Release(ctx context.Context, c *IdempotencyClaim) error {
	return fromDB(s.Store.ReleaseIdempotencyKey(ctx, db.ReleaseIdempotencyKeyParams{
		CollaboratorID: c.callerID, Key: c.key, CreatedAt: c.createdAt,
	}))
}
