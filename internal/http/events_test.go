package http_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestCreateEventRules(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, other := api.CreateCollaborator("other", "commercial")
	clientID := newClient(t, api, bill)
	signed := newContract(t, api, clientID, "100", true)
	unsigned := newContract(t, api, clientID, "100", false)
	event := func(contractID string, start, end string) map[string]any {
		return map[string]any{"contract_id": contractID, "name": "John Ouick Wedding", "start_at": start,
			"end_at": end, "location": "53 Rue du Château", "attendees": 75}
	}
	day, twoDays := instant(api, 24*time.Hour), instant(api, 48*time.Hour)

	res := api.Post("/v1/events", bill, event(signed, day, twoDays))
	body := expect(t, res, http.StatusCreated)
	client := body["client"].(map[string]any)
	if res.Header.Get("Location") != "/v1/events/"+body["id"].(string) || body["timezone"] != "Europe/Paris" ||
		body["support"] != nil || body["notes"] != "" || body["contract_id"] != signed || client["id"] != clientID ||
		client["email"] == "" || client["phone"] != "+678 123 456 78" || body["attendees"].(float64) != 75 {
		t.Fatalf("event: %s", res.Body)
	}
	// Offsets are honoured and answers are in UTC.
	res = api.Post("/v1/events", bill, map[string]any{"contract_id": signed, "name": "Party",
		"start_at": "2099-06-04T13:00:00+02:00", "end_at": "2099-06-05T02:00:00+02:00", "location": "",
		"attendees": 0, "timezone": "America/New_York", "notes": "By the river."})
	body = expect(t, res, http.StatusCreated)
	if body["start_at"] != "2099-06-04T11:00:00Z" || body["end_at"] != "2099-06-05T00:00:00Z" ||
		body["timezone"] != "America/New_York" || body["notes"] != "By the river." {
		t.Fatalf("event: %s", res.Body)
	}

	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"attendees", "contract_id", "end_at", "location", "name", "start_at"}},
		{"naive start", event(signed, "2099-06-04T11:00:00", twoDays), []string{"start_at"}},
		{"start in the past", event(signed, instant(api, -time.Minute), twoDays), []string{"start_at"}},
		{"start now", event(signed, instant(api, 0), twoDays), []string{"start_at"}},
		{"end before start", event(signed, twoDays, day), []string{"end_at"}},
		{"end at start", event(signed, day, day), []string{"end_at"}},
		{"unknown contract", event("00000000-0000-4000-8000-000000000000", day, twoDays), []string{"contract_id"}},
		{"support_id not taken", func() map[string]any {
			b := event(signed, day, twoDays)
			b["support_id"] = nil
			return b
		}(), []string{"support_id"}},
		{"bad values", func() map[string]any {
			b := event(signed, day, twoDays)
			b["attendees"], b["timezone"], b["name"] = 100001, "Mars/Olympus", ""
			return b
		}(), []string{"attendees", "name", "timezone"}},
		{"local timezone", func() map[string]any {
			b := event(signed, day, twoDays)
			b["timezone"] = "Local"
			return b
		}(), []string{"timezone"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := apitest.AssertProblem(t, api.Post("/v1/events", bill, c.body), 422, "validation")
			if got := apitest.FieldsOf(body); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
	// 403 (another's client) comes before 409 (unsigned).
	apitest.AssertProblem(t, api.Post("/v1/events", other, event(unsigned, day, twoDays)), 403, "forbidden")
	apitest.AssertProblem(t, api.Post("/v1/events", other, event(signed, day, twoDays)), 403, "forbidden")
	apitest.AssertProblem(t, api.Post("/v1/events", bill, event(unsigned, day, twoDays)), 409, "contract-not-signed")
	apitest.AssertProblem(t, api.Post("/v1/events", api.ManagerToken, event(signed, day, twoDays)), 403, "forbidden")
	if n := api.Count(`SELECT count(*) FROM events`); n != 2 {
		t.Fatalf("events = %d, want 2", n)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_type = 'event'`); n != 2 {
		t.Fatalf("event audit rows = %d, want 2", n)
	}
}

func TestEventSupportAssignment(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	billID := api.Caller(bill)
	kateID, kate := api.CreateCollaborator("kate", "support")
	goneID, _ := api.CreateCollaborator("gone", "support")
	expect(t, api.Delete("/v1/collaborators/"+goneID, api.ManagerToken), 204)
	id := newEvent(t, api, bill, newContract(t, api, newClient(t, api, bill), "100", true), 24*time.Hour)
	path := "/v1/events/" + id

	for name, value := range map[string]any{"commercial": billID, "deleted": goneID, "unknown": "00000000-0000-4000-8000-000000000000", "not a uuid": "kate", "number": 1} {
		body := apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"support_id": value}), 422, "validation")
		if !slices.Equal(apitest.FieldsOf(body), []string{"support_id"}) {
			t.Fatalf("%s: %v", name, body)
		}
	}
	// Only management assigns.
	apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"support_id": kateID}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"support_id": kateID}), 403, "forbidden")

	res := api.Patch(path, api.ManagerToken, map[string]any{"support_id": kateID})
	body := expect(t, res, http.StatusOK)
	if s := body["support"].(map[string]any); s["id"] != kateID || s["full_name"] != "Test Tester" || body["version"].(float64) != 2 {
		t.Fatalf("assign: %s", res.Body)
	}
	// The assigned support still may not reassign, even to themself.
	apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"support_id": kateID}), 403, "forbidden")
	body = expect(t, api.Patch(path, api.ManagerToken, map[string]any{"support_id": nil}), http.StatusOK)
	if body["support"] != nil || body["version"].(float64) != 3 {
		t.Fatalf("unassign: %v", body)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND changes->'support_id'->>'to' = $2`, id, kateID); n != 1 {
		t.Fatalf("assignment audit rows = %d", n)
	}
}

func TestEventUpdatesBySupportAndManagement(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	_, other := api.CreateCollaborator("other", "support")
	contract := newContract(t, api, newClient(t, api, bill), "100", true)
	id := newEvent(t, api, bill, contract, time.Hour)
	path := "/v1/events/" + id

	apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"attendees": 80}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"attendees": 80}), 403, "forbidden")
	assignSupport(t, api, id, kateID)
	body := expect(t, api.Patch(path, kate, map[string]any{"attendees": 80, "notes": "Bring chairs."}), http.StatusOK)
	if body["attendees"].(float64) != 80 || body["notes"] != "Bring chairs." {
		t.Fatalf("support update: %v", body)
	}
	apitest.AssertProblem(t, api.Patch(path, other, map[string]any{"attendees": 81}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch(path, other, map[string]any{}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"contract_id": contract}), 422, "validation")

	// end_at against the stored start_at, naming the field sent.
	start := body["start_at"].(string)
	b := apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"end_at": start}), 422, "validation")
	if !slices.Equal(apitest.FieldsOf(b), []string{"end_at"}) {
		t.Fatalf("fields: %v", b)
	}
	b = apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"start_at": instant(api, 100*time.Hour)}), 422, "validation")
	if !slices.Equal(apitest.FieldsOf(b), []string{"start_at"}) {
		t.Fatalf("fields: %v", b)
	}

	// Once it has ended, its support can no longer change it; management can.
	api.Clock.Advance(25*time.Hour + time.Minute)
	kate = api.Login("kate", apitest.CollaboratorPassword)
	manager := api.Login("manager", apitest.ManagerPassword)
	apitest.AssertProblem(t, api.Patch(path, kate, map[string]any{"notes": "Late note"}), 409, "event-finished")
	// Sending what is already there is not a change.
	expect(t, api.Patch(path, kate, map[string]any{"notes": "Bring chairs."}), http.StatusOK)
	body = expect(t, api.Patch(path, manager, map[string]any{"notes": "Closed.", "attendees": 79}), http.StatusOK)
	if body["notes"] != "Closed." || body["version"].(float64) != 4 {
		t.Fatalf("management update: %v", body)
	}
	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND notes = 'Closed.' AND attendees = 79`, id); n != 1 {
		t.Fatalf("stored event differs")
	}
	if n := auditCount(api, id); n != 4 {
		t.Fatalf("audit rows = %d, want 4", n)
	}
}

func TestEventIfMatchNoOpAndNotFound(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	contractID := newContract(t, api, newClient(t, api, bill), "100", true)
	id := newEvent(t, api, bill, contractID, time.Hour)
	path := "/v1/events/" + id
	res := api.Get(path, kate)
	if expect(t, res, 200); res.Header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", res.Header.Get("ETag"))
	}
	if res := api.Get("/v1/contracts/"+contractID, kate); res.Header.Get("ETag") != `"1"` {
		t.Fatalf("contract ETag %q", res.Header.Get("ETag"))
	}
	assign := map[string]any{"support_id": kateID}
	apitest.AssertProblem(t, withHeader(api, "PATCH", path, api.ManagerToken, assign, map[string]string{"If-Match": `W/"1"`}), 412, "precondition-failed")
	apitest.AssertProblem(t, withHeader(api, "PATCH", path, api.ManagerToken, assign, map[string]string{"If-Match": `"2"`}), 412, "precondition-failed")
	res = withHeader(api, "PATCH", path, api.ManagerToken, assign, map[string]string{"If-Match": `"1"`})
	if expect(t, res, 200); res.Header.Get("ETag") != `"2"` {
		t.Fatalf("ETag after update %q", res.Header.Get("ETag"))
	}
	// Sending back what is there changes nothing.
	current := expect(t, api.Get(path, kate), 200)
	api.Clock.Advance(time.Minute)
	again := expect(t, api.Patch(path, kate, map[string]any{"name": current["name"], "start_at": current["start_at"],
		"end_at": current["end_at"], "attendees": current["attendees"]}), 200)
	if again["version"].(float64) != 2 || again["updated_at"] != current["updated_at"] || auditCount(api, id) != 2 {
		t.Fatalf("no-op moved the event: %v", again)
	}
	for _, p := range []string{"/v1/events/00000000-0000-4000-8000-000000000000", "/v1/events/123", "/v1/contracts/00000000-0000-4000-8000-000000000000", "/v1/contracts/x"} {
		apitest.AssertProblem(t, api.Get(p, kate), 404, "not-found")
	}
	apitest.AssertProblem(t, api.Patch("/v1/events/00000000-0000-4000-8000-000000000000", api.ManagerToken, map[string]any{}), 404, "not-found")
	res = api.Do(apitest.Request{Method: "DELETE", Path: path, Token: api.ManagerToken})
	apitest.AssertProblem(t, res, 405, "method-not-allowed")
	if allow := res.Header.Values("Allow"); !slices.Equal(allow, []string{"GET, HEAD, PATCH"}) {
		t.Fatalf("Allow = %v", allow)
	}
}
