package http_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func postWithKey(api *apitest.API, path, token, key string, body any) apitest.Response {
	api.T.Helper()
	return withHeader(api, "POST", path, token, body, map[string]string{"Idempotency-Key": key})
}

func TestIdempotentRetryReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	body := map[string]any{"full_name": "Kevin Casey", "email": "kevin@startup.io", "phone": "123456"}
	first := postWithKey(api, "/v1/clients", bill, "create-kevin-1", body)
	created := expect(t, first, http.StatusCreated)
	// The same object serialised otherwise is the same request.
	retry := postWithKey(api, "/v1/clients", bill, "create-kevin-1",
		`{ "phone": "123456", "email": "kevin@startup.io",  "full_name": "Kevin Casey" }`)
	if retry.Status != 201 || string(retry.Body) != string(first.Body) ||
		retry.Header.Get("Location") != first.Header.Get("Location") || retry.Header.Get("ETag") != `"1"` ||
		retry.Header.Get("Content-Type") != "application/json" || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", retry.Status, retry.Header, retry.Body)
	}
	if n := api.Count(`SELECT count(*) FROM clients`); n != 1 {
		t.Fatalf("clients = %d", n)
	}
	if n := auditCount(api, created["id"].(string)); n != 1 {
		t.Fatalf("audit rows = %d", n)
	}

	// Another body, or another route, with the same key is a misuse.
	other := map[string]any{"full_name": "Other", "email": "other@startup.io", "phone": "123456"}
	reused := apitest.AssertProblem(t, postWithKey(api, "/v1/clients", bill, "create-kevin-1", other), 422, "idempotency-key-reused")
	if got := apitest.FieldsOf(reused); !slices.Equal(got, []string{"Idempotency-Key"}) {
		t.Fatalf("idempotency-key-reused names %v, want the header", got)
	}
	apitest.AssertProblem(t, postWithKey(api, "/v1/events", bill, "create-kevin-1", body), 422, "idempotency-key-reused")
	// Keys belong to their caller: another commercial's same key is theirs.
	_, anna := api.CreateCollaborator("anna", "commercial")
	res := postWithKey(api, "/v1/clients", anna, "create-kevin-1", other)
	if expect(t, res, 201); res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replayed another caller's answer")
	}

	// Error answers are replayed too, without running again.
	dup := postWithKey(api, "/v1/clients", bill, "dup-1", body)
	apitest.AssertProblem(t, dup, 409, "duplicate")
	replayed := postWithKey(api, "/v1/clients", bill, "dup-1", body)
	if replayed.Status != 409 || string(replayed.Body) != string(dup.Body) || replayed.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("error replay: %d %s", replayed.Status, replayed.Body)
	}

	// After 24 h the key is free again.
	api.Clock.Advance(24*time.Hour + time.Second)
	bill = api.Login("bill", apitest.CollaboratorPassword)
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", bill, "create-kevin-1", body), 409, "duplicate")
	if n := api.Count(`SELECT count(*) FROM idempotency_keys WHERE created_at < $1`, api.Clock.Now().Add(-24*time.Hour)); n != 0 {
		t.Fatalf("expired keys kept: %d", n)
	}
}

func TestIdempotencyKeyOnEveryCreateRoute(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	collaborator := map[string]any{"employee_number": 900, "first_name": "Kate", "last_name": "Hastroff",
		"email": "kate@epic-events.test", "username": "kate", "department": "support", "password": "a-perfectly-fine-password"}
	clientID := newClient(t, api, bill)
	contract := map[string]any{"client_id": clientID, "total_amount": "10", "signed": true}
	cases := []struct {
		path, token, table string
		body               func() any
	}{
		{"/v1/collaborators", api.ManagerToken, "collaborators", func() any { return collaborator }},
		{"/v1/contracts", api.ManagerToken, "contracts", func() any { return contract }},
		{"/v1/events", bill, "events", func() any {
			var contractID string
			_ = api.Pool.QueryRow(context.Background(), `SELECT id FROM contracts LIMIT 1`).Scan(&contractID)
			return map[string]any{"contract_id": contractID, "name": "Party", "start_at": "2099-01-01T10:00:00Z",
				"end_at": "2099-01-01T12:00:00Z", "location": "", "attendees": 1}
		}},
	}
	for _, c := range cases {
		before := api.Count(`SELECT count(*) FROM ` + c.table)
		body := c.body()
		first := postWithKey(api, c.path, c.token, "k-"+c.table, body)
		expect(t, first, 201)
		again := postWithKey(api, c.path, c.token, "k-"+c.table, body)
		if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("%s: replay %d %s", c.path, again.Status, again.Body)
		}
		if n := api.Count(`SELECT count(*) FROM ` + c.table); n != before+1 {
			t.Fatalf("%s: %d rows, want %d", c.path, n, before+1)
		}
	}
}

func TestIdempotencyKeyErrorsComeInOrder(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, kate := api.CreateCollaborator("kate", "support")
	body := map[string]any{"full_name": "A", "email": "a@x.test", "phone": "123456"}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'k'
	}
	for _, key := range []string{"", "has space", string(long), "é"} {
		res := postWithKey(api, "/v1/clients", bill, key, body)
		b := apitest.AssertProblem(t, res, 422, "validation")
		if fields := apitest.FieldsOf(b); len(fields) != 1 || fields[0] != "Idempotency-Key" {
			t.Fatalf("key %q: %s", key, res.Body)
		}
	}
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", kate, "k", body), 403, "forbidden")
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", "", "k", body), 401, "unauthenticated")
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", bill, "bad key", "[1]"), 400, "malformed-request")
	apitest.AssertProblem(t, withHeader(api, "POST", "/v1/clients", bill, "{}",
		map[string]string{"Idempotency-Key": "bad key", "Content-Type": "text/plain"}), 415, "unsupported-media-type")
	if n := api.Count(`SELECT count(*) FROM clients`) + api.Count(`SELECT count(*) FROM idempotency_keys`); n != 0 {
		t.Fatalf("refused requests wrote %d rows", n)
	}
}

func TestRetryWhileTheFirstRequestRunsIsInUse(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	body := map[string]any{"full_name": "Kevin", "email": "kevin@startup.io", "phone": "123456"}

	// Hold the first request inside its transaction by locking the table
	// it writes to.
	ctx := context.Background()
	tx, err := api.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE clients IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	firstDone := make(chan apitest.Response, 1)
	go func() { firstDone <- postWithKey(api, "/v1/clients", bill, "slow", body) }()
	for api.Count(`SELECT count(*) FROM idempotency_keys WHERE key = 'slow' AND status IS NULL`) == 0 {
		time.Sleep(5 * time.Millisecond) // waiting for the first request to claim its key
	}
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", bill, "slow", body), 409, "idempotency-key-in-use")
	apitest.AssertProblem(t, postWithKey(api, "/v1/clients", bill, "slow", map[string]any{"full_name": "X"}), 422, "idempotency-key-reused")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	first := <-firstDone
	expect(t, first, 201)
	again := postWithKey(api, "/v1/clients", bill, "slow", body)
	if again.Status != 201 || string(again.Body) != string(first.Body) {
		t.Fatalf("replay after the first finished: %d %s", again.Status, again.Body)
	}

	// Many at once: one creates, every other one is in use or a replay.
	var wg sync.WaitGroup
	results := make([]apitest.Response, 8)
	body["email"] = "burst@startup.io"
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = postWithKey(api, "/v1/clients", bill, "burst", body)
		}()
	}
	wg.Wait()
	created := 0
	for _, res := range results {
		switch {
		case res.Status == 201 && res.Header.Get("Idempotent-Replayed") == "":
			created++
		case res.Status == 201, res.Status == 409:
		default:
			t.Fatalf("burst answer %d %s", res.Status, res.Body)
		}
	}
	if created != 1 || api.Count(`SELECT count(*) FROM clients WHERE email = 'burst@startup.io'`) != 1 {
		t.Fatalf("burst created %d", created)
	}
}
