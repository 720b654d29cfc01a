package http_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

var uniqueSeq atomic.Int64

// unique makes names and emails that no other call in the test binary uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, uniqueSeq.Add(1))
}

// expect fails unless the answer has the status, and returns its body.
func expect(t testing.TB, res apitest.Response, status int) map[string]any {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	if len(res.Body) == 0 {
		return nil
	}
	return res.JSON(t)
}

// instant renders the test clock moved by d, as the API takes instants.
func instant(api *apitest.API, d time.Duration) string {
	return api.Clock.Now().Add(d).UTC().Format(time.RFC3339)
}

// newClient creates a client as the commercial behind token.
func newClient(t testing.TB, api *apitest.API, token string) string {
	t.Helper()
	name := unique("client")
	res := api.Post("/v1/clients", token, map[string]any{
		"full_name": "Kevin " + name, "email": name + "@startup.test", "phone": "+678 123 456 78",
		"company_name": "Cool Startup LLC",
	})
	return expect(t, res, http.StatusCreated)["id"].(string)
}

// newContract creates a contract for the client as the first manager.
func newContract(t testing.TB, api *apitest.API, clientID, total string, signed bool) string {
	t.Helper()
	res := api.Post("/v1/contracts", api.ManagerToken, map[string]any{
		"client_id": clientID, "total_amount": total, "signed": signed,
	})
	return expect(t, res, http.StatusCreated)["id"].(string)
}

// newEvent creates an event starting in `in` and lasting a day, as the
// commercial behind token.
func newEvent(t testing.TB, api *apitest.API, token, contractID string, in time.Duration) string {
	t.Helper()
	res := api.Post("/v1/events", token, map[string]any{
		"contract_id": contractID, "name": unique("Event "), "start_at": instant(api, in),
		"end_at": instant(api, in+24*time.Hour), "location": "Candé-sur-Beuvron", "attendees": 75,
	})
	return expect(t, res, http.StatusCreated)["id"].(string)
}

// assignSupport sets the event's support as the first manager.
func assignSupport(t testing.TB, api *apitest.API, eventID string, supportID any) {
	t.Helper()
	expect(t, api.Patch("/v1/events/"+eventID, api.ManagerToken, map[string]any{"support_id": supportID}), http.StatusOK)
}

// auditCount counts the audit rows of a record.
func auditCount(api *apitest.API, recordID string) int {
	return api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1`, recordID)
}

// withHeader sends a request with extra headers.
func withHeader(api *apitest.API, method, path, token string, body any, header map[string]string) apitest.Response {
	api.T.Helper()
	return api.Do(apitest.Request{Method: method, Path: path, Token: token, Body: body, Header: header})
}
