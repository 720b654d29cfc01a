package http_test

import (
	"net/http"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestLeavingCommercialWithClientsNeedsReassignTo(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, _ := api.CreateCollaborator("anna", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	first, second := newClient(t, api, bill), newClient(t, api, bill)
	path := "/v1/collaborators/" + billID

	for _, body := range []map[string]any{{"is_active": false}, {"department": "support"}} {
		apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, body), 409, "collaborator-has-dependents")
	}
	apitest.AssertProblem(t, api.Delete(path, api.ManagerToken), 409, "collaborator-has-dependents")
	// A change that does not remove them needs nothing.
	expect(t, api.Patch(path, api.ManagerToken, map[string]any{"first_name": "Bill"}), 200)
	// reassign_to must be another active commercial.
	for _, target := range []string{kateID, billID, "00000000-0000-4000-8000-000000000000"} {
		apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": target}), 422, "validation")
	}
	// Atomic: a failure after the clients moved leaves them where they were.
	apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{
		"is_active": false, "reassign_to": annaID, "email": "anna@epic-events.test"}), 409, "duplicate")
	if n := api.Count(`SELECT count(*) FROM clients WHERE commercial_id = $1 AND version = 1`, billID); n != 2 {
		t.Fatalf("refused leave moved clients: %d left", n)
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND is_active`, billID); n != 1 {
		t.Fatalf("refused leave deactivated")
	}

	res := api.Patch(path, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": annaID})
	if body := expect(t, res, http.StatusOK); body["is_active"] != false {
		t.Fatalf("deactivate: %s", res.Body)
	}
	for _, id := range []string{first, second} {
		got := expect(t, api.Get("/v1/clients/"+id, api.ManagerToken), 200)
		if got["commercial"].(map[string]any)["id"] != annaID || got["version"].(float64) != 2 {
			t.Fatalf("client not moved: %v", got)
		}
		if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'update'
			AND changes->'commercial_id'->>'from' = $2 AND changes->'commercial_id'->>'to' = $3`, id, billID, annaID); n != 1 {
			t.Fatalf("move audit rows = %d", n)
		}
	}
}

func TestLeavingSupportHandsOverUpcomingEventsOnly(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	contract := newContract(t, api, newClient(t, api, bill), "100", true)
	past := newEvent(t, api, bill, contract, time.Minute)
	upcoming := newEvent(t, api, bill, contract, 72*time.Hour)
	assignSupport(t, api, past, kateID)
	assignSupport(t, api, upcoming, kateID)
	api.Clock.Advance(25 * time.Hour) // `past` has ended
	manager := api.Login("manager", apitest.ManagerPassword)
	path := "/v1/collaborators/" + kateID

	apitest.AssertProblem(t, api.Delete(path, manager), 409, "collaborator-has-dependents")
	apitest.AssertProblem(t, api.Delete(path+"?reassign_to=nope", manager), 422, "validation")
	res := api.Do(apitest.Request{Method: "DELETE", Path: path + "?reassign_to=" + joeID, Token: manager})
	expect(t, res, http.StatusNoContent)
	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND support_id = $2 AND version = 3`, upcoming, joeID); n != 1 {
		t.Fatalf("upcoming event not moved")
	}
	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND support_id = $2 AND version = 2`, past, kateID); n != 1 {
		t.Fatalf("a past event moved")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND changes->'support_id'->>'to' = $2`, upcoming, joeID); n != 1 {
		t.Fatalf("move audit rows = %d", n)
	}

	// Once the upcoming events are gone, leaving needs nothing.
	apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+joeID, manager, map[string]any{"is_active": false}), 409, "collaborator-has-dependents")
	expect(t, api.Patch("/v1/events/"+upcoming, manager, map[string]any{"support_id": nil}), 200)
	expect(t, api.Patch("/v1/collaborators/"+joeID, manager, map[string]any{"is_active": false}), 200)
}
