package db

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// An outage is reported once, however many reconnections it takes.
func TestListenerReportsAnOutageOnce(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	var reports, attempts atomic.Int32
	l := NewListener(cfg, func(error) { reports.Add(1) })
	l.retry = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l.onAttempt = func() { attempts.Add(1) }
	go func() { defer close(done); l.Run(ctx) }()
	for attempts.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := reports.Load(); n != 1 {
		t.Fatalf("%d reports for one outage of %d attempts", n, attempts.Load())
	}
}
