package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The few database errors the service layer tells apart. Every error that
// leaves this package through the Store is one of these, a
// *UniqueViolationError, a *CheckViolationError, or an opaque internal
// error; the driver's own types never travel further.
var (
	ErrNotFound      = errors.New("db: no rows")
	ErrSerialization = errors.New("db: serialization failure")
	ErrUnavailable   = errors.New("db: database unavailable")
	ErrForeignKey    = errors.New("db: foreign key violation")
	// ErrInvalidText is a value the database refuses to read (a NUL byte,
	// an out-of-range date or number): input validation should have
	// stopped it, so it is a client's bad value, never a crash.
	ErrInvalidText = errors.New("db: invalid value")
)

// UniqueViolationError names the unique constraint or index that refused a write.
type UniqueViolationError struct {
	Constraint string
}

func (e *UniqueViolationError) Error() string {
	return fmt.Sprintf("db: unique violation on %s", e.Constraint)
}

// CheckViolationError names the check constraint that refused a write.
type CheckViolationError struct {
	Constraint string
}

func (e *CheckViolationError) Error() string {
	return fmt.Sprintf("db: check violation on %s", e.Constraint)
}

// classified wraps a translated error: Is and As see the db error first
// and the driver's error behind it, for logs.
type classified struct {
	kind  error
	cause error
}

func (c *classified) Error() string { return c.kind.Error() + ": " + c.cause.Error() }
func (c *classified) Unwrap() []error {
	return []error{c.kind, c.cause}
}

func wrap(kind, cause error) error { return &classified{kind: kind, cause: cause} }

// Classify turns driver errors into this package's errors, keeping the
// original in the chain for logs. It is applied once, at the store
// boundary (see classifyingDB); calling it again is harmless.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var done *classified
	var unique *UniqueViolationError
	var check *CheckViolationError
	if errors.As(err, &done) || errors.As(err, &unique) || errors.As(err, &check) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return wrap(ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifyServerError(pgErr, err)
	}
	if lostConnection(err) {
		return wrap(ErrUnavailable, err)
	}
	return err
}

func classifyServerError(pgErr *pgconn.PgError, err error) error {
	switch pgErr.Code {
	case "23505":
		return &UniqueViolationError{Constraint: pgErr.ConstraintName}
	case "23514":
		return &CheckViolationError{Constraint: pgErr.ConstraintName}
	case "23503":
		return wrap(ErrForeignKey, err)
	case "40001", "40P01":
		return wrap(ErrSerialization, err)
	case "57014": // statement timeout or cancel
		return wrap(ErrUnavailable, err)
	}
	switch pgErr.Code[:min(2, len(pgErr.Code))] {
	case "22": // data exception: bad encoding, NUL, out-of-range values
		return wrap(ErrInvalidText, err)
	case "08", "53", "58": // connection, resources, system errors
		return wrap(ErrUnavailable, err)
	case "57": // operator intervention: shutdown, crash, cannot connect now
		return wrap(ErrUnavailable, err)
	}
	return err
}

// lostConnection reports the ways a connection dies without a server
// error: the socket closed under us (EOF mid-message when the server
// crashes), was reset or refused, the pool is closed, or the request's
// deadline passed while waiting.
func lostConnection(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.As(err, &netErr) || errors.As(err, &connectErr) || pgconn.SafeToRetry(err)
}
