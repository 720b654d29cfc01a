package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"epicevents/internal/apitest"
)

// These tests pin down that the contract checker, kin-openapi on an
// OpenAPI 3.1 document, catches what it must: each breach below is one a
// server could drift into.

const (
	uuid1 = "9c4d1e7a-2b3f-4a6e-8c5d-1e2f3a4b5c6d"
	uuid2 = "5b0e2a4c-6a3f-4c1e-9d2b-8f1a7c3e9b01"
)

var kate = `{"id":"` + uuid1 + `","employee_number":42,"first_name":"Kate","last_name":"Hastroff",
"full_name":"Kate Hastroff","email":"kate@epic-events.test","username":"kate","department":"support",
"is_active":true,"deleted_at":null,"version":1,"created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00.123456Z"}`

var wedding = `{"id":"` + uuid1 + `","name":"John Ouick Wedding","contract_id":"` + uuid2 + `",
"client":{"id":"` + uuid2 + `","full_name":"John Ouick","email":"john.ouick@gmail.com","phone":"+1 234 567 8901"},
"support":SUPPORT,"start_at":"2027-06-04T11:00:00Z","end_at":"2027-06-05T00:00:00Z","timezone":"Europe/Paris",
"location":"53 Rue du Château","attendees":75,"notes":"","version":1,"created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z"}`

var contract = `{"id":"` + uuid1 + `","client":{"id":"` + uuid2 + `","full_name":"Kevin Casey","company_name":"Cool Startup LLC"},
"commercial":{"id":"` + uuid2 + `","full_name":"Bill Boquet"},"total_amount":"TOTAL","amount_due":"5000.00","currency":"EUR",
"signed":false,"signed_at":null,"version":1,"created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z"}`

func problem(slug string, status int) string {
	errs := ""
	if status == 422 { // every 422 names its fields
		errs = `,"errors":[{"field":"name","message":"must not be null"}]`
	}
	return `{"type":"urn:epic-events:problem:` + slug + `","title":"T","status":` + strconv.Itoa(status) + `,"detail":"D.","request_id":"abcdefgh12"` + errs + `}`
}

type exchange struct {
	name                 string
	method, path, token  string
	reqHeader            map[string]string
	reqBody              string
	status               int
	header               map[string]string
	body                 string
	wantBreach           bool
	checkRequestToo      bool
	wantBreachMentioning string
}

func TestContractCheckerCatchesDrift(t *testing.T) {
	c, err := apitest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	jsonType := "application/json"
	prob := "application/problem+json"
	ok := map[string]string{"Content-Type": jsonType, "X-Request-Id": "abcdefgh12", "ETag": `"1"`}
	probHeaders := map[string]string{"Content-Type": prob, "X-Request-Id": "abcdefgh12"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	cases := []exchange{
		{name: "a collaborator as documented", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok, body: kate, checkRequestToo: true},
		{name: "an undocumented field", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(kate, `"version":1`, `"version":1,"password_hash":"x"`, 1), wantBreach: true, wantBreachMentioning: "password_hash"},
		{name: "a naive instant", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(kate, `"deleted_at":null`, `"deleted_at":"2026-01-05T09:00:00"`, 1), wantBreach: true, wantBreachMentioning: "deleted_at"},
		{name: "an instant not in UTC", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(kate, `"created_at":"2026-01-05T09:00:00Z"`, `"created_at":"2026-01-05T10:00:00+01:00"`, 1), wantBreach: true, wantBreachMentioning: "created_at"},
		{name: "a missing field", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(kate, `"is_active":true,`, ``, 1), wantBreach: true, wantBreachMentioning: "is_active"},
		{name: "an id that is not a UUID", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(kate, uuid1, "kate", 1), wantBreach: true, wantBreachMentioning: "id"},
		{name: "no ETag", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: with(ok, "ETag", ""), body: kate, wantBreach: true, wantBreachMentioning: "ETag"},
		{name: "a weak ETag", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: with(ok, "ETag", `W/"1"`), body: kate, wantBreach: true, wantBreachMentioning: "ETag"},
		{name: "no X-Request-Id", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 200, header: with(ok, "X-Request-Id", ""), body: kate, wantBreach: true, wantBreachMentioning: "X-Request-Id"},
		{name: "a status the operation does not list", method: "GET", path: "/v1/me", token: "t", status: 404, header: probHeaders, body: problem("not-found", 404), wantBreach: true, wantBreachMentioning: "status"},
		{name: "a 409 slug the operation does not list", method: "POST", path: "/v1/contracts", token: "t", status: 409, header: probHeaders, body: problem("duplicate", 409), wantBreach: true, wantBreachMentioning: "type"},
		{name: "a 409 slug the operation lists", method: "POST", path: "/v1/contracts", token: "t", status: 409, header: probHeaders, body: problem("idempotency-key-in-use", 409)},
		{name: "a problem whose status disagrees", method: "GET", path: "/v1/collaborators/" + uuid1, token: "t", status: 404, header: probHeaders, body: problem("not-found", 400), wantBreach: true, wantBreachMentioning: "status"},
		{name: "a 401 without WWW-Authenticate", method: "GET", path: "/v1/me", status: 401, header: probHeaders, body: problem("unauthenticated", 401), wantBreach: true, wantBreachMentioning: "WWW-Authenticate"},
		{name: "a 429 without Retry-After", method: "POST", path: "/v1/auth/login", status: 429, header: probHeaders, body: problem("rate-limited", 429), wantBreach: true, wantBreachMentioning: "Retry-After"},
		{name: "a 201 without Location", method: "POST", path: "/v1/collaborators", token: "t", status: 201, header: ok, body: kate, wantBreach: true, wantBreachMentioning: "Location"},
		{name: "an event without support", method: "GET", path: "/v1/events/" + uuid1, token: "t", status: 200, header: ok, body: strings.Replace(wedding, "SUPPORT", "null", 1)},
		{name: "an event with support", method: "GET", path: "/v1/events/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(wedding, "SUPPORT", `{"id":"`+uuid2+`","full_name":"Kate Hastroff"}`, 1)},
		{name: "an event whose support is a bare id", method: "GET", path: "/v1/events/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(wedding, "SUPPORT", `"`+uuid2+`"`, 1), wantBreach: true, wantBreachMentioning: "support"},
		{name: "an amount with two decimals", method: "GET", path: "/v1/contracts/" + uuid1, token: "t", status: 200, header: ok, body: strings.Replace(contract, "TOTAL", "15000.00", 1)},
		{name: "an amount without decimals", method: "GET", path: "/v1/contracts/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(contract, "TOTAL", "15000", 1), wantBreach: true, wantBreachMentioning: "total_amount"},
		{name: "an amount as a number", method: "GET", path: "/v1/contracts/" + uuid1, token: "t", status: 200, header: ok,
			body: strings.Replace(contract, `"TOTAL"`, "15000.00", 1), wantBreach: true, wantBreachMentioning: "total_amount"},
		{name: "an unknown path answered 404", method: "GET", path: "/v1/nothing", status: 404, header: probHeaders, body: problem("not-found", 404)},
		{name: "an unknown path answered 200", method: "GET", path: "/v1/nothing", status: 200, header: ok, body: `{}`, wantBreach: true},
		{name: "a 405 without Allow", method: "PUT", path: "/v1/me", status: 405, header: probHeaders, body: problem("method-not-allowed", 405), wantBreach: true, wantBreachMentioning: "Allow"},
		{name: "an unknown path answered with another slug", method: "GET", path: "/v1/nothing", status: 404, header: probHeaders, body: problem("forbidden", 404), wantBreach: true, wantBreachMentioning: "type"},
		{name: "a 405 with another slug", method: "PUT", path: "/v1/me", status: 405, header: with(probHeaders, "Allow", "GET"), body: problem("not-found", 405), wantBreach: true, wantBreachMentioning: "type"},
		{name: "a CORS preflight is the CORS protocol's", method: "OPTIONS", path: "/v1/collaborators", status: 204, header: map[string]string{"Access-Control-Allow-Origin": "https://app.example"},
			reqHeader: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}},
		{name: "a bare OPTIONS is not", method: "OPTIONS", path: "/v1/collaborators", status: 204, header: ok, wantBreach: true},
		{name: "a 405 with Allow", method: "PUT", path: "/v1/me", status: 405, header: with(probHeaders, "Allow", "GET"), body: problem("method-not-allowed", 405)},

		// Requests the server accepted must be described too.
		{name: "an accepted body with an unknown field", method: "PATCH", path: "/v1/events/" + uuid1, token: "t", reqBody: `{"colour":"blue"}`,
			status: 200, header: ok, body: strings.Replace(wedding, "SUPPORT", "null", 1), checkRequestToo: true, wantBreach: true, wantBreachMentioning: "colour"},
		{name: "an explicit null support_id", method: "PATCH", path: "/v1/events/" + uuid1, token: "t", reqBody: `{"support_id":null}`,
			status: 200, header: ok, body: strings.Replace(wedding, "SUPPORT", "null", 1), checkRequestToo: true},
		{name: "an explicit null name accepted", method: "PATCH", path: "/v1/events/" + uuid1, token: "t", reqBody: `{"name":null}`,
			status: 200, header: ok, body: strings.Replace(wedding, "SUPPORT", "null", 1), checkRequestToo: true, wantBreach: true, wantBreachMentioning: "name"},
		{name: "a naive instant accepted", method: "PATCH", path: "/v1/events/" + uuid1, token: "t", reqBody: `{"start_at":"2027-06-04T11:00:00"}`,
			status: 200, header: ok, body: strings.Replace(wedding, "SUPPORT", "null", 1), checkRequestToo: true, wantBreach: true, wantBreachMentioning: "start_at"},
		{name: "an amount as a number accepted", method: "PATCH", path: "/v1/contracts/" + uuid1, token: "t", reqBody: `{"amount_due":5000}`,
			status: 200, header: ok, body: strings.Replace(contract, "TOTAL", "15000.00", 1), checkRequestToo: true, wantBreach: true, wantBreachMentioning: "amount_due"},
		{name: "an unknown sort accepted", method: "GET", path: "/v1/collaborators?sort=first_name", token: "t",
			status: 200, header: ok, body: `{"data":[],"next_cursor":null}`, checkRequestToo: true, wantBreach: true, wantBreachMentioning: "sort"},
		{name: "a limit out of range accepted", method: "GET", path: "/v1/collaborators?limit=101", token: "t",
			status: 200, header: ok, body: `{"data":[],"next_cursor":null}`, checkRequestToo: true, wantBreach: true, wantBreachMentioning: "limit"},
		{name: "a protected operation answered without a token", method: "GET", path: "/v1/collaborators",
			status: 200, header: ok, body: `{"data":[],"next_cursor":null}`, checkRequestToo: true, wantBreach: true, wantBreachMentioning: "security"},
		{name: "a rejected request is not checked", method: "PATCH", path: "/v1/events/" + uuid1, token: "t", reqBody: `{"name":null}`,
			status: 422, header: probHeaders, body: problem("validation", 422), checkRequestToo: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.reqBody))
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", jsonType)
			}
			for k, v := range tc.reqHeader {
				req.Header.Set(k, v)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res := apitest.Response{Status: tc.status, Header: http.Header{}, Body: []byte(tc.body)}
			for k, v := range tc.header {
				res.Header.Set(k, v)
			}
			err := c.Check(req, []byte(tc.reqBody), res, tc.checkRequestToo && tc.status < 400)
			switch {
			case tc.wantBreach && err == nil:
				t.Fatal("breach not caught")
			case !tc.wantBreach && err != nil:
				t.Fatalf("conforming exchange reported: %v", err)
			case err != nil && !strings.Contains(err.Error(), tc.wantBreachMentioning):
				t.Fatalf("breach reported without naming %q: %v", tc.wantBreachMentioning, err)
			}
		})
	}
}
