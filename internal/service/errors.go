package service

import (
	"errors"
	"fmt"
	"time"

	"epicevents/internal/db"
)

// Code is a problem slug of the API contract. Every failure the API reports
// carries one; the HTTP layer maps each to its status in one place.
type Code string

// The problem slugs of the contract.
const (
	CodeMalformedRequest     Code = "malformed-request"
	CodeValidation           Code = "validation"
	CodeUnauthenticated      Code = "unauthenticated"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not-found"
	CodeMethodNotAllowed     Code = "method-not-allowed"
	CodeDuplicate            Code = "duplicate"
	CodeContractSigned       Code = "contract-signed"
	CodeContractNotSigned    Code = "contract-not-signed"
	CodeEventFinished        Code = "event-finished"
	CodeHasDependents        Code = "collaborator-has-dependents"
	CodeLastManager          Code = "last-manager"
	CodeIdempotencyKeyInUse  Code = "idempotency-key-in-use"
	CodePreconditionFailed   Code = "precondition-failed"
	CodePayloadTooLarge      Code = "payload-too-large"
	CodeUnsupportedMediaType Code = "unsupported-media-type"
	CodeIdempotencyKeyReused Code = "idempotency-key-reused"
	CodeRateLimited          Code = "rate-limited"
	CodeInternal             Code = "internal"
	CodeUnavailable          Code = "unavailable"
	CodeLimitReached         Code = "limit-reached"
	CodeCursorExpired        Code = "cursor-expired"
	CodeDeliveryInFlight     Code = "delivery-in-flight"
)

// FieldError names one input field and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// Error is the one error type the API reports to callers. Anything else
// that reaches the HTTP layer is an internal error whose text stays in logs.
type Error struct {
	Code   Code
	Detail string
	Fields []FieldError
	// RetryAfter is set for rate-limited and unavailable errors.
	RetryAfter time.Duration
	// cause is kept for logs; it is never shown to callers.
	cause error
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	for _, f := range e.Fields {
		msg += fmt.Sprintf(" [%s: %s]", f.Field, f.Message)
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.cause }

// Errorf builds an Error with a detail message for the caller.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Invalid is a validation error naming the given fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeValidation, Detail: "The request has invalid fields.", Fields: fields}
}

// InvalidField is a validation error on one field.
func InvalidField(field, message string) *Error {
	return Invalid(FieldError{Field: field, Message: message})
}

// ErrorCode returns the code of a service error, or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// errNotFound is the answer for a record that does not exist.
func errNotFound(what string) *Error {
	return Errorf(CodeNotFound, "No %s has this id.", what)
}

// fromDB turns the db package's errors into service errors; unknown errors
// pass through and become internal errors at the edge.
func fromDB(err error) error {
	if err == nil {
		return nil
	}
	if e := asKnown(err); e != nil {
		return e
	}
	return err
}

// AsError is the domain error behind err: a service error as it is, a
// database error as the domain names it, anything else internal (its text
// stays in the cause, for logs). The HTTP layer reads every failure through
// it, so a write that forgot to translate a database loss still answers
// 503, never 500.
func AsError(err error) *Error {
	if e := asKnown(err); e != nil {
		return e
	}
	return &Error{Code: CodeInternal,
		Detail: "Something went wrong on our side; quote the request id if you report it.", cause: err}
}

func asKnown(err error) *Error {
	var svcErr *Error
	if errors.As(err, &svcErr) {
		return svcErr
	}
	var unique *db.UniqueViolationError
	var check *db.CheckViolationError
	switch {
	case errors.As(err, &unique):
		field, ok := uniqueFields[unique.Constraint]
		if !ok {
			field = "id"
		}
		return &Error{Code: CodeDuplicate, Detail: "A record with this " + field + " already exists.",
			Fields: []FieldError{{Field: field, Message: "is already taken"}}, cause: err}
	case errors.Is(err, db.ErrUnavailable):
		return &Error{Code: CodeUnavailable, Detail: "The database is not answering; try again shortly.",
			RetryAfter: 2 * time.Second, cause: err}
	case errors.As(err, &check), errors.Is(err, db.ErrInvalidText):
		// Input parsing keeps these out; should one slip through, the
		// client's value was at fault and nothing was written.
		return &Error{Code: CodeValidation, Detail: "The request holds a value that cannot be stored.",
			Fields: []FieldError{{Field: "body", Message: "holds a value that cannot be stored"}}, cause: err}
	}
	return nil
}

// uniqueFields names the input field behind each unique index.
var uniqueFields = map[string]string{
	"collaborators_employee_number_key": "employee_number",
	"collaborators_email_key":           "email",
	"collaborators_username_key":        "username",
	"clients_email_key":                 "email",
}
