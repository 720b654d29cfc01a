package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestCreateClientAssignsItToItsCreator(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	res := api.Post("/v1/clients", bill, map[string]any{
		"full_name": "Kevin Casey", "email": "kevin@startup.io", "phone": "+678 123 456 78",
		"company_name": "Cool Startup LLC", "first_contact_at": "2021-04-18T02:00:00+02:00",
	})
	body := expect(t, res, http.StatusCreated)
	id := body["id"].(string)
	if res.Header.Get("Location") != "/v1/clients/"+id || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("headers: %v", res.Header)
	}
	commercial := body["commercial"].(map[string]any)
	now := api.Clock.Now().UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	if commercial["id"] != billID || commercial["full_name"] != "Test Tester" ||
		body["full_name"] != "Kevin Casey" || body["company_name"] != "Cool Startup LLC" ||
		body["first_contact_at"] != "2021-04-18T00:00:00Z" || body["last_contact_at"] != now ||
		body["version"].(float64) != 1 || body["created_at"] != now {
		t.Fatalf("client: %s", res.Body)
	}
	got := expect(t, api.Get("/v1/clients/"+id, bill), http.StatusOK)
	if got["email"] != "kevin@startup.io" || got["phone"] != "+678 123 456 78" {
		t.Fatalf("read back: %v", got)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'create'
		AND actor_id = $2 AND changes->'email'->>'to' = 'kevin@startup.io'`, id, billID); n != 1 {
		t.Fatalf("create audit rows = %d", n)
	}

	// Optional company_name comes back as "".
	res = api.Post("/v1/clients", bill, map[string]any{"full_name": "Solo", "email": "solo@x.test", "phone": "0123456"})
	if body := expect(t, res, http.StatusCreated); body["company_name"] != "" {
		t.Fatalf("company_name %v", body["company_name"])
	}
}

func TestCreateClientValidatesEveryField(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	long := strings.Repeat("a", 201)
	cases := []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"email", "full_name", "phone"}},
		{"bad values", map[string]any{"full_name": " ", "email": "not-an-email", "phone": "abc"}, []string{"email", "full_name", "phone"}},
		{"phone without digits", map[string]any{"full_name": "A", "email": "a@x.test", "phone": "((((((("}, []string{"phone"}},
		{"phone too short", map[string]any{"full_name": "A", "email": "a@x.test", "phone": "12345"}, []string{"phone"}},
		{"too long", map[string]any{"full_name": long, "email": "a@x.test", "phone": "123456", "company_name": long}, []string{"company_name", "full_name"}},
		{"naive instant", map[string]any{"full_name": "A", "email": "a@x.test", "phone": "123456", "first_contact_at": "2021-04-18T00:00:00"}, []string{"first_contact_at"}},
		{"date only", map[string]any{"full_name": "A", "email": "a@x.test", "phone": "123456", "last_contact_at": "2021-04-18"}, []string{"last_contact_at"}},
		{"wrong types", map[string]any{"full_name": 5, "email": "a@x.test", "phone": "123456", "first_contact_at": 1700000000}, []string{"first_contact_at", "full_name"}},
		{"commercial_id is not taken", map[string]any{"full_name": "A", "email": "a@x.test", "phone": "123456", "commercial_id": "x"}, []string{"commercial_id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := apitest.AssertProblem(t, api.Post("/v1/clients", bill, c.body), 422, "validation")
			if got := apitest.FieldsOf(body); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
	// Lengths count characters, not bytes.
	res := api.Post("/v1/clients", bill, map[string]any{"full_name": strings.Repeat("é", 200), "email": "e@x.test", "phone": "123456"})
	expect(t, res, http.StatusCreated)
	if n := api.Count(`SELECT count(*) FROM clients`); n != 1 {
		t.Fatalf("bad input wrote clients: %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_type = 'client'`); n != 1 {
		t.Fatalf("bad input wrote audit rows: %d", n)
	}
}

func TestClientEmailsAreUniqueCaseInsensitively(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	expect(t, api.Post("/v1/clients", bill, map[string]any{"full_name": "A", "email": "kevin@startup.io", "phone": "123456"}), 201)
	res := api.Post("/v1/clients", bill, map[string]any{"full_name": "B", "email": "Kevin@Startup.IO", "phone": "123456"})
	body := apitest.AssertProblem(t, res, 409, "duplicate")
	if !slices.Equal(apitest.FieldsOf(body), []string{"email"}) {
		t.Fatalf("fields: %s", res.Body)
	}
	other := newClient(t, api, bill)
	res = api.Patch("/v1/clients/"+other, bill, map[string]any{"email": "KEVIN@startup.io"})
	apitest.AssertProblem(t, res, 409, "duplicate")
	if n := api.Count(`SELECT count(*) FROM clients`); n != 2 {
		t.Fatalf("clients = %d", n)
	}
}

func TestUpdateClientDetailsBelongToItsCommercial(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, other := api.CreateCollaborator("other", "commercial")
	_, kate := api.CreateCollaborator("kate", "support")
	id := newClient(t, api, bill)

	res := api.Patch("/v1/clients/"+id, bill, map[string]any{"phone": "+33 1 23 45 67 89", "last_contact_at": "2023-03-29T00:00:00Z"})
	body := expect(t, res, http.StatusOK)
	if body["phone"] != "+33 1 23 45 67 89" || body["last_contact_at"] != "2023-03-29T00:00:00Z" ||
		body["version"].(float64) != 2 || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("update: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'update'
		AND changes ? 'phone' AND changes ? 'last_contact_at' AND NOT changes ? 'email'`, id); n != 1 {
		t.Fatalf("update audit rows = %d", n)
	}

	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, other, map[string]any{"phone": "123456"}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, other, map[string]any{}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, kate, map[string]any{"phone": "123456"}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, api.ManagerToken, map[string]any{"phone": "123456"}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, bill, map[string]any{"commercial_id": api.Caller(bill)}), 403, "forbidden")
	if n := api.Count(`SELECT version FROM clients WHERE id = $1`, id); n != 2 {
		t.Fatalf("a refused write changed the client: version %d", n)
	}
}

func TestReassignClientNeedsAnActiveCommercial(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	annaID, anna := api.CreateCollaborator("anna", "commercial")
	goneID, _ := api.CreateCollaborator("gone", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	expect(t, api.Patch("/v1/collaborators/"+goneID, api.ManagerToken, map[string]any{"is_active": false}), 200)
	id := newClient(t, api, bill)

	for name, value := range map[string]any{
		"not a uuid": "nope", "unknown": "00000000-0000-4000-8000-000000000000",
		"support": kateID, "inactive": goneID, "null": nil, "number": 5,
	} {
		res := api.Patch("/v1/clients/"+id, api.ManagerToken, map[string]any{"commercial_id": value})
		body := apitest.AssertProblem(t, res, 422, "validation")
		if !slices.Equal(apitest.FieldsOf(body), []string{"commercial_id"}) {
			t.Fatalf("%s: %s", name, res.Body)
		}
	}
	res := api.Patch("/v1/clients/"+id, api.ManagerToken, map[string]any{"commercial_id": annaID})
	body := expect(t, res, http.StatusOK)
	if body["commercial"].(map[string]any)["id"] != annaID || body["version"].(float64) != 2 {
		t.Fatalf("reassign: %s", res.Body)
	}
	// The new owner may now change details; the old one may not.
	expect(t, api.Patch("/v1/clients/"+id, anna, map[string]any{"full_name": "Kevin C."}), 200)
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+id, bill, map[string]any{"full_name": "Kevin D."}), 403, "forbidden")
	if n := auditCount(api, id); n != 3 {
		t.Fatalf("audit rows = %d, want 3", n)
	}
}

func TestUpdateClientErrorOrder(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, other := api.CreateCollaborator("other", "commercial")
	id := newClient(t, api, bill)
	unknown := "/v1/clients/00000000-0000-4000-8000-000000000000"

	// 422 comes before 404, 404 before 403, 403 before 412.
	apitest.AssertProblem(t, api.Patch(unknown, bill, map[string]any{"phone": "x"}), 422, "validation")
	apitest.AssertProblem(t, api.Patch(unknown, api.ManagerToken, map[string]any{"commercial_id": "00000000-0000-4000-8000-000000000000"}), 422, "validation")
	apitest.AssertProblem(t, api.Patch(unknown, other, map[string]any{"phone": "123456"}), 404, "not-found")
	apitest.AssertProblem(t, api.Patch("/v1/clients/not-a-uuid", bill, map[string]any{}), 404, "not-found")
	apitest.AssertProblem(t, api.Get("/v1/clients/not-a-uuid", bill), 404, "not-found")
	apitest.AssertProblem(t, api.Get(unknown, bill), 404, "not-found")
	stale := map[string]string{"If-Match": `"7"`}
	apitest.AssertProblem(t, withHeader(api, "PATCH", "/v1/clients/"+id, other, map[string]any{"phone": "123456"}, stale), 403, "forbidden")
	apitest.AssertProblem(t, withHeader(api, "PATCH", "/v1/clients/"+id, bill, map[string]any{"phone": "123456"}, stale), 412, "precondition-failed")
	// 403 for the route comes before anything about the body.
	_, kate := api.CreateCollaborator("kate", "support")
	apitest.AssertProblem(t, api.Post("/v1/clients", kate, "not json"), 403, "forbidden")
	if n := api.Count(`SELECT version FROM clients WHERE id = $1`, id); n != 1 {
		t.Fatalf("version %d", n)
	}
}

func TestPatchThatChangesNothingWritesNothing(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	id := newClient(t, api, bill)
	before := expect(t, api.Get("/v1/clients/"+id, bill), 200)
	api.Clock.Advance(time.Minute)
	res := api.Patch("/v1/clients/"+id, bill, map[string]any{"full_name": before["full_name"], "phone": before["phone"]})
	after := expect(t, res, http.StatusOK)
	if after["version"].(float64) != 1 || after["updated_at"] != before["updated_at"] || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("no-op moved the client: %s", res.Body)
	}
	if n := auditCount(api, id); n != 1 {
		t.Fatalf("audit rows = %d, want only the creation", n)
	}
}

func TestIfMatchGuardsClientUpdates(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	id := newClient(t, api, bill)
	patch := func(ifMatch string) apitest.Response {
		return withHeader(api, "PATCH", "/v1/clients/"+id, bill, map[string]any{"full_name": unique("N")}, map[string]string{"If-Match": ifMatch})
	}
	apitest.AssertProblem(t, patch(`"2"`), 412, "precondition-failed")
	apitest.AssertProblem(t, patch(`W/"1"`), 412, "precondition-failed")
	expect(t, patch(`"1"`), 200)
	expect(t, patch(`"5", "2"`), 200)
	expect(t, patch(`*`), 200)
	if n := api.Count(`SELECT version FROM clients WHERE id = $1`, id); n != 4 {
		t.Fatalf("version %d, want 4", n)
	}
	apitest.AssertProblem(t, withHeader(api, "PATCH", "/v1/clients/00000000-0000-4000-8000-000000000000", bill,
		map[string]any{}, map[string]string{"If-Match": "*"}), 404, "not-found")
}
