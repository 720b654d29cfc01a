package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"epicevents/internal/apitest"
)

func changePassword(api *apitest.API, token string, body any) apitest.Response {
	api.T.Helper()
	return api.Do(apitest.Request{Method: http.MethodPut, Path: "/v1/me/password", Token: token, Body: body})
}

func passwordHash(api *apitest.API, username string) string {
	api.T.Helper()
	var hash string
	if err := api.Pool.QueryRow(api.T.Context(), `SELECT password_hash FROM collaborators WHERE username = $1`, username).Scan(&hash); err != nil {
		api.T.Fatal(err)
	}
	return hash
}

func TestPasswordChangeEndsEveryOtherSession(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, otherAccess := api.CreateCollaborator("kate", "support")
	_, otherRefresh := api.LoginPair("kate", apitest.CollaboratorPassword)
	access, currentRefresh := api.LoginPair("kate", apitest.CollaboratorPassword)

	res := changePassword(api, access, map[string]string{
		"current_password": apitest.CollaboratorPassword, "new_password": "a brand new passphrase"})
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("change: %d %s", res.Status, res.Body)
	}
	// The current session goes on, access and refresh.
	if res := api.Get("/v1/me", access); res.Status != http.StatusOK {
		t.Fatalf("current session ended: %d", res.Status)
	}
	refreshOK(t, api, currentRefresh)
	// Every other one is over.
	apitest.AssertProblem(t, api.Get("/v1/me", otherAccess), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, refresh(api, otherRefresh), http.StatusUnauthorized, "unauthenticated")
	// The manager's sessions are someone else's.
	if res := api.Get("/v1/me", api.ManagerToken); res.Status != http.StatusOK {
		t.Fatalf("manager's session ended: %d", res.Status)
	}
	// Only the new password logs in.
	apitest.AssertProblem(t, api.Post("/v1/auth/login", "", map[string]string{"username": "kate", "password": apitest.CollaboratorPassword}),
		http.StatusUnauthorized, "unauthenticated")
	api.Login("kate", "a brand new passphrase")

	// A write like any other: version, audit row (without the hash).
	c := api.Get("/v1/collaborators/"+id, api.ManagerToken).JSON(t)
	if c["version"].(float64) != 2 {
		t.Fatalf("version %v, want 2", c["version"])
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND actor_id = $1 AND action = 'update'
		AND changes ? 'password' AND changes::text NOT LIKE '%$2%'`, id); n != 1 {
		t.Fatalf("audit rows of the change = %d", n)
	}
}

func TestPasswordChangeRefusals(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.CreateCollaborator("kate", "support")
	hash := passwordHash(api, "kate")
	sessions := api.Count(`SELECT count(*) FROM sessions WHERE revoked_at IS NULL`)
	audits := api.Count(`SELECT count(*) FROM audit_entries`)
	long := strings.Repeat("é", 37) // 37 characters, 74 bytes
	cases := []struct {
		name   string
		body   any
		status int
		slug   string
		fields []string
	}{
		{"wrong current password", map[string]string{"current_password": "not-my-password!", "new_password": "a brand new passphrase"}, 422, "validation", []string{"current_password"}},
		{"missing fields", map[string]string{}, 422, "validation", []string{"current_password", "new_password"}},
		{"empty new password", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": ""}, 422, "validation", []string{"new_password"}},
		{"null", `{"current_password": null, "new_password": "a brand new passphrase"}`, 422, "validation", []string{"current_password"}},
		{"unknown field", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "a brand new passphrase", "confirm": "x"}, 422, "validation", []string{"confirm"}},
		{"too short", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "elevenbytes"}, 422, "validation", []string{"new_password"}},
		{"too long in bytes", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": long}, 422, "validation", []string{"new_password"}},
		{"common", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "password1234"}, 422, "validation", []string{"new_password"}},
		{"common digits", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "123456789012"}, 422, "validation", []string{"new_password"}},
		{"common in another case", map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "PassWord1234"}, 422, "validation", []string{"new_password"}},
		{"malformed", `{"current_password": `, 400, "malformed-request", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := apitest.AssertProblem(t, changePassword(api, token, c.body), c.status, c.slug)
			if got := apitest.FieldsOf(body); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v: %v", got, c.fields, body)
			}
		})
	}
	apitest.AssertProblem(t, changePassword(api, "", map[string]string{}), http.StatusUnauthorized, "unauthenticated")
	res := api.Get("/v1/me/password", token)
	apitest.AssertProblem(t, res, http.StatusMethodNotAllowed, "method-not-allowed")
	if res.Header.Get("Allow") != "PUT" {
		t.Fatalf("Allow %q", res.Header.Get("Allow"))
	}
	// Nothing changed.
	if passwordHash(api, "kate") != hash || api.Count(`SELECT count(*) FROM sessions WHERE revoked_at IS NULL`) != sessions ||
		api.Count(`SELECT count(*) FROM audit_entries`) != audits {
		t.Fatal("a refused password change changed something")
	}
	if res := api.Get("/v1/me", token); res.Status != http.StatusOK {
		t.Fatalf("session after refusals: %d", res.Status)
	}
}

func TestPasswordPolicyCountsBytes(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.CreateCollaborator("kate", "support")
	current := apitest.CollaboratorPassword
	accepted := []string{
		strings.Repeat("é", 6),         // 6 characters, 12 bytes
		strings.Repeat("é", 36),        // 36 characters, 72 bytes
		strings.Repeat("k", 72),        // 72 bytes
		"correct horse battery staple", // long enough, not common
	}
	for _, p := range accepted {
		if res := changePassword(api, token, map[string]string{"current_password": current, "new_password": p}); res.Status != http.StatusNoContent {
			t.Fatalf("%q (%d bytes) refused: %d %s", p, len(p), res.Status, res.Body)
		}
		current = p
	}
	refused := []string{
		strings.Repeat("é", 5) + "k", // 6 characters, 11 bytes
		strings.Repeat("k", 73),
		strings.Repeat("é", 36) + "k", // 37 characters, 73 bytes
		"Password1234", "PASSWORD1234", "123456789012",
	}
	for _, p := range refused {
		body := apitest.AssertProblem(t, changePassword(api, token, map[string]string{"current_password": current, "new_password": p}), 422, "validation")
		if got := apitest.FieldsOf(body); !slices.Equal(got, []string{"new_password"}) {
			t.Fatalf("%q: fields %v", p, got)
		}
	}
	// Creating a collaborator obeys the same policy.
	for _, p := range []string{"short", "password1234", strings.Repeat("é", 37)} {
		body := apitest.AssertProblem(t, api.Post("/v1/collaborators", api.ManagerToken, map[string]any{
			"employee_number": 7, "first_name": "Bill", "last_name": "Boquet", "email": "bill@epic-events.test",
			"username": "bill", "department": "commercial", "password": p,
		}), 422, "validation")
		if got := apitest.FieldsOf(body); !slices.Equal(got, []string{"password"}) {
			t.Fatalf("create with %q: fields %v", p, got)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE username = 'bill'`); n != 0 {
		t.Fatal("a refused creation wrote a row")
	}
}
