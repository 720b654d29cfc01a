package db

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The few database errors the service layer tells apart; every other driver
// error stays an opaque internal error.
var (
	ErrNotFound      = errors.New("db: no rows")
	ErrSerialization = errors.New("db: serialization failure")
	ErrUnavailable   = errors.New("db: database unavailable")
	ErrForeignKey    = errors.New("db: foreign key violation")
)

// UniqueViolationError names the unique constraint or index that refused a write.
type UniqueViolationError struct {
	Constraint string
}

func (e *UniqueViolationError) Error() string {
	return fmt.Sprintf("db: unique violation on %s", e.Constraint)
}

// Classify turns driver errors into this package's errors. It keeps the
// original error in the chain for logs.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSerialization) ||
		errors.Is(err, ErrUnavailable) || errors.Is(err, ErrForeignKey) {
		return err
	}
	var unique *UniqueViolationError
	if errors.As(err, &unique) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &UniqueViolationError{Constraint: pgErr.ConstraintName}
		case "23503":
			return fmt.Errorf("%w: %s", ErrForeignKey, pgErr.ConstraintName)
		case "40001", "40P01":
			return fmt.Errorf("%w: %v", ErrSerialization, err)
		case "57014": // statement timeout or cancel
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		// Class 08 (connection), 53 (resources), 57P (shutdown): the
		// database is not serving us right now.
		if len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "53" || pgErr.Code[:3] == "57P") {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}
