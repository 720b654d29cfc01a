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

var errBadCursor = Errorf(CodeMalformedRequest, "The cursor is not one this list gave out.")

func derefOr[T any](v *T, fallback T) T {
	if v == nil {
		return fallback
	}
	return *v
}
