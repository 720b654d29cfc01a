package http_test

import (
	"strconv"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// TestAuthorizationMatrix walks every cell of the contract's permission
// matrix, for one's own records and for others'.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, anna := api.CreateCollaborator("anna", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	_, joe := api.CreateCollaborator("joe", "support")
	manager := api.ManagerToken
	spareID, _ := api.CreateCollaborator("spare", "support")
	billClient, annaClient, movedClient := newClient(t, api, bill), newClient(t, api, anna), newClient(t, api, bill)
	billContract := newContract(t, api, billClient, "1000", true)
	annaContract := newContract(t, api, annaClient, "1000", true)
	billEvent := newEvent(t, api, bill, billContract, 48*time.Hour)
	assignSupport(t, api, billEvent, kateID)

	n := 0
	collaborator := func() map[string]any {
		n++
		name := unique("user")
		return map[string]any{"employee_number": 5000 + n, "first_name": "New", "last_name": "Person",
			"email": name + "@epic-events.test", "username": name, "department": "support", "password": "a-perfectly-fine-password"}
	}
	client := func() map[string]any {
		return map[string]any{"full_name": "C", "email": unique("c") + "@x.test", "phone": "123456"}
	}
	event := func(contract string) map[string]any {
		return map[string]any{"contract_id": contract, "name": "E", "start_at": instant(api, time.Hour),
			"end_at": instant(api, 2*time.Hour), "location": "", "attendees": 1}
	}
	details := func() map[string]any { return map[string]any{"notes": unique("note")} }

	type cell struct {
		who, token, method, path string
		body                     func() map[string]any
		status                   int
	}
	var cells []cell
	add := func(what, method, path string, body func() map[string]any, byWho map[string]int) {
		tokens := map[string]string{"commercial (own)": bill, "commercial (other's)": anna, "support (assigned)": kate,
			"support (not assigned)": joe, "management": manager, "commercial": bill, "support": kate}
		for who, status := range byWho {
			cells = append(cells, cell{what + " as " + who, tokens[who], method, path, body, status})
		}
	}
	none := func() map[string]any { return nil }
	c := func(m map[string]any) func() map[string]any { return func() map[string]any { return m } }

	add("create collaborator", "POST", "/v1/collaborators", collaborator, map[string]int{"commercial": 403, "support": 403, "management": 201})
	add("update collaborator", "PATCH", "/v1/collaborators/"+spareID, c(map[string]any{"first_name": "Spare"}), map[string]int{"commercial": 403, "support": 403, "management": 200})
	add("create client", "POST", "/v1/clients", client, map[string]int{"commercial": 201, "support": 403, "management": 403})
	add("update client details", "PATCH", "/v1/clients/"+billClient, func() map[string]any { return map[string]any{"company_name": unique("Co")} },
		map[string]int{"commercial (own)": 200, "commercial (other's)": 403, "support": 403, "management": 403})
	add("reassign client", "PATCH", "/v1/clients/"+movedClient, c(map[string]any{"commercial_id": annaID}),
		map[string]int{"commercial (own)": 403, "commercial (other's)": 403, "support": 403})
	add("create contract", "POST", "/v1/contracts", c(map[string]any{"client_id": annaClient, "total_amount": "5"}),
		map[string]int{"commercial": 403, "support": 403, "management": 201})
	add("update contract", "PATCH", "/v1/contracts/"+billContract, func() map[string]any { n++; return map[string]any{"amount_due": strconv.Itoa(n)} },
		map[string]int{"commercial (own)": 200, "commercial (other's)": 403, "support": 403, "management": 200})
	add("create event", "POST", "/v1/events", func() map[string]any { return event(billContract) },
		map[string]int{"commercial (own)": 201, "commercial (other's)": 403, "support": 403, "management": 403})
	add("create event on another's contract", "POST", "/v1/events", func() map[string]any { return event(annaContract) },
		map[string]int{"commercial (own)": 403})
	add("update event details", "PATCH", "/v1/events/"+billEvent, details,
		map[string]int{"commercial (own)": 403, "support (assigned)": 200, "support (not assigned)": 403, "management": 200})
	add("assign support", "PATCH", "/v1/events/"+billEvent, c(map[string]any{"support_id": kateID}),
		map[string]int{"commercial (own)": 403, "support (assigned)": 403, "support (not assigned)": 403, "management": 200})
	for _, path := range []string{"/v1/collaborators/" + billID, "/v1/clients/" + billClient, "/v1/contracts/" + billContract, "/v1/events/" + billEvent} {
		add("read history", "GET", path+"/history", none, map[string]int{"commercial": 403, "support": 403, "management": 200})
	}
	for _, path := range []string{"/v1/collaborators", "/v1/clients", "/v1/contracts", "/v1/events",
		"/v1/collaborators/" + billID, "/v1/clients/" + annaClient, "/v1/contracts/" + annaContract, "/v1/events/" + billEvent} {
		add("read", "GET", path, none, map[string]int{"commercial": 200, "support": 200, "management": 200})
	}
	add("delete collaborator", "DELETE", "/v1/collaborators/"+spareID, none, map[string]int{"commercial": 403, "support": 403})

	for _, c := range cells {
		var body any
		if b := c.body(); b != nil {
			body = b
		}
		res := api.Do(apitest.Request{Method: c.method, Path: c.path, Token: c.token, Body: body})
		if c.status == 403 {
			apitest.AssertProblem(t, res, 403, "forbidden")
			continue
		}
		if res.Status != c.status {
			t.Fatalf("%s: %d, want %d: %s", c.who, res.Status, c.status, res.Body)
		}
	}
	// The cells that remove or move records go last.
	expect(t, api.Patch("/v1/clients/"+movedClient, manager, map[string]any{"commercial_id": annaID}), 200)
	expect(t, api.Delete("/v1/collaborators/"+spareID, manager), 204)
	if n := api.Count(`SELECT count(*) FROM clients WHERE commercial_id = $1`, billID); n != 2 {
		t.Fatalf("bill's clients: %d", n)
	}
}
