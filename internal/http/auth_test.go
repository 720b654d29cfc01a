package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestLoginAcceptsUsernameOrEmailCaseInsensitively(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for _, name := range []string{"manager", "MANAGER", "Manager@Epic-Events.test"} {
		res := api.Post("/v1/auth/login", "", map[string]string{"username": name, "password": apitest.ManagerPassword})
		if res.Status != http.StatusOK {
			t.Fatalf("login as %q: %d %s", name, res.Status, res.Body)
		}
		body := res.JSON(t)
		if body["token_type"] != "Bearer" || body["expires_in"].(float64) != 900 ||
			body["refresh_token"] == "" || body["refresh_expires_in"].(float64) != 30*24*3600 {
			t.Fatalf("token response: %s", res.Body)
		}
	}
	if n := api.Count(`SELECT count(*) FROM sessions`); n != 4 { // New logs in once too
		t.Fatalf("sessions = %d, want 4", n)
	}
}

func TestLoginFailuresAllLookAlike(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("kate", "support")
	deactivated, _ := api.CreateCollaborator("gone", "support")
	if res := api.Patch("/v1/collaborators/"+deactivated, api.ManagerToken, map[string]any{"is_active": false}); res.Status != 200 {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	cases := map[string][2]string{
		"wrong password": {"kate", "not-the-right-password"},
		"unknown name":   {"nobody-here", apitest.CollaboratorPassword},
		"deactivated":    {"gone", apitest.CollaboratorPassword},
	}
	var details []string
	for name, c := range cases {
		res := api.Post("/v1/auth/login", "", map[string]string{"username": c[0], "password": c[1]})
		body := apitest.AssertProblem(t, res, http.StatusUnauthorized, "unauthenticated")
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s: no WWW-Authenticate: Bearer", name)
		}
		details = append(details, body["detail"].(string))
	}
	slices.Sort(details)
	if len(slices.Compact(details)) != 1 {
		t.Fatalf("login failures differ: %q", details)
	}
}

func TestLoginRejectsBadBodies(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	cases := []struct {
		name, contentType, body string
		status                  int
		slug                    string
		fields                  []string
	}{
		{"not json", "text/plain", `username=x`, 415, "unsupported-media-type", nil},
		{"malformed", "application/json", `{"username": "x"`, 400, "malformed-request", nil},
		{"array", "application/json", `[{"username": "x"}]`, 400, "malformed-request", nil},
		{"trailing data", "application/json", `{"username": "x", "password": "y"} {}`, 400, "malformed-request", nil},
		{"empty", "application/json", ``, 400, "malformed-request", nil},
		{"missing fields", "application/json", `{}`, 422, "validation", []string{"password", "username"}},
		{"wrong types and unknown", "application/json", `{"username": 5, "password": "x", "remember": true}`, 422, "validation", []string{"remember", "username"}},
		{"null", "application/json", `{"username": null, "password": "x"}`, 422, "validation", []string{"username"}},
		{"too large", "application/json", `{"username": "` + strings.Repeat("a", 1<<20) + `", "password": "x"}`, 413, "payload-too-large", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := api.Do(apitest.Request{Method: "POST", Path: "/v1/auth/login", Body: c.body,
				Header: map[string]string{"Content-Type": c.contentType}})
			body := apitest.AssertProblem(t, res, c.status, c.slug)
			if got := apitest.FieldsOf(body); c.fields != nil && !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
	if n := api.Count(`SELECT count(*) FROM sessions`); n != 1 {
		t.Fatalf("a bad login opened a session: %d sessions", n)
	}
}

func TestMeShowsPermissionsOfTheCurrentDepartment(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	want := map[string][]string{
		"commercial": {"change:read", "client:create", "client:read", "client:update_own", "collaborator:read", "contract:read", "contract:update_own", "event:create_own", "event:read"},
		"support":    {"change:read", "client:read", "collaborator:read", "contract:read", "event:read", "event:update_assigned"},
		"management": {"audit:read", "change:read", "client:read", "client:reassign", "collaborator:create", "collaborator:delete", "collaborator:read", "collaborator:update", "contract:create", "contract:read", "contract:update", "event:assign_support", "event:read", "event:update", "webhook:manage"},
	}
	for dept, perms := range want {
		_, token := api.CreateCollaborator("user_"+dept, dept)
		res := api.Get("/v1/me", token)
		if res.Status != 200 {
			t.Fatalf("me: %d %s", res.Status, res.Body)
		}
		body := res.JSON(t)
		var got []string
		for _, p := range body["permissions"].([]any) {
			got = append(got, p.(string))
		}
		if !slices.Equal(got, perms) || body["department"] != dept || body["username"] != "user_"+dept {
			t.Fatalf("%s: permissions %v", dept, got)
		}
		if res.Header.Get("ETag") != `"1"` {
			t.Fatalf("me ETag %q", res.Header.Get("ETag"))
		}
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	other := api.Login("manager", apitest.ManagerPassword)
	if res := api.Post("/v1/auth/logout", api.ManagerToken, nil); res.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", res.Status, res.Body)
	}
	apitest.AssertProblem(t, api.Get("/v1/me", api.ManagerToken), 401, "unauthenticated")
	if res := api.Get("/v1/me", other); res.Status != 200 {
		t.Fatalf("another session was ended too: %d", res.Status)
	}
	if n := api.Count(`SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL`); n != 1 {
		t.Fatalf("revoked sessions = %d", n)
	}
}

func TestAccessTokensAreCheckedOnEveryRequest(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, token := api.CreateCollaborator("bill", "commercial")

	// Expired.
	api.Clock.Advance(16 * time.Minute)
	apitest.AssertProblem(t, api.Get("/v1/me", token), 401, "unauthenticated")
	api.Clock.Advance(-16 * time.Minute)

	// A department change applies on the next request.
	if res := api.Get("/v1/collaborators/"+id, token); res.Status != 200 {
		t.Fatalf("read: %d", res.Status)
	}
	apitest.AssertProblem(t, api.Post("/v1/collaborators", token, map[string]any{}), 403, "forbidden")
	if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"department": "management"}); res.Status != 200 {
		t.Fatalf("move: %d %s", res.Status, res.Body)
	}
	apitest.AssertProblem(t, api.Post("/v1/collaborators", token, map[string]any{}), 422, "validation")

	// A password set by management ends every session.
	if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"password": "another-fine-password"}); res.Status != 200 {
		t.Fatalf("password: %d %s", res.Status, res.Body)
	}
	apitest.AssertProblem(t, api.Get("/v1/me", token), 401, "unauthenticated")
	token = api.Login("bill", "another-fine-password")

	// Deactivation and deletion end access at once.
	if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"is_active": false}); res.Status != 200 {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	apitest.AssertProblem(t, api.Get("/v1/me", token), 401, "unauthenticated")
}

func TestMalformedAuthorizationIsUnauthenticated(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for _, header := range []string{"", "Bearer", "Basic bWFuYWdlcjp4", "Bearer not.a.jwt", "Bearer " + api.ManagerToken + "x"} {
		res := api.Do(apitest.Request{Method: "GET", Path: "/v1/me", Header: map[string]string{"Authorization": header}})
		apitest.AssertProblem(t, res, 401, "unauthenticated")
	}
}
