package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// failingDB answers every call with one error, as a dying connection would.
type failingDB struct{ err error }

func (f failingDB) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, f.err
}
func (f failingDB) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, f.err }
func (f failingDB) QueryRow(context.Context, string, ...any) pgx.Row        { return failingRow(f) }

type failingRow failingDB

func (f failingRow) Scan(...any) error { return f.err }

// Every generated method runs behind the boundary, so each way a database
// goes away reaches the services as ErrUnavailable, whichever method met it
// and whether or not its caller remembered to translate it.
func TestBoundaryTranslatesEveryWayTheDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	lost := map[string]error{
		"unexpected EOF (server crashed mid-answer)": fmt.Errorf("read: %w", io.ErrUnexpectedEOF),
		"EOF":                        io.EOF,
		"connection reset":           &net.OpError{Op: "read", Err: syscall.ECONNRESET},
		"connection refused":         &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED},
		"broken pipe":                fmt.Errorf("write: %w", syscall.EPIPE),
		"conn closed":                pgconn.ErrConnClosed,
		"deadline":                   context.DeadlineExceeded,
		"admin shutdown 57P01":       &pgconn.PgError{Code: "57P01"},
		"crash shutdown 57P02":       &pgconn.PgError{Code: "57P02"},
		"cannot connect now 57P03":   &pgconn.PgError{Code: "57P03"},
		"too many connections 53300": &pgconn.PgError{Code: "53300"},
		"connection failure 08006":   &pgconn.PgError{Code: "08006"},
		"statement timeout 57014":    &pgconn.PgError{Code: "57014"},
	}
	for name, cause := range lost {
		q := newQueries(failingDB{cause})
		ctx := context.Background()
		errs := map[string]error{}
		_, errs["QueryRow"] = q.GetCollaborator(ctx, [16]byte{1})
		_, errs["Query"] = q.PermissionsOfRole(ctx, "support")
		errs["Exec"] = q.LockBootstrap(ctx)
		for method, err := range errs {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s through %s: %v, want ErrUnavailable", name, method, err)
			}
			if !errors.Is(err, cause) {
				t.Errorf("%s through %s: the driver's error left the chain", name, method)
			}
		}
	}
}

func TestBoundaryNamesTheOtherDriverErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := newQueries(failingDB{pgx.ErrNoRows}).GetCollaborator(ctx, [16]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("no rows: %v", err)
	}
	_, err := newQueries(failingDB{&pgconn.PgError{Code: "23505", ConstraintName: "clients_email_key"}}).GetCollaborator(ctx, [16]byte{1})
	var unique *UniqueViolationError
	if !errors.As(err, &unique) || unique.Constraint != "clients_email_key" {
		t.Errorf("unique violation: %v", err)
	}
	_, err = newQueries(failingDB{&pgconn.PgError{Code: "23514", ConstraintName: "contracts_amounts"}}).GetCollaborator(ctx, [16]byte{1})
	var check *CheckViolationError
	if !errors.As(err, &check) || check.Constraint != "contracts_amounts" {
		t.Errorf("check violation: %v", err)
	}
	for _, code := range []string{"22021", "22P02", "22008", "22003"} {
		_, err := newQueries(failingDB{&pgconn.PgError{Code: code}}).GetCollaborator(ctx, [16]byte{1})
		if !errors.Is(err, ErrInvalidText) {
			t.Errorf("%s: %v, want ErrInvalidText", code, err)
		}
	}
	for _, code := range []string{"40001", "40P01"} {
		_, err := newQueries(failingDB{&pgconn.PgError{Code: code}}).GetCollaborator(ctx, [16]byte{1})
		if !errors.Is(err, ErrSerialization) {
			t.Errorf("%s: %v, want ErrSerialization", code, err)
		}
	}
	// A cancelled request (the client hung up) is not the database's loss.
	if _, err := newQueries(failingDB{context.Canceled}).GetCollaborator(ctx, [16]byte{1}); errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled: %v, not unavailable", err)
	}
}
