package service

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/pgserver"
)

// Positions keep increasing after a dump restored into a new cluster,
// whose transaction ids start low again: a reader's cursor from the old
// cluster still follows the feed there, and sees only what is new.
func TestFeedPositionsKeepIncreasingAcrossDumpAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	render := func(any) ([]byte, error) { return []byte(`{}`), nil }
	write := func(d Deps, id uuid.UUID) {
		t.Helper()
		if err := d.Store.InTx(ctx, func(q *db.Queries) error {
			return d.appendWrite(ctx, q, nil, Client{ID: id, Version: 1}, ActionCreate, Changes{}, d.now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	oldPool := dbtest.New(t)
	old := Deps{Store: db.NewStore(oldPool), Render: render}.withDefaults()
	before := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, id := range before {
		write(old, id)
	}
	cursor, err := NewFeedService(old, FeedConfig{}).Head(ctx, Caller{})
	if err != nil {
		t.Fatal(err)
	}

	bin, err := pgserver.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "dump.sql")
	if out, err := exec.Command(filepath.Join(bin, "pg_dump"), "--no-owner", "--no-privileges", "-f", dump,
		oldPool.Config().ConnString()).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	srv, stop, err := dbtest.StartThrowaway()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	admin, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE restored"); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close(ctx)
	if out, err := exec.Command(filepath.Join(bin, "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-f", dump,
		srv.URL("restored")).CombinedOutput(); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	newPool, err := db.OpenPool(ctx, srv.URL("restored"), db.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(newPool.Close)
	restored := Deps{Store: db.NewStore(newPool), Render: render}.withDefaults()
	after := uuid.New()
	write(restored, after)

	feed := NewFeedService(restored, FeedConfig{})
	all, err := feed.List(ctx, Caller{}, ListChangesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, c := range all.Changes {
		ids = append(ids, c.RecordID)
	}
	if diff := cmp.Diff(append(before, after), ids); diff != "" {
		t.Fatalf("the restored feed, oldest first (-want +got):\n%s", diff)
	}
	next, err := feed.List(ctx, Caller{}, ListChangesInput{Cursor: cursor})
	if err != nil {
		t.Fatalf("the old cluster's cursor on the new one: %v", err)
	}
	if len(next.Changes) != 1 || next.Changes[0].RecordID != after {
		t.Fatalf("after the old cursor: %+v", next.Changes)
	}
}
