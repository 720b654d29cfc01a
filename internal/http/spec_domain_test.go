package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// Names are Unicode letters with spaces, hyphens and apostrophes, and their
// lengths count characters.
func TestPersonNamesTakeUnicodeLetters(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for i, name := range [][2]string{
		{"Zoë", "O'Brien"}, {"Jean-Luc", "D’Arcy"}, {"Ñuño José", "Ångström"}, {"Łukasz", "Wałęsa"},
		{"Ana María", "e\u0301tienne"}, {"Анна", "Иванова"}, {strings.Repeat("é", 100), strings.Repeat("ß", 100)},
	} {
		body := newCollaboratorBody(700+i, unique("named"))
		body["first_name"], body["last_name"] = name[0], name[1]
		res := api.Post("/v1/collaborators", api.ManagerToken, body)
		got := expect(t, res, http.StatusCreated)
		if got["first_name"] != name[0] || got["last_name"] != name[1] || got["full_name"] != name[0]+" "+name[1] {
			t.Fatalf("%v: %s", name, res.Body)
		}
	}
	for _, bad := range []string{"K@te", "Kate!", "Kate_H", "Kate.", "Kate3"} {
		body := newCollaboratorBody(800, unique("bad"))
		body["first_name"] = bad
		problem := apitest.AssertProblem(t, api.Post("/v1/collaborators", api.ManagerToken, body), 422, "validation")
		if !slices.Equal(apitest.FieldsOf(problem), []string{"first_name"}) {
			t.Fatalf("%q: %v", bad, problem)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators`); n != 8 {
		t.Fatalf("collaborators = %d, want 8", n)
	}
}

// A PATCH that takes another's username or email, in any case, is 409
// naming the field, and changes nothing.
func TestCollaboratorPatchDuplicatesNameTheField(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	for field, value := range map[string]string{"username": "KaTe", "email": "KATE@epic-events.test"} {
		problem := apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+joeID, api.ManagerToken, map[string]any{field: value}), 409, "duplicate")
		if !slices.Equal(apitest.FieldsOf(problem), []string{field}) {
			t.Fatalf("%s: %v", field, problem)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND username = 'joe' AND version = 1`, joeID); n != 1 {
		t.Fatal("a refused patch changed joe")
	}
	if n := auditCount(api, joeID); n != 1 {
		t.Fatalf("audit rows = %d", n)
	}
}

// A deleted collaborator's email and employee number stay reserved, like
// their username.
func TestDeletedCollaboratorKeepsNamesReserved(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Post("/v1/collaborators", api.ManagerToken, newCollaboratorBody(4242, "kate"))
	id := expect(t, res, http.StatusCreated)["id"].(string)
	expect(t, api.Delete("/v1/collaborators/"+id, api.ManagerToken), http.StatusNoContent)
	for field, change := range map[string]map[string]any{
		"email":           {"email": "Kate@Epic-Events.test", "employee_number": 4243},
		"employee_number": {"employee_number": 4242},
		"username":        {"username": "KATE", "email": "k2@epic-events.test", "employee_number": 4244},
	} {
		body := newCollaboratorBody(4245, "kate2")
		for k, v := range change {
			body[k] = v
		}
		problem := apitest.AssertProblem(t, api.Post("/v1/collaborators", api.ManagerToken, body), 409, "duplicate")
		if !slices.Equal(apitest.FieldsOf(problem), []string{field}) {
			t.Fatalf("%s: %v", field, problem)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators`); n != 2 {
		t.Fatalf("collaborators = %d", n)
	}
}

// reassign_to is an id like any other: any spelling of a UUID that names
// the colleague is that colleague.
func TestReassignToTakesAnyUUIDSpelling(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, _ := api.CreateCollaborator("anna", "commercial")
	client := newClient(t, api, bill)
	res := api.Patch("/v1/collaborators/"+billID, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": strings.ToUpper(annaID)})
	expect(t, res, http.StatusOK)
	if n := api.Count(`SELECT count(*) FROM clients WHERE id = $1 AND commercial_id = $2`, client, annaID); n != 1 {
		t.Fatal("client not moved")
	}
	problem := apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+annaID, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": "nope"}), 422, "validation")
	if !slices.Equal(apitest.FieldsOf(problem), []string{"reassign_to"}) || !strings.Contains(fieldMessage(problem, "reassign_to"), "UUID") {
		t.Fatalf("problem: %v", problem)
	}
}

// Moving a collaborator to another department hands their clients, or
// their upcoming events, to reassign_to in the same transaction.
func TestDepartmentMoveHandsOverDependents(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, _ := api.CreateCollaborator("anna", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	client := newClient(t, api, bill)
	contract := newContract(t, api, client, "100", true)
	event := newEvent(t, api, bill, contract, 48*time.Hour)
	assignSupport(t, api, event, kateID)

	// The target must be of the department being left, not the one joined.
	apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+billID, api.ManagerToken,
		map[string]any{"department": "support", "reassign_to": kateID}), 422, "validation")
	res := api.Patch("/v1/collaborators/"+billID, api.ManagerToken, map[string]any{"department": "support", "reassign_to": annaID})
	if body := expect(t, res, http.StatusOK); body["department"] != "support" || body["version"].(float64) != 2 {
		t.Fatalf("move: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM clients WHERE commercial_id = $1`, billID); n != 0 {
		t.Fatalf("bill still owns %d clients", n)
	}
	got := expect(t, api.Get("/v1/contracts/"+contract, api.ManagerToken), http.StatusOK)
	if got["commercial"].(map[string]any)["id"] != annaID {
		t.Fatalf("contract's commercial did not follow: %v", got)
	}
	// Bill, now support, has lost his commercial permissions on the spot.
	apitest.AssertProblem(t, api.Patch("/v1/clients/"+client, bill, map[string]any{"phone": "123456"}), 403, "forbidden")

	res = api.Patch("/v1/collaborators/"+kateID, api.ManagerToken, map[string]any{"department": "commercial", "reassign_to": joeID})
	expect(t, res, http.StatusOK)
	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND support_id = $2 AND version = 3`, event, joeID); n != 1 {
		t.Fatal("upcoming event not handed over")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND changes->'support_id'->>'from' = $2`, event, kateID); n != 1 {
		t.Fatal("hand-over not audited")
	}
}

// Lengths of event texts count characters: 500 "é" is a valid location
// (1000 bytes), 501 is not.
func TestEventTextLengthsCountCharacters(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	contract := newContract(t, api, newClient(t, api, bill), "100", true)
	body := func(name, location, notes string) map[string]any {
		return map[string]any{"contract_id": contract, "name": name, "start_at": instant(api, time.Hour),
			"end_at": instant(api, 2*time.Hour), "location": location, "attendees": 100000, "notes": notes}
	}
	res := api.Post("/v1/events", bill, body(strings.Repeat("é", 200), strings.Repeat("é", 500), strings.Repeat("é", 5000)))
	if got := expect(t, res, http.StatusCreated); got["attendees"].(float64) != 100000 {
		t.Fatalf("event: %v", got)
	}
	problem := apitest.AssertProblem(t, api.Post("/v1/events", bill, body(strings.Repeat("é", 201), strings.Repeat("é", 501), strings.Repeat("é", 5001))), 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"location", "name", "notes"}) {
		t.Fatalf("fields %v", got)
	}
	if n := api.Count(`SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("events = %d", n)
	}
}

// fieldMessage is the message a validation problem gives for the field.
func fieldMessage(problem map[string]any, field string) string {
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if m, _ := e.(map[string]any); m["field"] == field {
			s, _ := m["message"].(string)
			return s
		}
	}
	return ""
}

// reassign_to naming nobody is a 422, which comes before the path's 404.
func TestReassignToIsCheckedBeforeThePath(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	unknown := "00000000-0000-4000-8000-000000000000"
	for _, path := range []string{"/v1/collaborators/" + unknown, "/v1/collaborators/not-a-uuid"} {
		for _, target := range []string{unknown, "nope"} {
			res := api.Patch(path, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": target})
			if !slices.Equal(apitest.FieldsOf(apitest.AssertProblem(t, res, 422, "validation")), []string{"reassign_to"}) {
				t.Fatalf("PATCH %s reassign_to=%s: %s", path, target, res.Body)
			}
			res = api.Do(apitest.Request{Method: "DELETE", Path: path + "?reassign_to=" + target, Token: api.ManagerToken})
			if !slices.Equal(apitest.FieldsOf(apitest.AssertProblem(t, res, 422, "validation")), []string{"reassign_to"}) {
				t.Fatalf("DELETE %s reassign_to=%s: %s", path, target, res.Body)
			}
		}
	}
	// A valid reassign_to leaves the unknown path its 404.
	me := api.Caller(api.ManagerToken)
	apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+unknown, api.ManagerToken, map[string]any{"reassign_to": me}), 404, "not-found")
}

// Sending back every writable field as it is changes nothing, on every
// resource: no version, no updated_at, no audit row.
func TestPatchSendingBackEveryFieldChangesNothing(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, _ := api.CreateCollaborator("anna", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	client := newClient(t, api, bill)
	contract := newContract(t, api, client, "100.5", false)
	event := newEvent(t, api, bill, newContract(t, api, client, "10", true), 48*time.Hour)
	assignSupport(t, api, event, kateID)
	api.Clock.Advance(time.Minute)

	pick := func(m map[string]any, keys ...string) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			out[k] = m[k]
		}
		return out
	}
	cases := []struct {
		path, token string
		body        func(cur map[string]any) map[string]any
	}{
		{"/v1/collaborators/" + billID, api.ManagerToken, func(c map[string]any) map[string]any {
			b := pick(c, "employee_number", "first_name", "last_name", "email", "username", "department", "is_active")
			b["reassign_to"] = annaID // a valid colleague, but nobody leaves
			return b
		}},
		{"/v1/clients/" + client, bill, func(c map[string]any) map[string]any {
			return pick(c, "full_name", "email", "phone", "company_name", "first_contact_at", "last_contact_at")
		}},
		{"/v1/clients/" + client, api.ManagerToken, func(c map[string]any) map[string]any {
			return map[string]any{"commercial_id": c["commercial"].(map[string]any)["id"]}
		}},
		{"/v1/contracts/" + contract, bill, func(c map[string]any) map[string]any {
			return map[string]any{"total_amount": "100.50", "amount_due": "100.5", "signed": false}
		}},
		{"/v1/events/" + event, api.ManagerToken, func(c map[string]any) map[string]any {
			b := pick(c, "name", "start_at", "end_at", "timezone", "location", "attendees", "notes")
			b["support_id"] = kateID
			return b
		}},
	}
	for _, c := range cases {
		before := api.Get(c.path, c.token)
		cur := expect(t, before, http.StatusOK)
		audits := auditCount(api, cur["id"].(string))
		res := api.Patch(c.path, c.token, c.body(cur))
		after := expect(t, res, http.StatusOK)
		if after["version"] != cur["version"] || after["updated_at"] != cur["updated_at"] ||
			res.Header.Get("ETag") != before.Header.Get("ETag") {
			t.Fatalf("%s: no-op moved the record: %s", c.path, res.Body)
		}
		if n := auditCount(api, cur["id"].(string)); n != audits {
			t.Fatalf("%s: audit rows %d, want %d", c.path, n, audits)
		}
	}
}

// When several errors apply, the first of 422, 404, 403 (ownership or
// field), 412, 409 wins, on every write route; and nothing changes.
func TestWriteErrorsComeInTheContractsOrder(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	_, joe := api.CreateCollaborator("joe", "support")
	manager := api.ManagerToken
	me := api.Caller(manager)
	client := newClient(t, api, bill)
	taken := expect(t, api.Get("/v1/clients/"+newClient(t, api, anna), anna), 200)["email"]
	signed := newContract(t, api, client, "100", true)
	event := newEvent(t, api, bill, signed, time.Hour)
	assignSupport(t, api, event, kateID)
	unknown := "00000000-0000-4000-8000-000000000000"
	stale := map[string]string{"If-Match": `"99"`}
	type step struct {
		name                string
		method, path, token string
		body                any
		header              map[string]string
		status              int
		slug                string
	}
	steps := []step{
		// Collaborators.
		{"422 before 403 (self)", "PATCH", "/v1/collaborators/" + me, manager, map[string]any{"is_active": false, "last_name": "4"}, nil, 422, "validation"},
		{"404 before 412", "PATCH", "/v1/collaborators/" + unknown, manager, map[string]any{"is_active": false}, stale, 404, "not-found"},
		{"403 (self) before 412", "PATCH", "/v1/collaborators/" + me, manager, map[string]any{"is_active": false}, stale, 403, "forbidden"},
		{"403 (self) delete before 412", "DELETE", "/v1/collaborators/" + me, manager, nil, stale, 403, "forbidden"},
		{"412 before 409 (dependents)", "PATCH", "/v1/collaborators/" + billID, manager, map[string]any{"is_active": false}, stale, 412, "precondition-failed"},
		{"412 before 409 (dependents) on delete", "DELETE", "/v1/collaborators/" + billID, manager, nil, stale, 412, "precondition-failed"},
		{"412 before 409 (duplicate)", "PATCH", "/v1/collaborators/" + billID, manager, map[string]any{"username": "KATE"}, stale, 412, "precondition-failed"},
		// Clients.
		{"client: 403 (field) before 412", "PATCH", "/v1/clients/" + client, bill, map[string]any{"commercial_id": billID}, stale, 403, "forbidden"},
		{"client: 412 before 409", "PATCH", "/v1/clients/" + client, bill, map[string]any{"email": taken}, stale, 412, "precondition-failed"},
		// Contracts.
		{"contract: 422 before 404", "PATCH", "/v1/contracts/" + unknown, anna, map[string]any{"amount_due": "1.001"}, nil, 422, "validation"},
		{"contract: 404 before 403", "PATCH", "/v1/contracts/" + unknown, anna, map[string]any{"amount_due": "1"}, nil, 404, "not-found"},
		{"contract: 403 before 412", "PATCH", "/v1/contracts/" + signed, anna, map[string]any{"signed": false}, stale, 403, "forbidden"},
		{"contract: 412 before 409", "PATCH", "/v1/contracts/" + signed, bill, map[string]any{"signed": false}, stale, 412, "precondition-failed"},
		{"contract: 403 before 409", "PATCH", "/v1/contracts/" + signed, anna, map[string]any{"total_amount": "200"}, nil, 403, "forbidden"},
		// Events.
		{"event: 422 before 404", "PATCH", "/v1/events/" + unknown, joe, map[string]any{"attendees": -1}, nil, 422, "validation"},
		{"event: 422 (support_id) before 404", "PATCH", "/v1/events/" + unknown, manager, map[string]any{"support_id": unknown}, nil, 422, "validation"},
		{"event: 422 before 403 (field)", "PATCH", "/v1/events/" + event, kate, map[string]any{"support_id": unknown}, nil, 422, "validation"},
		{"event: 404 before 403", "PATCH", "/v1/events/" + unknown, joe, map[string]any{"attendees": 1}, nil, 404, "not-found"},
		{"event: 403 before 412", "PATCH", "/v1/events/" + event, joe, map[string]any{"attendees": 1}, stale, 403, "forbidden"},
		{"event create: 422 before 403", "POST", "/v1/events", anna, map[string]any{"contract_id": signed, "name": "E",
			"start_at": instant(api, -time.Hour), "end_at": instant(api, time.Hour), "location": "", "attendees": 1}, nil, 422, "validation"},
	}
	run := func(s step) {
		t.Helper()
		res := api.Do(apitest.Request{Method: s.method, Path: s.path, Token: s.token, Body: s.body, Header: s.header})
		if res.Status != s.status {
			t.Fatalf("%s: %d, want %d: %s", s.name, res.Status, s.status, res.Body)
		}
		apitest.AssertProblem(t, res, s.status, s.slug)
	}
	for _, s := range steps {
		run(s)
	}
	// Once the event has ended: 412 before 409 event-finished.
	api.Clock.Advance(26 * time.Hour)
	kate = api.Login("kate", apitest.CollaboratorPassword)
	run(step{"event: 412 before 409", "PATCH", "/v1/events/" + event, kate, map[string]any{"notes": "late"}, stale, 412, "precondition-failed"})
	run(step{"event: 409 without If-Match", "PATCH", "/v1/events/" + event, kate, map[string]any{"notes": "late"}, nil, 409, "event-finished"})

	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE action = 'update'`); n != 1 {
		t.Fatalf("refused writes wrote %d update rows (want only the support assignment)", n)
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE is_active AND deleted_at IS NULL`); n != 5 {
		t.Fatalf("active collaborators = %d", n)
	}
}

// A hand-over that fails after moving the events leaves them where they
// were: the move and the collaborator's change are one transaction.
func TestFailedHandOverMovesNoEvent(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	event := newEvent(t, api, bill, newContract(t, api, newClient(t, api, bill), "10", true), 48*time.Hour)
	assignSupport(t, api, event, kateID)
	res := api.Patch("/v1/collaborators/"+kateID, api.ManagerToken, map[string]any{"department": "commercial", "reassign_to": joeID, "username": "JOE"})
	if !slices.Equal(apitest.FieldsOf(apitest.AssertProblem(t, res, 409, "duplicate")), []string{"username"}) {
		t.Fatalf("refusal: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND support_id = $2 AND version = 2`, event, kateID); n != 1 {
		t.Fatal("a refused hand-over moved the event")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND changes ? 'support_id'`, event); n != 1 {
		t.Fatalf("a refused hand-over left audit rows")
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND department = 'support' AND version = 1`, kateID); n != 1 {
		t.Fatal("a refused hand-over changed kate")
	}
}
