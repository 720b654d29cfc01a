package service

import (
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// ownerFilter reads a "me" or UUID filter on a collaborator.
func ownerFilter(caller Caller, param, value string) (*uuid.UUID, error) {
	switch {
	case value == "":
		return nil, nil
	case value == "me":
		return &caller.ID, nil
	}
	return idFilter(param, value)
}

// idFilter reads a UUID filter; another form is a 422 naming it.
func idFilter(param, value string) (*uuid.UUID, error) {
	if value == "" {
		return nil, nil
	}
	u, ok := parseID(value)
	if !ok {
		return nil, InvalidField(param, "must be a UUID")
	}
	return &u, nil
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

// joinInvalid merges the validation errors of a list request into one 422.
// Another error (a malformed cursor, 400) comes first, as the contract
// orders 400 before 422.
func joinInvalid(errs ...error) error {
	var fields []FieldError
	for _, err := range errs {
		var e *Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Code == CodeValidation:
			fields = append(fields, e.Fields...)
		default:
			return err
		}
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}
