package http_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func newCollaboratorBody(n int, username string) map[string]any {
	return map[string]any{
		"employee_number": n, "first_name": "Kate", "last_name": "Hastroff",
		"email": username + "@epic-events.test", "username": username,
		"department": "support", "password": "kate-has-a-long-password",
	}
}

func TestCreateCollaborator(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Post("/v1/collaborators", api.ManagerToken, newCollaboratorBody(42, "kate"))
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	id := body["id"].(string)
	if res.Header.Get("Location") != "/v1/collaborators/"+id || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("headers: Location %q ETag %q", res.Header.Get("Location"), res.Header.Get("ETag"))
	}
	for field, want := range map[string]any{
		"employee_number": 42.0, "first_name": "Kate", "last_name": "Hastroff", "full_name": "Kate Hastroff",
		"email": "kate@epic-events.test", "username": "kate", "department": "support",
		"is_active": true, "deleted_at": nil, "version": 1.0,
	} {
		if body[field] != want {
			t.Errorf("%s = %v, want %v", field, body[field], want)
		}
	}
	if _, leaked := body["password"]; leaked || strings.Contains(string(res.Body), "$2a$") {
		t.Fatalf("password or hash in the response: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND password_hash LIKE '$2a$%'`, id); n != 1 {
		t.Fatal("collaborator not stored with a bcrypt hash")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'create'
		AND request_id = $2 AND NOT changes ? 'password' AND changes->'username'->>'to' = 'kate'`,
		id, res.Header.Get("X-Request-Id")); n != 1 {
		t.Fatal("no audit row for the creation")
	}
	// The new collaborator can log in.
	api.Login("kate", "kate-has-a-long-password")
}

func TestCreateCollaboratorValidation(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	cases := []struct {
		name   string
		change map[string]any
		fields []string
	}{
		{"employee number too small", map[string]any{"employee_number": 0}, []string{"employee_number"}},
		{"employee number too large", map[string]any{"employee_number": 1000000}, []string{"employee_number"}},
		{"employee number as string", map[string]any{"employee_number": "42"}, []string{"employee_number"}},
		{"name with digits", map[string]any{"first_name": "K4te"}, []string{"first_name"}},
		{"empty last name", map[string]any{"last_name": ""}, []string{"last_name"}},
		{"name of 101 characters", map[string]any{"last_name": strings.Repeat("é", 101)}, []string{"last_name"}},
		{"bad email", map[string]any{"email": "not-an-email"}, []string{"email"}},
		{"short username", map[string]any{"username": "ka"}, []string{"username"}},
		{"username with space", map[string]any{"username": "kate h"}, []string{"username"}},
		{"unknown department", map[string]any{"department": "sales"}, []string{"department"}},
		{"short password", map[string]any{"password": "short"}, []string{"password"}},
		{"password over 72 bytes", map[string]any{"password": strings.Repeat("é", 37)}, []string{"password"}},
		{"common password", map[string]any{"password": "Password1234"}, []string{"password"}},
		{"common digits", map[string]any{"password": "123456789012"}, []string{"password"}},
		{"several values at once", map[string]any{"email": "x", "username": "x", "department": ""}, []string{"department", "email", "username"}},
		// Unknown fields and wrong types are named in the same answer as
		// the values that break a rule.
		{"unknown, mistyped and invalid", map[string]any{"email": "x", "is_active": true, "username": 5}, []string{"email", "is_active", "username"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := newCollaboratorBody(500+i, fmt.Sprintf("user%d", i))
			for k, v := range c.change {
				body[k] = v
			}
			res := api.Post("/v1/collaborators", api.ManagerToken, body)
			problem := apitest.AssertProblem(t, res, 422, "validation")
			if got := apitest.FieldsOf(problem); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
	missing := api.Post("/v1/collaborators", api.ManagerToken, map[string]any{})
	problem := apitest.AssertProblem(t, missing, 422, "validation")
	want := []string{"department", "email", "employee_number", "first_name", "last_name", "password", "username"}
	if got := apitest.FieldsOf(problem); !slices.Equal(got, want) {
		t.Fatalf("missing fields %v, want %v", got, want)
	}
	if n := api.Count(`SELECT count(*) FROM collaborators`); n != 1 {
		t.Fatalf("invalid input wrote collaborators: %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries`); n != 1 {
		t.Fatalf("invalid input wrote audit rows: %d", n)
	}
}

func TestCollaboratorUniqueness(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	if res := api.Post("/v1/collaborators", api.ManagerToken, newCollaboratorBody(42, "kate")); res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	for field, change := range map[string]map[string]any{
		"username":        {"username": "KATE", "email": "other@epic-events.test", "employee_number": 43},
		"email":           {"username": "kate2", "email": "Kate@EPIC-events.test", "employee_number": 44},
		"employee_number": {"username": "kate3", "email": "kate3@epic-events.test", "employee_number": 42},
	} {
		body := newCollaboratorBody(0, "x")
		for k, v := range change {
			body[k] = v
		}
		problem := apitest.AssertProblem(t, api.Post("/v1/collaborators", api.ManagerToken, body), 409, "duplicate")
		if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{field}) {
			t.Fatalf("duplicate fields %v, want %s", got, field)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators`); n != 2 {
		t.Fatalf("collaborators = %d, want 2", n)
	}
}

func TestCollaboratorWritesNeedManagement(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	kateID, _ := api.CreateCollaborator("kate", "support")
	for _, dept := range []string{"commercial", "support"} {
		_, token := api.CreateCollaborator("u_"+dept, dept)
		apitest.AssertProblem(t, api.Post("/v1/collaborators", token, newCollaboratorBody(77, "newbie")), 403, "forbidden")
		apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+kateID, token, map[string]any{"first_name": "Katie"}), 403, "forbidden")
		apitest.AssertProblem(t, api.Delete("/v1/collaborators/"+kateID, token), 403, "forbidden")
		// The route's permission comes before the body's problems.
		apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+kateID, token, "not json"), 403, "forbidden")
		// Everyone reads.
		if res := api.Get("/v1/collaborators/"+kateID, token); res.Status != 200 {
			t.Fatalf("%s cannot read: %d", dept, res.Status)
		}
		if res := api.Get("/v1/collaborators", token); res.Status != 200 {
			t.Fatalf("%s cannot list: %d", dept, res.Status)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE first_name = 'Katie' OR username = 'newbie' OR deleted_at IS NOT NULL`); n != 0 {
		t.Fatal("a forbidden write changed something")
	}
}

func TestGetCollaboratorNotFound(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for _, id := range []string{"not-a-uuid", "7f1c7c36-9b38-4b4e-9f3e-4a1f3f2c0d11"} {
		apitest.AssertProblem(t, api.Get("/v1/collaborators/"+id, api.ManagerToken), 404, "not-found")
		apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"first_name": "X"}), 404, "not-found")
		apitest.AssertProblem(t, api.Delete("/v1/collaborators/"+id, api.ManagerToken), 404, "not-found")
	}
	// Validation (422) comes before the record lookup (404).
	apitest.AssertProblem(t, api.Patch("/v1/collaborators/not-a-uuid", api.ManagerToken, map[string]any{"first_name": "4"}), 422, "validation")
}

func TestUpdateCollaborator(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, _ := api.CreateCollaborator("kate", "support")
	path := "/v1/collaborators/" + id

	api.Clock.Advance(time.Minute)
	res := api.Patch(path, api.ManagerToken, map[string]any{"first_name": "Katherine", "email": "katherine@epic-events.test"})
	if res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	if body["first_name"] != "Katherine" || body["full_name"] != "Katherine Tester" || body["version"] != 2.0 ||
		res.Header.Get("ETag") != `"2"` || body["updated_at"] == body["created_at"] {
		t.Fatalf("after patch: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'update'
		AND changes = '{"first_name": {"from": "Test", "to": "Katherine"}, "email": {"from": "kate@epic-events.test", "to": "katherine@epic-events.test"}}'::jsonb`, id); n != 1 {
		t.Fatal("audit row of the update missing or wrong")
	}

	// A PATCH that changes nothing moves neither version nor updated_at.
	api.Clock.Advance(time.Minute)
	again := api.Patch(path, api.ManagerToken, map[string]any{"first_name": "Katherine"})
	if again.Status != 200 || again.JSON(t)["version"] != 2.0 || again.JSON(t)["updated_at"] != body["updated_at"] {
		t.Fatalf("no-op patch: %d %s", again.Status, again.Body)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1`, id); n != 2 {
		t.Fatalf("audit rows = %d, want 2 (create, one update)", n)
	}

	// Invalid values change nothing.
	problem := apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"first_name": "", "department": "sales", "is_active": "no"}), 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"department", "first_name", "is_active"}) {
		t.Fatalf("fields %v", got)
	}
	problem = apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"first_name": "", "department": "sales"}), 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"department", "first_name"}) {
		t.Fatalf("fields %v", got)
	}
	apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"first_name": nil}), 422, "validation")
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND version = 2 AND first_name = 'Katherine'`, id); n != 1 {
		t.Fatal("invalid patch changed the record")
	}
}

func TestUpdateCollaboratorIfMatch(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, _ := api.CreateCollaborator("kate", "support")
	path := "/v1/collaborators/" + id
	patch := func(ifMatch string, name string) apitest.Response {
		return api.Do(apitest.Request{Method: "PATCH", Path: path, Token: api.ManagerToken,
			Body: map[string]any{"first_name": name}, Header: map[string]string{"If-Match": ifMatch}})
	}
	apitest.AssertProblem(t, patch(`"7"`, "Stale"), 412, "precondition-failed")
	apitest.AssertProblem(t, patch(`W/"1"`, "Weak"), 412, "precondition-failed")
	if res := patch(`"1"`, "Right"); res.Status != 200 || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("matching If-Match: %d %s", res.Status, res.Body)
	}
	if res := patch(`"9", "2"`, "Listed"); res.Status != 200 {
		t.Fatalf("If-Match list: %d %s", res.Status, res.Body)
	}
	if res := patch(`*`, "Star"); res.Status != 200 {
		t.Fatalf("If-Match *: %d %s", res.Status, res.Body)
	}
	del := api.Do(apitest.Request{Method: "DELETE", Path: path, Token: api.ManagerToken, Header: map[string]string{"If-Match": `"1"`}})
	apitest.AssertProblem(t, del, 412, "precondition-failed")
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND first_name = 'Star' AND version = 4 AND deleted_at IS NULL`, id); n != 1 {
		t.Fatal("a failed precondition changed the record")
	}
}

func TestCollaboratorsCannotRemoveThemselves(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	me := api.Get("/v1/me", api.ManagerToken).JSON(t)["id"].(string)
	path := "/v1/collaborators/" + me
	for _, change := range []map[string]any{{"is_active": false}, {"department": "support"}} {
		problem := apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, change), 403, "forbidden")
		if !strings.Contains(problem["detail"].(string), "yourself") {
			t.Fatalf("detail does not say why: %v", problem["detail"])
		}
	}
	apitest.AssertProblem(t, api.Delete(path, api.ManagerToken), 403, "forbidden")
	// Other changes to oneself are fine.
	if res := api.Patch(path, api.ManagerToken, map[string]any{"first_name": "Ada", "is_active": true}); res.Status != 200 {
		t.Fatalf("self update: %d %s", res.Status, res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND is_active AND deleted_at IS NULL AND department = 'management'`, me); n != 1 {
		t.Fatal("the manager removed themself")
	}
}

func TestDeleteCollaboratorIsSoft(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, token := api.CreateCollaborator("kate", "support")
	res := api.Delete("/v1/collaborators/"+id, api.ManagerToken)
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	// Still resolves by id, with deleted_at.
	got := api.Get("/v1/collaborators/"+id, api.ManagerToken)
	if got.Status != 200 || got.JSON(t)["deleted_at"] == nil {
		t.Fatalf("deleted collaborator: %d %s", got.Status, got.Body)
	}
	// Leaves every list.
	list := api.Get("/v1/collaborators?limit=100", api.ManagerToken).JSON(t)
	for _, c := range list["data"].([]any) {
		if c.(map[string]any)["id"] == id {
			t.Fatal("deleted collaborator still listed")
		}
	}
	// Cannot log in; their session is over.
	apitest.AssertProblem(t, api.Post("/v1/auth/login", "", map[string]string{"username": "kate", "password": apitest.CollaboratorPassword}), 401, "unauthenticated")
	apitest.AssertProblem(t, api.Get("/v1/me", token), 401, "unauthenticated")
	// Their username stays reserved.
	body := newCollaboratorBody(999, "kate")
	apitest.AssertProblem(t, api.Post("/v1/collaborators", api.ManagerToken, body), 409, "duplicate")
	// Deleting again, or changing a deleted collaborator, finds nothing.
	apitest.AssertProblem(t, api.Delete("/v1/collaborators/"+id, api.ManagerToken), 404, "not-found")
	apitest.AssertProblem(t, api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"first_name": "Ghost"}), 404, "not-found")
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1 AND action = 'delete'`, id); n != 1 {
		t.Fatal("no audit row for the deletion")
	}
}

func TestReassignToMustNameAnActiveColleague(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	bill, _ := api.CreateCollaborator("bill", "commercial")
	kate, _ := api.CreateCollaborator("kate", "support")
	gone, _ := api.CreateCollaborator("gone", "commercial")
	if res := api.Patch("/v1/collaborators/"+gone, api.ManagerToken, map[string]any{"is_active": false}); res.Status != 200 {
		t.Fatal(res.Status)
	}
	for _, target := range []string{"not-a-uuid", "7f1c7c36-9b38-4b4e-9f3e-4a1f3f2c0d11", kate, gone, bill} {
		res := api.Do(apitest.Request{Method: "DELETE", Path: "/v1/collaborators/" + bill + "?reassign_to=" + target, Token: api.ManagerToken})
		problem := apitest.AssertProblem(t, res, 422, "validation")
		if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"reassign_to"}) {
			t.Fatalf("fields %v", got)
		}
	}
	if n := api.Count(`SELECT count(*) FROM collaborators WHERE id = $1 AND deleted_at IS NULL`, bill); n != 1 {
		t.Fatal("a refused delete deleted")
	}
}

func TestListCollaborators(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	names := []string{"delta", "alpha", "charlie", "bravo", "echo", "foxtrot", "golf"}
	ids := map[string]string{}
	for i, n := range names {
		dept := []string{"commercial", "support"}[i%2]
		api.Clock.Advance(time.Second)
		res := api.Post("/v1/collaborators", api.ManagerToken, map[string]any{
			"employee_number": 10 + i, "first_name": "Member", "last_name": strings.ToUpper(n[:1]) + n[1:],
			"email": n + "@epic-events.test", "username": n, "department": dept, "password": "a-perfectly-fine-password",
		})
		if res.Status != 201 {
			t.Fatalf("create %s: %d %s", n, res.Status, res.Body)
		}
		ids[n] = res.JSON(t)["id"].(string)
	}
	if res := api.Patch("/v1/collaborators/"+ids["golf"], api.ManagerToken, map[string]any{"is_active": false}); res.Status != 200 {
		t.Fatal(res.Status)
	}

	collect := func(query string, limit int) []string {
		var out []string
		cursor := ""
		for pages := 0; ; pages++ {
			path := fmt.Sprintf("/v1/collaborators?limit=%d%s", limit, query)
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			res := api.Get(path, api.ManagerToken)
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
			body := res.JSON(t)
			for _, c := range body["data"].([]any) {
				out = append(out, c.(map[string]any)["username"].(string))
			}
			if len(body["data"].([]any)) > limit || pages > 20 {
				t.Fatal("page larger than limit, or endless paging")
			}
			next, _ := body["next_cursor"].(string)
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	byName := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "manager"}
	for _, limit := range []int{1, 2, 3, 100} {
		if got := collect("", limit); !slices.Equal(got, byName) {
			t.Fatalf("limit %d by last name: %v", limit, got)
		}
	}
	newest := append(slices.Clone(names), "manager")
	slices.Reverse(newest[:len(names)])
	if got := collect("&sort=-created_at", 3); !slices.Equal(got, newest) {
		t.Fatalf("newest first: %v", got)
	}
	if got := collect("&department=support", 2); !slices.Equal(got, []string{"alpha", "bravo", "foxtrot"}) {
		t.Fatalf("support: %v", got)
	}
	if got := collect("&active=false", 2); !slices.Equal(got, []string{"golf"}) {
		t.Fatalf("inactive: %v", got)
	}
	if got := collect("&q=CHAR", 2); !slices.Equal(got, []string{"charlie"}) {
		t.Fatalf("q: %v", got)
	}
	// The full name is searched as one ("first last"); no match spans two
	// fields.
	if got := collect("&q=mber+char", 2); !slices.Equal(got, []string{"charlie"}) {
		t.Fatalf("q across first and last name: %v", got)
	}
	if got := collect("&q=charlie+charlie", 2); len(got) != 0 {
		t.Fatalf("q across fields: %v", got)
	}
	if got := collect("&q=%25", 2); len(got) != 0 {
		t.Fatalf("q=%% matched %v: wildcards must be literal", got)
	}

	// A cursor may be reused with another limit, not with other filters or sort.
	first := api.Get("/v1/collaborators?limit=2", api.ManagerToken).JSON(t)
	cursor := first["next_cursor"].(string)
	if res := api.Get("/v1/collaborators?limit=5&cursor="+cursor, api.ManagerToken); res.Status != 200 {
		t.Fatalf("cursor with another limit: %d", res.Status)
	}
	for _, query := range []string{"&department=support", "&sort=-created_at", "&q=a"} {
		apitest.AssertProblem(t, api.Get("/v1/collaborators?cursor="+cursor+query, api.ManagerToken), 400, "malformed-request")
	}
	apitest.AssertProblem(t, api.Get("/v1/collaborators?cursor=garbage!", api.ManagerToken), 400, "malformed-request")

	for query, field := range map[string]string{
		"limit=0": "limit", "limit=101": "limit", "limit=ten": "limit", "sort=first_name": "sort",
		"department=sales": "department", "active=yes": "active", "colour=red": "colour",
	} {
		problem := apitest.AssertProblem(t, api.Get("/v1/collaborators?"+query, api.ManagerToken), 422, "validation")
		if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{field}) {
			t.Fatalf("%s: fields %v", query, got)
		}
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	apitest.AssertProblem(t, api.Get("/v1/nothing-here", ""), 404, "not-found")
	res := api.Do(apitest.Request{Method: "PUT", Path: "/v1/collaborators"})
	apitest.AssertProblem(t, res, 405, "method-not-allowed")
	if allow := res.Header.Values("Allow"); !slices.Equal(allow, []string{"GET, HEAD, POST"}) {
		t.Fatalf("Allow = %v", allow)
	}
	res = api.Do(apitest.Request{Method: "POST", Path: "/v1/collaborators/7f1c7c36-9b38-4b4e-9f3e-4a1f3f2c0d11", Token: api.ManagerToken})
	apitest.AssertProblem(t, res, 405, "method-not-allowed")
	if allow := res.Header.Values("Allow"); !slices.Equal(allow, []string{"GET, HEAD, PATCH, DELETE"}) {
		t.Fatalf("Allow = %v", allow)
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Do(apitest.Request{Method: "GET", Path: "/v1/me", Header: map[string]string{"X-Request-Id": "trace-12345678"}})
	if res.Header.Get("X-Request-Id") != "trace-12345678" || res.JSON(t)["request_id"] != "trace-12345678" {
		t.Fatalf("request id not kept: %s", res.Body)
	}
	res = api.Do(apitest.Request{Method: "GET", Path: "/v1/me", Header: map[string]string{"X-Request-Id": "bad id\nwith newline"}})
	if id := res.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id kept: %q", id)
	}
}
