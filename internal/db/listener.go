package db

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is where the change feed's commit trigger notifies.
const ChangesChannel = "epicevents_changes"

// Listener is the one connection of a process that LISTENs for committed
// changes, outside the pool, and wakes every held reader: readers wait on
// a channel, not on a connection.
type Listener struct {
	cfg     *pgx.ConnConfig
	retry   time.Duration
	onError func(error)
	// onAttempt, for tests, hears of each connection attempt.
	onAttempt func()

	mu      sync.Mutex
	changed chan struct{}
	ready   chan struct{}
	readyOK bool
}

// NewListener prepares a listener on the database cfg names; Run starts it.
// onError hears of lost connections (nil ignores them).
func NewListener(cfg *pgx.ConnConfig, onError func(error)) *Listener {
	if onError == nil {
		onError = func(error) {}
	}
	return &Listener{cfg: cfg.Copy(), retry: 500 * time.Millisecond, onError: onError, onAttempt: func() {},
		changed: make(chan struct{}), ready: make(chan struct{})}
}

// Changed returns a channel closed at the next notification, or when the
// connection is back after a loss (anything may have committed meanwhile).
func (l *Listener) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Ready is closed once the listener first listens.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

func (l *Listener) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
}

// Run listens until ctx ends, reconnecting every half second after a loss;
// onError hears of the first failure of each outage only.
func (l *Listener) Run(ctx context.Context) {
	reported := false
	for ctx.Err() == nil {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			reported = false
		}
		if !reported {
			l.onError(Classify(err))
			reported = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.retry):
		}
	}
}

// listen holds one connection until it fails; listened says whether it
// got as far as listening.
func (l *Listener) listen(ctx context.Context) (listened bool, err error) {
	l.onAttempt()
	connectCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, l.cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		return false, err
	}
	l.mu.Lock()
	if !l.readyOK {
		l.readyOK = true
		close(l.ready)
	}
	l.mu.Unlock()
	// Whatever committed while we were away is there to read.
	l.wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		l.wake()
	}
}
