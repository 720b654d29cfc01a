package http_test

import (
	"net/http"
	"strings"
	"testing"

	"epicevents/internal/apitest"
)

// Every write appends one audit row, in its transaction, naming the actor,
// the action, the record, the changed fields and the request id; password
// changes appear only as the fact of a change, never as a hash or a text.
func TestAuditRowsNameTheWriteAndNeverHoldPasswords(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	managerID := api.Caller(api.ManagerToken)
	const first, second, third = "first-secret-passphrase", "second-secret-passphrase", "third-secret-passphrase"

	create := withHeader(api, "POST", "/v1/collaborators", api.ManagerToken, map[string]any{
		"employee_number": 31, "first_name": "Kate", "last_name": "Hastroff", "email": "kate@epic-events.test",
		"username": "kate", "department": "support", "password": first,
	}, map[string]string{"X-Request-Id": "audit-create-0001"})
	id := expect(t, create, http.StatusCreated)["id"].(string)
	patch := withHeader(api, "PATCH", "/v1/collaborators/"+id, api.ManagerToken,
		map[string]any{"password": second, "last_name": "Hastroff-Smith"}, map[string]string{"X-Request-Id": "audit-update-0002"})
	expect(t, patch, http.StatusOK)
	kate := api.Login("kate", second)
	own := withHeader(api, "PUT", "/v1/me/password", kate,
		map[string]any{"current_password": second, "new_password": third}, map[string]string{"X-Request-Id": "audit-own-00003"})
	expect(t, own, http.StatusNoContent)

	history := expect(t, api.Get("/v1/collaborators/"+id+"/history", api.ManagerToken), http.StatusOK)["data"].([]any)
	type want struct{ action, actor, requestID string }
	wants := []want{{"update", id, "audit-own-00003"}, {"update", managerID, "audit-update-0002"}, {"create", managerID, "audit-create-0001"}}
	if len(history) != len(wants) {
		t.Fatalf("%d entries: %v", len(history), history)
	}
	for i, w := range wants {
		e := history[i].(map[string]any)
		actor, _ := e["actor"].(map[string]any)
		if e["action"] != w.action || actor["id"] != w.actor || e["request_id"] != w.requestID || e["at"] == "" {
			t.Fatalf("entry %d: %v", i, e)
		}
	}
	changes := history[1].(map[string]any)["changes"].(map[string]any)
	if _, ok := changes["last_name"]; !ok {
		t.Fatalf("update entry misses last_name: %v", changes)
	}
	if _, ok := history[0].(map[string]any)["changes"].(map[string]any)["password"]; !ok {
		t.Fatalf("the password change is not recorded as a change: %v", history[0])
	}

	// Nothing in the stored rows or the answer holds a password or a hash.
	var stored []string
	rows, err := api.Pool.Query(t.Context(), `SELECT changes::text FROM audit_entries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, s)
	}
	rows.Close()
	text := strings.Join(stored, "\n") + string(api.Get("/v1/collaborators/"+id+"/history", api.ManagerToken).Body)
	for _, secret := range []string{first, second, third, "$2a$", "$2b$", "password_hash"} {
		if strings.Contains(text, secret) {
			t.Fatalf("audit trail holds %q", secret)
		}
	}
}
