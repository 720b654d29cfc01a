package http_test

import (
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// SPEC §3: when several errors apply, the first of 401; 403 for the
// route's permission; 400/413/415; 422; 404; 403 for ownership or a field;
// 412; 409 wins. Each case below breaks two or more rules at once, and
// nothing it touches changes.
func TestErrorPrecedenceOnEveryWriteRoute(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	api.CreateCollaborator("other", "commercial")
	kateID, _ := api.CreateCollaborator("kate", "support")
	clientID := newClient(t, api, bill)
	signed := newContract(t, api, clientID, "1000.00", true)
	eventID := newEvent(t, api, bill, signed, time.Hour)
	assignSupport(t, api, eventID, kateID)
	api.Clock.Advance(48 * time.Hour) // the event is over; tokens too
	bill, other, kate := api.Login("bill", apitest.CollaboratorPassword), api.Login("other", apitest.CollaboratorPassword),
		api.Login("kate", apitest.CollaboratorPassword)
	api.ManagerToken = api.Login("manager", apitest.ManagerPassword)
	unknown := "00000000-0000-4000-8000-000000000000"
	stale := map[string]string{"If-Match": `"99"`}
	huge := `{"notes": "` + strings.Repeat("x", 1<<20) + `"}`

	type call struct {
		method, path, token string
		body                any
		header              map[string]string
		status              int
		slug                string
	}
	cases := map[string]call{
		// 401 before everything.
		"no token, no permission, bad body": {"PATCH", "/v1/contracts/" + signed, "", "[", nil, 401, "unauthenticated"},
		// The route's 403 before the body.
		"no route permission, bad body":   {"PATCH", "/v1/contracts/" + signed, kate, "[", nil, 403, "forbidden"},
		"no route permission, huge body":  {"POST", "/v1/collaborators", bill, huge, nil, 403, "forbidden"},
		"no route permission, unknown id": {"DELETE", "/v1/collaborators/" + unknown, kate, nil, nil, 403, "forbidden"},
		// 400/413/415 before 422 and what follows.
		"not JSON, unknown id, stale": {"PATCH", "/v1/events/" + unknown, api.ManagerToken, "{", stale, 400, "malformed-request"},
		"too large, stale":            {"PATCH", "/v1/events/" + eventID, kate, huge, stale, 413, "payload-too-large"},
		"text body, stale":            {"PATCH", "/v1/contracts/" + signed, api.ManagerToken, "total_amount=5", map[string]string{"Content-Type": "text/plain", "If-Match": `"99"`}, 415, "unsupported-media-type"},
		// 422 before 404, ownership, 412 and 409.
		"invalid amount, unknown id":        {"PATCH", "/v1/contracts/" + unknown, api.ManagerToken, map[string]any{"amount_due": 5}, nil, 422, "validation"},
		"invalid amount, not owner, stale":  {"PATCH", "/v1/contracts/" + signed, other, map[string]any{"amount_due": "-1"}, stale, 422, "validation"},
		"invalid, signed contract":          {"PATCH", "/v1/contracts/" + signed, api.ManagerToken, map[string]any{"total_amount": "2000.00", "amount_due": "x"}, nil, 422, "validation"},
		"invalid attendees, finished event": {"PATCH", "/v1/events/" + eventID, kate, map[string]any{"attendees": -1}, stale, 422, "validation"},
		// 404 before ownership and 412.
		"unknown id, not owner, stale": {"PATCH", "/v1/contracts/" + unknown, other, map[string]any{"amount_due": "1.00"}, stale, 404, "not-found"},
		"unknown collaborator, stale":  {"DELETE", "/v1/collaborators/" + unknown, api.ManagerToken, nil, stale, 404, "not-found"},
		// Ownership or a forbidden field before 412 and 409.
		"not owner, stale, signed":       {"PATCH", "/v1/contracts/" + signed, other, map[string]any{"total_amount": "2000.00"}, stale, 403, "forbidden"},
		"support sets support_id, stale": {"PATCH", "/v1/events/" + eventID, kate, map[string]any{"support_id": nil}, stale, 403, "forbidden"},
		// 412 before 409.
		"stale, contract signed": {"PATCH", "/v1/contracts/" + signed, api.ManagerToken, map[string]any{"total_amount": "2000.00"}, stale, 412, "precondition-failed"},
		"stale, event finished":  {"PATCH", "/v1/events/" + eventID, kate, map[string]any{"attendees": 3}, stale, 412, "precondition-failed"},
		"stale, has dependents":  {"DELETE", "/v1/collaborators/" + billID, api.ManagerToken, nil, stale, 412, "precondition-failed"},
		// And the 409s themselves, when the version matches.
		"contract signed": {"PATCH", "/v1/contracts/" + signed, api.ManagerToken, map[string]any{"total_amount": "2000.00"}, map[string]string{"If-Match": `"1"`}, 409, "contract-signed"},
		"event finished":  {"PATCH", "/v1/events/" + eventID, kate, map[string]any{"attendees": 3}, map[string]string{"If-Match": `"2"`}, 409, "event-finished"},
		"has dependents":  {"DELETE", "/v1/collaborators/" + billID, api.ManagerToken, nil, map[string]string{"If-Match": `"1"`}, 409, "collaborator-has-dependents"},
	}
	audit := api.Count(`SELECT count(*) FROM audit_entries`)
	for name, c := range cases {
		res := api.Do(apitest.Request{Method: c.method, Path: c.path, Token: c.token, Body: c.body, Header: c.header})
		if res.Status != c.status {
			t.Errorf("%s: status %d, want %d: %.200s", name, res.Status, c.status, res.Body)
			continue
		}
		apitest.AssertProblem(t, res, c.status, c.slug)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries`); n != audit {
		t.Fatalf("refused writes added %d audit rows", n-audit)
	}
	versions := api.Count(`SELECT (SELECT version FROM contracts WHERE id = $1) * 100 + (SELECT version FROM events WHERE id = $2)`, signed, eventID)
	if versions != 102 || api.Count(`SELECT count(*) FROM collaborators WHERE deleted_at IS NULL`) != 4 {
		t.Fatalf("refused writes changed records: contract*100+event versions %d", versions)
	}
}
