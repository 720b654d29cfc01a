package http_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"epicevents/internal/apitest"
)

// queryCounter is a pgx tracer that counts the round trips to PostgreSQL,
// by kind: a statement is one, and so is a batch of them.
type queryCounter struct {
	mu     sync.Mutex
	counts queryCounts
}

type queryCounts struct {
	// RoundTrips counts every statement but BEGIN, COMMIT, ROLLBACK, the
	// audit row, the change row and the job queue's, a batch once.
	RoundTrips int
	Audit      int
	Changes    int
	// Jobs counts the statements of the job queue: inserting a job, and
	// River's notice to its workers that one is ready.
	Jobs int
	// Transactions counts BEGINs.
	Transactions int
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	sql := strings.TrimSpace(data.SQL)
	switch {
	case strings.EqualFold(sql, "begin"), strings.HasPrefix(strings.ToLower(sql), "begin "):
		c.counts.Transactions++
	case strings.EqualFold(sql, "commit"), strings.EqualFold(sql, "rollback"):
	case strings.Contains(sql, "INSERT INTO audit_entries"):
		c.counts.Audit++
	case strings.Contains(sql, "INSERT INTO changes"):
		c.counts.Changes++
	case strings.Contains(sql, "river_job"), strings.Contains(sql, "pg_notify"):
		c.counts.Jobs++
	default:
		c.counts.RoundTrips++
	}
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.RoundTrips++
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// during counts the statements fn sends.
func (c *queryCounter) during(fn func()) queryCounts {
	c.mu.Lock()
	c.counts = queryCounts{}
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts
}

// TestQueriesPerRequest: a read of one record is one round trip (the
// session check and the read, batched), a list at most two whatever its
// length, and a write at most three beside its audit row, its change row
// and its fan-out job: the session check, the lock sent with the read of
// the record (or the check of an id in the body), and the write sent with
// the read of its result.
func TestQueriesPerRequest(t *testing.T) {
	counter := &queryCounter{}
	api := apitest.New(t, apitest.Options{Tracer: counter})
	commercialID, commercial := api.CreateCollaborator(unique("com"), "commercial")
	supportID, _ := api.CreateCollaborator(unique("sup"), "support")
	var clientID, contractID, eventID string
	for range 6 {
		clientID = newClient(t, api, commercial)
		contractID = newContract(t, api, clientID, "1000.00", true)
		eventID = newEvent(t, api, commercial, contractID, 48*time.Hour)
		assignSupport(t, api, eventID, supportID)
	}

	for _, path := range []string{
		"/v1/me", "/v1/collaborators/" + commercialID, "/v1/clients/" + clientID,
		"/v1/contracts/" + contractID, "/v1/events/" + eventID,
	} {
		got := counter.during(func() { expect(t, api.Get(path, commercial), http.StatusOK) })
		if diff := cmp.Diff(queryCounts{RoundTrips: 1}, got); diff != "" {
			t.Errorf("GET %s: want the session check and the read in one round trip (-want +got):\n%s", path, diff)
		}
	}

	// A personal access token's check shares the round trip of a read the
	// path names; its first use also notes last_used_at, so it is warmed.
	pat := expect(t, api.Post("/v1/me/tokens", commercial, map[string]any{"name": "count",
		"scopes": []string{"collaborator:read", "client:read", "contract:read", "event:read"}}), http.StatusCreated)["token"].(string)
	expect(t, api.Get("/v1/clients/"+clientID, pat), http.StatusOK)
	for _, path := range []string{
		"/v1/collaborators/" + commercialID, "/v1/clients/" + clientID,
		"/v1/contracts/" + contractID, "/v1/events/" + eventID,
	} {
		got := counter.during(func() { expect(t, api.Get(path, pat), http.StatusOK) })
		if diff := cmp.Diff(queryCounts{RoundTrips: 1}, got); diff != "" {
			t.Errorf("GET %s with a personal access token: want its check and the read in one round trip (-want +got):\n%s", path, diff)
		}
	}

	// The first search reads the sample the searches plan with (once in
	// ten minutes); then a term no row holds goes to the trigram index
	// alone, and a term of no trigram tests the rows in order alone.
	expect(t, api.Get("/v1/clients?q=first", commercial), http.StatusOK)
	for _, list := range []string{
		"/v1/clients?q=zzzz&", "/v1/clients?q=a.b&",
		"/v1/collaborators?", "/v1/clients?", "/v1/clients?commercial=me&", "/v1/contracts?",
		"/v1/contracts?commercial=me&signed=true&", "/v1/events?", "/v1/events?support=" + supportID + "&",
		"/v1/events/" + eventID + "/history?", "/v1/clients/" + clientID + "/history?",
	} {
		token := commercial
		if strings.Contains(list, "/history") {
			token = api.ManagerToken
		}
		one := counter.during(func() { expect(t, api.Get(list+"limit=1", token), http.StatusOK) })
		many := counter.during(func() { expect(t, api.Get(list+"limit=100", token), http.StatusOK) })
		if diff := cmp.Diff(one, many); diff != "" {
			t.Errorf("GET %s: a page of 100 costs other statements than a page of 1 (-1 +100):\n%s", list, diff)
		}
		// A history also checks that its record exists.
		want := 2
		if strings.Contains(list, "/history") {
			want = 3
		}
		if one.RoundTrips > want {
			t.Errorf("GET %s: %d round trips, want at most %d", list, one.RoundTrips, want)
		}
	}

	writes := []struct {
		name string
		do   func() apitest.Response
		want int
	}{
		{"POST /v1/clients", func() apitest.Response {
			return api.Post("/v1/clients", commercial, map[string]any{
				"full_name": "Query Count", "email": unique("qc") + "@example.test", "phone": "+33 6 00 00 00 00",
			})
		}, http.StatusCreated},
		{"POST /v1/contracts", func() apitest.Response {
			return api.Post("/v1/contracts", api.ManagerToken, map[string]any{"client_id": clientID, "total_amount": "10.00"})
		}, http.StatusCreated},
		{"POST /v1/events", func() apitest.Response {
			return api.Post("/v1/events", commercial, map[string]any{
				"contract_id": contractID, "name": "Query Count", "attendees": 3, "location": "Paris",
				"start_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
				"end_at":   time.Now().Add(73 * time.Hour).UTC().Format(time.RFC3339),
			})
		}, http.StatusCreated},
		{"PATCH /v1/clients/{id}", func() apitest.Response {
			return api.Patch("/v1/clients/"+clientID, commercial, map[string]any{"company_name": unique("Company ")})
		}, http.StatusOK},
		{"PATCH /v1/contracts/{id}", func() apitest.Response {
			return api.Patch("/v1/contracts/"+contractID, api.ManagerToken, map[string]any{"amount_due": "12.00"})
		}, http.StatusOK},
		{"PATCH /v1/events/{id}", func() apitest.Response {
			return api.Patch("/v1/events/"+eventID, api.ManagerToken, map[string]any{"attendees": 12})
		}, http.StatusOK},
	}
	for _, w := range writes {
		got := counter.during(func() { expect(t, w.do(), w.want) })
		// Beside the audit row, the change row and the fan-out job: the
		// session check, the lock and read (or a check), the write and its
		// read-back.
		if got.RoundTrips > 3 || got.Audit != 1 || got.Changes != 1 || got.Jobs > 2 || got.Transactions != 1 {
			t.Errorf("%s: %+v, want at most 3 round trips, one audit row, one change row and one job (two statements), in one transaction", w.name, got)
		}
	}
}

// TestReadsWithTheSessionCheckStillSeeRevocation: the record read in the
// session check's round trip is served only to an open session, on the
// very next request after it ends; a path id that is not a UUID or names
// nothing is still 404, and a bad token still 401 first.
func TestReadsWithTheSessionCheckStillSeeRevocation(t *testing.T) {
	api := apitest.New(t)
	_, commercial := api.CreateCollaborator(unique("com"), "commercial")
	clientID := newClient(t, api, commercial)
	paths := []string{"/v1/me", "/v1/clients/" + clientID}

	for _, path := range paths {
		expect(t, api.Get(path, commercial), http.StatusOK)
	}
	apitest.AssertProblem(t, api.Get("/v1/clients/not-a-uuid", commercial), http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, api.Get("/v1/clients/00000000-0000-4000-8000-000000000000", commercial), http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, api.Get("/v1/clients/not-a-uuid", "garbage"), http.StatusUnauthorized, "unauthenticated")

	expect(t, api.Post("/v1/auth/logout", commercial, nil), http.StatusNoContent)
	for _, path := range paths {
		apitest.AssertProblem(t, api.Get(path, commercial), http.StatusUnauthorized, "unauthenticated")
	}
}
