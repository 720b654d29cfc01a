package service

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
)

// A transaction that began (and appended its change) first but commits
// last is still seen by a reader that has already read past the other
// one: positions are taken at commit, not at insert. A rolled-back write
// leaves no change.
func TestFeedFollowsCommitOrderNotStartOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.New(t))
	var heard []ChangeType
	var mu sync.Mutex
	d := Deps{Store: store, Render: func(any) ([]byte, error) { return []byte(`{}`), nil },
		Committed: func(t ChangeType) { mu.Lock(); heard = append(heard, t); mu.Unlock() }}.withDefaults()
	feed := NewFeedService(d, FeedConfig{})
	head, err := feed.Head(ctx, Caller{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(q *db.Queries, id uuid.UUID) error {
		return d.appendWrite(ctx, q, nil, Client{ID: id, Version: 1}, ActionCreate, Changes{}, d.now())
	}
	early, late, rolledBack := uuid.New(), uuid.New(), uuid.New()

	appended, release, committed := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		committed <- store.InTx(ctx, func(q *db.Queries) error {
			if err := write(q, early); err != nil {
				return err
			}
			close(appended)
			<-release
			return nil
		})
	}()
	<-appended
	if err := store.InTx(ctx, func(q *db.Queries) error { return write(q, late) }); err != nil {
		t.Fatal(err)
	}

	records := func(p ChangePage) []uuid.UUID {
		out := []uuid.UUID{}
		for _, c := range p.Changes {
			out = append(out, c.RecordID)
		}
		return out
	}
	first, err := feed.List(ctx, Caller{}, ListChangesInput{Cursor: head})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uuid.UUID{late}, records(first)); diff != "" {
		t.Fatalf("while the early transaction is open (-want +got):\n%s", diff)
	}

	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := store.InTx(ctx, func(q *db.Queries) error {
		if err := write(q, rolledBack); err != nil {
			return err
		}
		return errors.New("roll back")
	}); err == nil {
		t.Fatal("the rolled-back write committed")
	}
	second, err := feed.List(ctx, Caller{}, ListChangesInput{Cursor: first.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uuid.UUID{early}, records(second)); diff != "" {
		t.Fatalf("after the early transaction committed (-want +got):\n%s", diff)
	}
	third, err := feed.List(ctx, Caller{}, ListChangesInput{Cursor: second.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Changes) != 0 || third.NextCursor != second.NextCursor {
		t.Fatalf("a rolled-back write left a change, or the cursor moved: %+v", third)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]ChangeType{ChangeClientCreated, ChangeClientCreated}, heard); diff != "" {
		t.Fatalf("committed changes heard (-want +got):\n%s", diff)
	}
}

// A page stops before 1 MiB, with at least one change, and the next page
// goes on from the last one it holds.
func TestFeedPageStopsBeforeOneMebibyte(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.New(t))
	big := []byte(`{"notes":"` + strings.Repeat("x", 200<<10) + `"}`)
	d := Deps{Store: store, Render: func(any) ([]byte, error) { return big, nil }}.withDefaults()
	feed := NewFeedService(d, FeedConfig{})
	head, err := feed.Head(ctx, Caller{})
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if err := store.InTx(ctx, func(q *db.Queries) error {
			return d.appendWrite(ctx, q, nil, Client{ID: uuid.New(), Version: 1}, ActionCreate, Changes{}, d.now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	cursor := head
	for range 3 {
		p, err := feed.List(ctx, Caller{}, ListChangesInput{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range p.Changes {
			total += len(c.Data)
		}
		if total >= 1<<20 {
			t.Fatalf("a page of %d bytes of data", total)
		}
		sizes = append(sizes, len(p.Changes))
		cursor = p.NextCursor
	}
	if diff := cmp.Diff([]int{5, 2, 0}, sizes); diff != "" {
		t.Fatalf("changes per page (-want +got):\n%s", diff)
	}
}

func TestChangeCursorCodec(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 42, 1 << 62} {
		got, err := decodeChangeCursor(encodeChangeCursor(n))
		if err != nil || got != n {
			t.Errorf("round trip of %d: %d, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "!!", "cDA1YQ", "eDE", "cC0x", "cDAx"} {
		if _, err := decodeChangeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
