package service

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// CollaboratorFilter narrows a list to the records of one collaborator
// (ID), or to those with none (None); the zero value does not filter.
type CollaboratorFilter struct {
	ID   *uuid.UUID
	None bool
}

// key renders the filter for a cursor's fingerprint.
func (f CollaboratorFilter) key() string {
	if f.None {
		return "none"
	}
	return idString(f.ID)
}

// boolFilter renders a boolean filter for a cursor's fingerprint.
func boolFilter(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// optional makes an empty filter value "no filter".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func idString(u *uuid.UUID) string {
	if u == nil {
		return ""
	}
	return u.String()
}

func timeString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatInstant(*t)
}

// afterInstant reads the instant a cursor of a time-sorted list holds.
func afterInstant(lq listQuery) (*time.Time, error) {
	if lq.after == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, lq.after.Key)
	if err != nil {
		return nil, errBadCursor
	}
	return &t, nil
}

// newestFirst pages a list whose only order is -created_at: fetch reads
// the rows after the cursor's (created_at, id), or from the start when
// after is nil.
func newestFirst[R, T any](lq listQuery, fetch func(after *time.Time, afterID uuid.UUID, limit int32) ([]R, error),
	toItem func(R) T, keyOf func(R) (time.Time, uuid.UUID)) (Page[T], error) {
	after, err := afterInstant(lq)
	if err != nil {
		return Page[T]{}, err
	}
	var afterID uuid.UUID
	if lq.after != nil {
		afterID = lq.after.ID
	}
	rows, err := fetch(after, afterID, lq.fetchLimit())
	if err != nil {
		return Page[T]{}, fromDB(err)
	}
	return paginate(lq, rows, toItem, func(r R) (string, uuid.UUID) {
		at, id := keyOf(r)
		return formatInstant(at), id
	}), nil
}

var errBadCursor = Errorf(CodeMalformedRequest, "The cursor is not one this list gave out.")

func derefOr[T any](v *T, fallback T) T {
	if v == nil {
		return fallback
	}
	return *v
}
