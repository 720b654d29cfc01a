package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"epicevents/internal/db"
)

// connectDatabase opens a pool on url and waits until the database
// answers. Only transient failures (connection refused, timeouts, a server
// starting or shutting down, too many connections) are retried, for up to
// wait, each reported to waiting; a database that does not exist, refused
// credentials or any other permanent error fail at once. Errors never
// quote the URL.
func connectDatabase(ctx context.Context, url string, opts db.PoolOptions, wait time.Duration, waiting func(error)) (*pgxpool.Pool, error) {
	pool, err := db.OpenPool(ctx, url, opts)
	if err != nil {
		// The parser's message may quote parts of the URL.
		return nil, errors.New("DATABASE_URL: is not a valid PostgreSQL URL or keyword/value connection string")
	}
	deadline := time.Now().Add(wait)
	for {
		err := pool.Ping(ctx)
		if err == nil {
			return pool, nil
		}
		if ctx.Err() != nil {
			pool.Close()
			return nil, fmt.Errorf("DATABASE_URL: stopped waiting for the database: %w", ctx.Err())
		}
		if permanent(err) {
			pool.Close()
			return nil, fmt.Errorf("DATABASE_URL: %s", describeConnectError(err))
		}
		if !time.Now().Before(deadline) {
			pool.Close()
			return nil, fmt.Errorf("DATABASE_URL: the database did not answer within %s: %s", wait, describeConnectError(err))
		}
		if waiting != nil {
			waiting(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// permanent tells the connection errors that retrying cannot cure.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutting down, starting up
			return false
		case strings.HasPrefix(pgErr.Code, "53"): // out of resources: too many connections
			return false
		case strings.HasPrefix(pgErr.Code, "08") && pgErr.Code != "08P01": // connection failures, not protocol errors
			return false
		}
		// 3D000 no such database, 28P01 wrong password, 28000 no such
		// role or no pg_hba.conf entry, 42501 no privilege, ...
		return true
	}
	var netErr net.Error // refused, unreachable, timeouts, name lookups
	switch {
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	// TLS refused or failed, and what the driver itself refuses.
	return true
}

// describeConnectError says what the server answered, or why it could not
// be reached.
func describeConnectError(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := fmt.Sprintf("the server refused the connection: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
		switch pgErr.Code {
		case "28P01":
			msg += "; check the user and password (DATABASE_PASSWORD)"
		case "3D000":
			msg += "; create it, or name another database in DATABASE_URL"
		}
		return msg
	}
	return err.Error()
}
