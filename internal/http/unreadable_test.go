package http_test

import (
	"slices"
	"testing"

	"epicevents/internal/apitest"
)

// One 422 names every bad field of a body: unknown ones, wrongly typed
// ones and ones whose value breaks a rule, each once.
func TestOneAnswerNamesEveryBadField(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Post("/v1/contracts", api.ManagerToken, map[string]any{
		"client_id": "not-a-uuid", "total_amount": 15000, "currency": "euro", "colour": "blue",
	})
	problem := apitest.AssertProblem(t, res, 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"client_id", "colour", "currency", "total_amount"}) {
		t.Fatalf("fields %v", got)
	}
	for _, e := range problem["errors"].([]any) {
		if e := e.(map[string]any); e["field"] == "total_amount" && e["message"] != "must be a string" {
			t.Fatalf("an amount sent as a number: %v", e)
		}
	}

	res = api.Post("/v1/auth/login", "", map[string]any{"username": 7, "remember_me": true})
	problem = apitest.AssertProblem(t, res, 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"password", "remember_me", "username"}) {
		t.Fatalf("login fields %v", got)
	}
	if n := api.Count(`SELECT count(*) FROM contracts`) + api.Count(`SELECT count(*) FROM login_failures`); n != 0 {
		t.Fatalf("a refused request wrote %d rows", n)
	}
}

// Likewise one 422 names every bad query parameter of a list.
func TestOneAnswerNamesEveryBadParameter(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	cases := map[string][]string{
		"/v1/clients?limit=ten&commercial=xyz&colour=red":         {"colour", "commercial", "limit"},
		"/v1/events?starts_after=2027-01-01T10:00:00&support=who": {"starts_after", "support"},
		"/v1/collaborators?active=yes&department=sales&sort=age":  {"active", "department", "sort"},
		"/v1/contracts?signed=maybe&limit=0":                      {"limit", "signed"},
	}
	for path, want := range cases {
		problem := apitest.AssertProblem(t, api.Get(path, api.ManagerToken), 422, "validation")
		if got := apitest.FieldsOf(problem); !slices.Equal(got, want) {
			t.Errorf("%s: fields %v, want %v", path, got, want)
		}
	}
}

// A malformed cursor (400) wins over invalid values (422), as the contract
// orders them; a good cursor with an invalid limit is the 422.
func TestMalformedCursorComesBeforeInvalidValues(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	api.CreateCollaborator("bill", "commercial")
	first := api.Get("/v1/collaborators?limit=1", api.ManagerToken).JSON(t)
	cursor := first["next_cursor"].(string)
	apitest.AssertProblem(t, api.Get("/v1/collaborators?cursor=garbled!&limit=0&sort=age", api.ManagerToken), 400, "malformed-request")
	apitest.AssertProblem(t, api.Get("/v1/collaborators?cursor="+cursor+"&department=sales", api.ManagerToken), 400, "malformed-request")
	problem := apitest.AssertProblem(t, api.Get("/v1/collaborators?cursor="+cursor+"&limit=0", api.ManagerToken), 422, "validation")
	if got := apitest.FieldsOf(problem); !slices.Equal(got, []string{"limit"}) {
		t.Fatalf("fields %v", got)
	}
}
