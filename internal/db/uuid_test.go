package db_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
)

// TestUUIDsGoToTheWireAsBytes: a google/uuid parameter is encoded as its
// 16 bytes, not through driver.Valuer (a string built and parsed back,
// twenty allocations, which a profile of GET by id showed as a twentieth
// of the request).
func TestUUIDsGoToTheWireAsBytes(t *testing.T) {
	ctx := context.Background()
	pool, err := db.OpenPool(ctx, dbtest.URL(t), db.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tm := conn.Conn().TypeMap()
	id := uuid.New()
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		buf, err = tm.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf[:0])
	})
	if err != nil || string(buf) != string(id[:]) {
		t.Fatalf("encoded %x, %v; want %x", buf, err, id[:])
	}
	conn.Release()
	// Through driver.Valuer it takes 20.
	if allocs > 2 {
		t.Errorf("%.0f allocations per encoding, want at most 2", allocs)
	}
	var back uuid.UUID
	if err := pool.QueryRow(ctx, "SELECT $1::uuid", id).Scan(&back); err != nil || back != id {
		t.Errorf("round trip: %v, %v; want %v", back, err, id)
	}
}
