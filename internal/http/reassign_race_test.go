package http_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// A client reassigned while its commercial creates an event: the creation
// waits for the reassignment and then sees that the client is no longer
// theirs.
func TestEventCreationWaitsForAClientReassignment(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	annaID, _ := api.CreateCollaborator("anna", "commercial")
	clientID := newClient(t, api, bill)
	contractID := newContract(t, api, clientID, "1000", true)

	ctx := context.Background()
	tx, err := api.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `UPDATE clients SET commercial_id = $1 WHERE id = $2`, annaID, clientID); err != nil {
		t.Fatal(err)
	}
	done := make(chan apitest.Response, 1)
	go func() {
		done <- api.Post("/v1/events", bill, map[string]any{
			"contract_id": contractID, "name": "Late booking", "start_at": instant(api, time.Hour),
			"end_at": instant(api, 3*time.Hour), "location": "Paris", "attendees": 10,
		})
	}()
	// Commit the reassignment once the creation waits on the client's row
	// (or has answered, which would be the bug).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(done) == 0 &&
		api.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res := <-done
	apitest.AssertProblem(t, res, http.StatusForbidden, "forbidden")
	if n := api.Count(`SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("an event was created for a client that is no longer the caller's: %d", n)
	}
}
