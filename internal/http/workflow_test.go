package http_test

import (
	"net/http"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// TestWorkflowFromClientToEvent is the company's story end to end, with
// each wrong step on the way refused by its status and slug and changing
// nothing.
func TestWorkflowFromClientToEvent(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	manager := api.ManagerToken
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	_, joe := api.CreateCollaborator("joe", "support")

	// The commercial brings in a client.
	clientID := expect(t, api.Post("/v1/clients", bill, map[string]any{"full_name": "John Ouick",
		"email": "john.ouick@gmail.com", "phone": "+1 234 567 8901"}), 201)["id"].(string)

	// Management drafts the contract; a commercial cannot.
	draft := map[string]any{"client_id": clientID, "total_amount": "15000", "amount_due": "15000"}
	apitest.AssertProblem(t, api.Post("/v1/contracts", bill, draft), 403, "forbidden")
	apitest.AssertProblem(t, api.Post("/v1/contracts", manager, map[string]any{"client_id": clientID, "total_amount": 15000}), 422, "validation")
	contract := expect(t, api.Post("/v1/contracts", manager, draft), 201)
	contractID := contract["id"].(string)

	// No event before the signature.
	event := map[string]any{"contract_id": contractID, "name": "John Ouick Wedding",
		"start_at": instant(api, 30*24*time.Hour), "end_at": instant(api, 31*24*time.Hour),
		"location": "53 Rue du Château, 41120 Candé-sur-Beuvron, France", "attendees": 75,
		"notes": "Wedding starts at 3PM, by the river."}
	apitest.AssertProblem(t, api.Post("/v1/events", bill, event), 409, "contract-not-signed")

	// Another commercial may not sign it; the client's own commercial does.
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+contractID, anna, map[string]any{"signed": true}), 403, "forbidden")
	apitest.AssertProblem(t, withHeader(api, "PATCH", "/v1/contracts/"+contractID, bill, map[string]any{"signed": true},
		map[string]string{"If-Match": `"2"`}), 412, "precondition-failed")
	signed := expect(t, withHeader(api, "PATCH", "/v1/contracts/"+contractID, bill,
		map[string]any{"signed": true, "amount_due": "5000"}, map[string]string{"If-Match": `"1"`}), 200)
	if signed["signed"] != true || signed["amount_due"] != "5000.00" {
		t.Fatalf("sign: %v", signed)
	}
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+contractID, manager, map[string]any{"total_amount": "20000"}), 409, "contract-signed")

	// Only the client's commercial creates the event, in the future.
	apitest.AssertProblem(t, api.Post("/v1/events", anna, event), 403, "forbidden")
	apitest.AssertProblem(t, api.Post("/v1/events", manager, event), 403, "forbidden")
	past := map[string]any{}
	for k, v := range event {
		past[k] = v
	}
	past["start_at"] = instant(api, -time.Hour)
	apitest.AssertProblem(t, api.Post("/v1/events", bill, past), 422, "validation")
	created := expect(t, api.Post("/v1/events", bill, event), 201)
	eventID := created["id"].(string)
	if created["support"] != nil || created["client"].(map[string]any)["email"] != "john.ouick@gmail.com" {
		t.Fatalf("event: %v", created)
	}

	// Management assigns a support; nobody else can, and the support
	// cannot touch the event before.
	apitest.AssertProblem(t, api.Patch("/v1/events/"+eventID, kate, map[string]any{"attendees": 80}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/events/"+eventID, bill, map[string]any{"support_id": kateID}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/events/"+eventID, manager, map[string]any{"support_id": api.Caller(bill)}), 422, "validation")
	assignSupport(t, api, eventID, kateID)

	// The support runs the event.
	apitest.AssertProblem(t, api.Patch("/v1/events/"+eventID, joe, map[string]any{"attendees": 80}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/events/"+eventID, kate, map[string]any{"end_at": "2027-06-05T00:00:00"}), 422, "validation")
	updated := expect(t, api.Patch("/v1/events/"+eventID, kate, map[string]any{"attendees": 80, "notes": "Moved to the orangery."}), 200)
	if updated["attendees"].(float64) != 80 || updated["support"].(map[string]any)["id"] != kateID || updated["version"].(float64) != 3 {
		t.Fatalf("support update: %v", updated)
	}

	// The database holds exactly the story, and the audit trail tells it.
	if n := api.Count(`SELECT count(*) FROM contracts WHERE id = $1 AND signed AND total_amount = 15000 AND amount_due = 5000 AND version = 2`, contractID); n != 1 {
		t.Fatalf("contract state")
	}
	if n := api.Count(`SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("events = %d", n)
	}
	for id, want := range map[string]int{clientID: 1, contractID: 2, eventID: 3} {
		if n := auditCount(api, id); n != want {
			t.Fatalf("audit rows of %s = %d, want %d", id, n, want)
		}
	}
	history := expect(t, api.Get("/v1/events/"+eventID+"/history", manager), http.StatusOK)
	if n := len(history["data"].([]any)); n != 3 {
		t.Fatalf("event history: %d entries", n)
	}
}
