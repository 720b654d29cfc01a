package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// pageThrough follows next_cursor from path with the limit and returns
// the ids in the order served, checking page sizes on the way.
func pageThrough(t *testing.T, api *apitest.API, token, path string, limit int) []string {
	t.Helper()
	var ids []string
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + fmt.Sprintf("limit=%d", limit)
	for range 1000 {
		body := expect(t, api.Get(next, token), http.StatusOK)
		data := body["data"].([]any)
		if len(data) > limit {
			t.Fatalf("page of %d rows, limit %d", len(data), limit)
		}
		for _, row := range data {
			ids = append(ids, row.(map[string]any)["id"].(string))
		}
		cursor, _ := body["next_cursor"].(string)
		if cursor == "" {
			return ids
		}
		if len(data) != limit {
			t.Fatalf("a short page (%d of %d) has a next cursor", len(data), limit)
		}
		next = path + sep + fmt.Sprintf("limit=%d&cursor=%s", limit, url.QueryEscape(cursor))
	}
	t.Fatal("paging does not end")
	return nil
}

// idsOf runs a query returning ids in the expected order.
func idsOf(t *testing.T, api *apitest.API, sql string, args ...any) []string {
	t.Helper()
	rows, err := api.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func assertSameOrder(t *testing.T, name string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: served %d rows %v\nwant %d rows %v", name, len(got), got, len(want), want)
	}
}

func TestClientListPagesEveryRowOnceInEverySort(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	// Ties on every sort key: names and companies repeat, and several
	// clients share each instant.
	for i := range 13 {
		token := bill
		if i%3 == 0 {
			token = anna
		}
		expect(t, api.Post("/v1/clients", token, map[string]any{
			"full_name": []string{"Zoé", "adam", "Émile", "Adam"}[i%4], "email": unique("c") + "@x.test", "phone": "123456",
			"company_name": []string{"", "Acme", "acme"}[i%3], "last_contact_at": instant(api, -time.Duration(i%2)*time.Hour),
		}), 201)
		if i%5 == 0 {
			api.Clock.Advance(time.Second)
		}
	}
	orders := map[string]string{
		"":                 "created_at DESC, id DESC",
		"-created_at":      "created_at DESC, id DESC",
		"full_name":        "full_name, id",
		"company_name":     "company_name, id",
		"-last_contact_at": "last_contact_at DESC, id DESC",
	}
	for sort, order := range orders {
		want := idsOf(t, api, `SELECT id FROM clients ORDER BY `+order)
		for _, limit := range []int{1, 2, 5, 13, 100} {
			assertSameOrder(t, fmt.Sprintf("sort %q limit %d", sort, limit),
				pageThrough(t, api, bill, "/v1/clients"+sortQuery(sort), limit), want)
		}
	}
	annaID := api.Caller(anna)
	want := idsOf(t, api, `SELECT id FROM clients WHERE commercial_id = $1 ORDER BY full_name, id`, annaID)
	assertSameOrder(t, "commercial=me", pageThrough(t, api, anna, "/v1/clients?sort=full_name&commercial=me", 2), want)
	assertSameOrder(t, "commercial=id", pageThrough(t, api, bill, "/v1/clients?sort=full_name&commercial="+annaID, 2), want)
	if len(want) != 5 {
		t.Fatalf("anna's clients: %d", len(want))
	}
}

func TestClientSearch(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	make := func(name, email, company string) string {
		return expect(t, api.Post("/v1/clients", bill, map[string]any{"full_name": name, "email": email,
			"phone": "123456", "company_name": company}), 201)["id"].(string)
	}
	kevin := make("Kevin Casey", "kevin@startup.io", "Cool Startup LLC")
	john := make("John Ouick", "john.ouick@gmail.com", "100% Weddings")
	jane := make("Jane Doe", "jane_doe@mail.test", "Parties")
	cases := map[string][]string{
		"KEVIN": {kevin}, "startup": {kevin}, "gmail": {john}, "o": {john, jane, kevin},
		"100%": {john}, "%": {john}, "_": {jane}, "zzz": {},
		// No match spans two fields (name and company, company and email).
		"startup.io": {kevin}, "casey cool": {}, "llc kevin": {},
	}
	for q, want := range cases {
		body := expect(t, api.Get("/v1/clients?sort=full_name&q="+url.QueryEscape(q), bill), 200)
		var got []string
		for _, row := range body["data"].([]any) {
			got = append(got, row.(map[string]any)["id"].(string))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("q=%q: %v, want %v", q, got, want)
		}
	}
}

func TestListParametersOfTheWrongFormAreNamed(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	historyOf := "/v1/collaborators/" + api.Caller(api.ManagerToken) + "/history"
	cases := map[string]string{
		"/v1/clients?commercial=bill":                 "commercial",
		"/v1/clients?commercial=":                     "commercial",
		"/v1/clients?sort=last_name":                  "sort",
		"/v1/clients?sort=":                           "sort",
		"/v1/clients?limit=0":                         "limit",
		"/v1/clients?limit=101":                       "limit",
		"/v1/clients?limit=ten":                       "limit",
		"/v1/clients?page=2":                          "page",
		"/v1/contracts?client_id=42":                  "client_id",
		"/v1/contracts?commercial=someone":            "commercial",
		"/v1/contracts?signed=yes":                    "signed",
		"/v1/contracts?fully_paid=1":                  "fully_paid",
		"/v1/contracts?sort=amount_due":               "sort",
		"/v1/events?support=nobody":                   "support",
		"/v1/events?support=":                         "support",
		"/v1/events?contract_id=x":                    "contract_id",
		"/v1/events?client_id=x":                      "client_id",
		"/v1/events?commercial=none":                  "commercial",
		"/v1/events?starts_after=2027-06-04T11:00:00": "starts_after",
		"/v1/events?starts_before=2027-06-04":         "starts_before",
		"/v1/events?sort=-created_at":                 "sort",
		"/v1/events?limit=-1":                         "limit",
		"/v1/collaborators?department=sales":          "department",
		"/v1/collaborators?department=":               "department",
		"/v1/collaborators?active=yes":                "active",
		"/v1/collaborators?active=":                   "active",
		"/v1/collaborators?sort=first_name":           "sort",
		"/v1/collaborators?limit=1000":                "limit",
		"/v1/collaborators?role=manager":              "role",
		historyOf + "?limit=0":                        "limit",
		historyOf + "?sort=at":                        "sort",
		historyOf + "?action=create":                  "action",
	}
	for path, field := range cases {
		body := apitest.AssertProblem(t, api.Get(path, api.ManagerToken), 422, "validation")
		if !slices.Equal(apitest.FieldsOf(body), []string{field}) {
			t.Fatalf("%s: fields %v, want %s", path, apitest.FieldsOf(body), field)
		}
	}
}

func TestCursorsAreBoundToTheirList(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	for range 3 {
		newClient(t, api, bill)
	}
	body := expect(t, api.Get("/v1/clients?limit=1&commercial=me", bill), 200)
	cursor := url.QueryEscape(body["next_cursor"].(string))
	// Another limit is fine; "me" and the caller's id are the same filter.
	expect(t, api.Get("/v1/clients?limit=5&commercial=me&cursor="+cursor, bill), 200)
	expect(t, api.Get("/v1/clients?commercial="+billID+"&cursor="+cursor, bill), 200)
	for _, path := range []string{
		"/v1/clients?cursor=" + cursor,
		"/v1/clients?commercial=me&sort=full_name&cursor=" + cursor,
		"/v1/clients?commercial=me&q=a&cursor=" + cursor,
		"/v1/contracts?commercial=me&cursor=" + cursor,
		"/v1/events?commercial=me&cursor=" + cursor,
		"/v1/collaborators?cursor=" + cursor,
		"/v1/clients?commercial=me&cursor=garbled",
		"/v1/clients?commercial=me&cursor=" + cursor[:len(cursor)-4],
	} {
		apitest.AssertProblem(t, api.Get(path, bill), 400, "malformed-request")
	}
}

func TestContractListFiltersAndSorts(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	_, anna := api.CreateCollaborator("anna", "commercial")
	billClient, annaClient := newClient(t, api, bill), newClient(t, api, anna)
	for i := range 11 {
		client := billClient
		if i%3 == 0 {
			client = annaClient
		}
		res := api.Post("/v1/contracts", api.ManagerToken, map[string]any{"client_id": client,
			"total_amount": "1000", "amount_due": []string{"0", "250.5", "1000", "250.50"}[i%4], "signed": i%2 == 0})
		expect(t, res, 201)
		if i%4 == 0 {
			api.Clock.Advance(time.Second)
		}
	}
	for sort, order := range map[string]string{"-created_at": "created_at DESC, id DESC", "-amount_due": "amount_due DESC, id DESC"} {
		want := idsOf(t, api, `SELECT id FROM contracts ORDER BY `+order)
		for _, limit := range []int{1, 3, 11} {
			assertSameOrder(t, sort, pageThrough(t, api, bill, "/v1/contracts?sort="+sort, limit), want)
		}
	}
	filters := map[string]string{
		"client_id=" + annaClient: "client_id = '" + annaClient + "'",
		"commercial=me":           "client_id = '" + billClient + "'",
		"commercial=" + billID:    "client_id = '" + billClient + "'",
		"signed=true":             "signed",
		"signed=false":            "NOT signed",
		"fully_paid=true":         "amount_due = 0",
		"fully_paid=false":        "amount_due > 0",
		"signed=true&fully_paid=false&commercial=me": "signed AND amount_due > 0 AND client_id = '" + billClient + "'",
	}
	for filter, where := range filters {
		want := idsOf(t, api, `SELECT id FROM contracts WHERE `+where+` ORDER BY amount_due DESC, id DESC`)
		if len(want) == 0 {
			t.Fatalf("%s selects nothing", filter)
		}
		assertSameOrder(t, filter, pageThrough(t, api, bill, "/v1/contracts?sort=-amount_due&"+filter, 2), want)
	}
}

func TestEventListFiltersAndSorts(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	annaID, anna := api.CreateCollaborator("anna", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	billContract := newContract(t, api, newClient(t, api, bill), "10", true)
	annaClient := newClient(t, api, anna)
	annaContract := newContract(t, api, annaClient, "10", true)
	for i := range 12 {
		token, contract := bill, billContract
		if i%3 == 0 {
			token, contract = anna, annaContract
		}
		id := newEvent(t, api, token, contract, time.Duration(1+i%5)*time.Hour)
		if i%2 == 0 {
			assignSupport(t, api, id, kateID)
		}
	}
	for sort, order := range map[string]string{"": "start_at, id", "start_at": "start_at, id", "-start_at": "start_at DESC, id DESC"} {
		want := idsOf(t, api, `SELECT id FROM events ORDER BY `+order)
		for _, limit := range []int{1, 4, 12} {
			assertSameOrder(t, sort, pageThrough(t, api, kate, "/v1/events"+sortQuery(sort), limit), want)
		}
	}
	after := api.Clock.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	before := api.Clock.Now().Add(4 * time.Hour).UTC().Truncate(time.Second)
	filters := map[string]struct {
		where string
		args  []any
	}{
		"contract_id=" + annaContract: {"contract_id = $1", []any{annaContract}},
		"client_id=" + annaClient:     {"contract_id = $1", []any{annaContract}},
		"commercial=" + annaID:        {"contract_id = $1", []any{annaContract}},
		"support=me":                  {"support_id = $1", []any{kateID}},
		"support=" + kateID:           {"support_id = $1", []any{kateID}},
		"support=none":                {"support_id IS NULL", nil},
		// An offset other than Z names the same instant.
		"starts_after=" + url.QueryEscape(after.In(time.FixedZone("", 2*3600)).Format(time.RFC3339)):             {"start_at >= $1", []any{after}},
		"starts_before=" + url.QueryEscape(before.Format(time.RFC3339)):                                          {"start_at < $1", []any{before}},
		"support=none&starts_after=" + url.QueryEscape(after.Format(time.RFC3339Nano)) + "&commercial=" + annaID: {"support_id IS NULL AND start_at >= $1 AND contract_id = $2", []any{after, annaContract}},
	}
	for filter, f := range filters {
		want := idsOf(t, api, `SELECT id FROM events WHERE `+f.where+` ORDER BY start_at DESC, id DESC`, f.args...)
		if len(want) == 0 {
			t.Fatalf("%s selects nothing", filter)
		}
		assertSameOrder(t, filter, pageThrough(t, api, kate, "/v1/events?sort=-start_at&"+filter, 2), want)
	}
}

// sortQuery asks for a sort, or for the default one when sort is "".
func sortQuery(sort string) string {
	if sort == "" {
		return "?"
	}
	return "?sort=" + sort
}
