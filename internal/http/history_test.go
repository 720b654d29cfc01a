package http_test

import (
	"net/http"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestHistoryListsEveryWriteNewestFirst(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	_, kate := api.CreateCollaborator("kate", "support")
	clientID := newClient(t, api, bill)
	id := newContract(t, api, clientID, "100", false)
	api.Clock.Advance(time.Minute)
	res := withHeader(api, "PATCH", "/v1/contracts/"+id, bill, map[string]any{"signed": true, "amount_due": "60"},
		map[string]string{"X-Request-Id": "sign-request-0001"})
	expect(t, res, 200)
	api.Clock.Advance(time.Minute)
	expect(t, api.Patch("/v1/contracts/"+id, api.ManagerToken, map[string]any{"amount_due": "0"}), 200)

	body := expect(t, api.Get("/v1/contracts/"+id+"/history", api.ManagerToken), http.StatusOK)
	data := body["data"].([]any)
	if len(data) != 3 || body["next_cursor"] != nil {
		t.Fatalf("history: %v", body)
	}
	actions := []string{}
	for _, e := range data {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if actions[0] != "update" || actions[2] != "create" {
		t.Fatalf("order: %v", actions)
	}
	sign := data[1].(map[string]any)
	actor := sign["actor"].(map[string]any)
	changes := sign["changes"].(map[string]any)
	if actor["id"] != billID || actor["full_name"] != "Test Tester" || sign["request_id"] != "sign-request-0001" ||
		sign["id"] == "" || sign["at"] == "" {
		t.Fatalf("entry: %v", sign)
	}
	if c := changes["signed"].(map[string]any); c["from"] != false || c["to"] != true {
		t.Fatalf("signed change: %v", changes)
	}
	if c := changes["amount_due"].(map[string]any); c["from"] != "100.00" || c["to"] != "60.00" {
		t.Fatalf("amount change: %v", changes)
	}
	if _, ok := changes["total_amount"]; ok {
		t.Fatalf("unchanged field listed: %v", changes)
	}
	created := data[2].(map[string]any)["changes"].(map[string]any)
	if c := created["client_id"].(map[string]any); c["from"] != nil || c["to"] != clientID {
		t.Fatalf("creation: %v", created)
	}

	// Paged like a list, every entry once.
	var ids []string
	for _, e := range data {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	assertSameOrder(t, "history pages", pageThrough(t, api, api.ManagerToken, "/v1/contracts/"+id+"/history", 1), ids)

	apitest.AssertProblem(t, api.Get("/v1/contracts/"+id+"/history", bill), 403, "forbidden")
	apitest.AssertProblem(t, api.Get("/v1/contracts/"+id+"/history", kate), 403, "forbidden")
	apitest.AssertProblem(t, api.Get("/v1/contracts/"+id+"/history?sort=at", api.ManagerToken), 422, "validation")
	apitest.AssertProblem(t, api.Get("/v1/contracts/"+id+"/history?limit=0", api.ManagerToken), 422, "validation")
}

func TestHistoryOfEachKindOfRecord(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	clientID := newClient(t, api, bill)
	contractID := newContract(t, api, clientID, "10", true)
	eventID := newEvent(t, api, bill, contractID, time.Hour)
	managerID := api.Caller(api.ManagerToken)
	for path, want := range map[string]int{
		"/v1/collaborators/" + billID:    1,
		"/v1/collaborators/" + managerID: 1,
		"/v1/clients/" + clientID:        1,
		"/v1/contracts/" + contractID:    1,
		"/v1/events/" + eventID:          1,
	} {
		body := expect(t, api.Get(path+"/history", api.ManagerToken), 200)
		if n := len(body["data"].([]any)); n != want {
			t.Fatalf("%s: %d entries", path, n)
		}
	}
	// The first manager was created by the system: no actor.
	body := expect(t, api.Get("/v1/collaborators/"+managerID+"/history", api.ManagerToken), 200)
	if entry := body["data"].([]any)[0].(map[string]any); entry["actor"] != nil {
		t.Fatalf("bootstrap actor: %v", entry)
	}
	// A deleted collaborator keeps a history; unknown records and ids of
	// another kind do not have one.
	goneID, _ := api.CreateCollaborator("gone", "support")
	// Created and deleted within one clock instant: the later write still
	// comes first.
	expect(t, api.Delete("/v1/collaborators/"+goneID, api.ManagerToken), 204)
	body = expect(t, api.Get("/v1/collaborators/"+goneID+"/history", api.ManagerToken), 200)
	if data := body["data"].([]any); len(data) != 2 || data[0].(map[string]any)["action"] != "delete" {
		t.Fatalf("deleted collaborator history: %v", data)
	}
	for _, path := range []string{
		"/v1/clients/00000000-0000-4000-8000-000000000000/history",
		"/v1/events/" + contractID + "/history",
		"/v1/contracts/nope/history",
	} {
		apitest.AssertProblem(t, api.Get(path, api.ManagerToken), 404, "not-found")
	}
}
