package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"epicevents/internal/apitest"
)

// The benchmarks measure a request through the real router and database,
// without the contract checks of apitest (they would dominate). Run them
// with
//
//	go test -run '^$' -bench . -benchmem ./internal/http/
//
// on a database seeded with benchRows clients, contracts and events.
const benchRows = 20000

type benchAPI struct {
	*apitest.API
	token     string
	contract  string
	kate      string
	deepQuery string
}

func newBenchAPI(b *testing.B) *benchAPI {
	b.Helper()
	api := apitest.New(b)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	ctx := context.Background()
	seed := []string{
		`INSERT INTO clients (full_name, email, phone, company_name, commercial_id, first_contact_at, last_contact_at, created_at, updated_at)
		 SELECT 'Client ' || i, 'client' || i || '@example.test', '+33 1 23 45 67 89', 'Company ' || (i % 500),
		        $1::uuid, now() - i * interval '1 minute', now() - i * interval '1 minute', now() - i * interval '1 second', now()
		 FROM generate_series(1, $2::int) AS i`,
		`INSERT INTO contracts (client_id, total_amount, amount_due, currency, signed, signed_at, created_at, updated_at)
		 SELECT id, 1000 + (row_number() OVER ()) % 9000, (row_number() OVER ()) % 1000, 'EUR', true, now(), created_at, now()
		 FROM clients`,
		`INSERT INTO events (contract_id, name, support_id, start_at, end_at, timezone, location, attendees, created_at, updated_at)
		 SELECT id, 'Event of ' || id, CASE WHEN (row_number() OVER ()) % 3 = 0 THEN $1::uuid END,
		        now() + (row_number() OVER ()) * interval '1 hour', now() + (row_number() OVER ()) * interval '1 hour' + interval '4 hours',
		        'Europe/Paris', 'Paris', 50, created_at, now()
		 FROM contracts`,
		`ANALYZE`,
	}
	for i, sql := range seed {
		var args []any
		switch i {
		case 0:
			args = []any{billID, benchRows}
		case 2:
			args = []any{kateID}
		}
		if _, err := api.Pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	var contract string
	if err := api.Pool.QueryRow(ctx, `SELECT id::text FROM contracts LIMIT 1`).Scan(&contract); err != nil {
		b.Fatal(err)
	}
	ba := &benchAPI{API: api, token: bill, contract: contract, kate: kateID}
	// A cursor half-way through the client list, for deep pages.
	next := ""
	for range benchRows / 2 / 100 {
		body := ba.get(b, "/v1/clients?limit=100"+next)
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(body, &page)
		next = "&cursor=" + page.NextCursor
	}
	ba.deepQuery = next
	return ba
}

func (a *benchAPI) serve(b *testing.B, method, path, body string) []byte {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, req)
	if w.Code >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

func (a *benchAPI) get(b *testing.B, path string) []byte { return a.serve(b, http.MethodGet, path, "") }

func BenchmarkAPI(b *testing.B) {
	api := newBenchAPI(b)
	reads := []struct{ name, path string }{
		{"me", "/v1/me"},
		{"get contract", "/v1/contracts/" + api.contract},
		{"clients first page", "/v1/clients"},
		{"clients deep page", "/v1/clients?limit=100" + api.deepQuery},
		{"clients by name", "/v1/clients?sort=full_name&limit=100"},
		{"clients search", "/v1/clients?q=company+42"},
		{"contracts by amount due", "/v1/contracts?sort=-amount_due&fully_paid=false"},
		{"events of a support", "/v1/events?support=" + api.kate},
		{"events without support", "/v1/events?support=none&limit=100"},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				api.get(b, r.path)
			}
		})
	}
	b.Run("create client", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			api.serve(b, http.MethodPost, "/v1/clients", fmt.Sprintf(
				`{"full_name": "Kevin Casey", "email": "kevin%d@startup.io", "phone": "+678 123 456 78", "company_name": "Cool Startup LLC"}`, n))
		}
	})
}
