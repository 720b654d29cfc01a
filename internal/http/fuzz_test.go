package http_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

// The fuzz targets drive the real router on a real database with what a
// hostile client may send: any bytes as the body of each write route, any
// query string on each list. Whatever comes in, the answer is never a 5xx,
// every 4xx is an RFC 9457 problem, and whatever was accepted can be read
// back by GET and by the lists it belongs to. `go test` runs the seeds (the
// defects found from outside among them); CI runs each target for a few
// seconds with -fuzz (see .ci/run).

// fuzzWorld is one API with a record of each kind to aim at.
type fuzzWorld struct {
	api                              *apitest.API
	bill, kate                       string // a commercial's and a support's tokens
	billID, kateID                   string
	client, contract, event, support string // ids
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	api := apitest.New(f)
	w := &fuzzWorld{api: api}
	w.billID, w.bill = api.CreateCollaborator("bill", "commercial")
	w.kateID, w.kate = api.CreateCollaborator("kate", "support")
	w.support, _ = api.CreateCollaborator("joe", "support")
	w.client = newClient(f, api, w.bill)
	w.contract = newContract(f, api, w.client, "1000", true)
	w.event = newEvent(f, api, w.bill, w.contract, 72*time.Hour)
	assignSupport(f, api, w.event, w.kateID)
	return w
}

// send passes one raw exchange through the router.
func (w *fuzzWorld) send(method, path, rawQuery, token string, body []byte) *httptest.ResponseRecorder {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.URL.RawQuery = rawQuery
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	w.api.Handler.ServeHTTP(rec, r)
	return rec
}

// checkAnswer holds the invariants every answer must keep.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: %d as %q: %s", what, rec.Code, ct, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code ||
			!strings.HasPrefix(p.Type, "urn:epic-events:problem:") {
			t.Fatalf("%s: broken problem %d %q: %v", what, rec.Code, rec.Body, err)
		}
		if rec.Code == 422 && len(p.Errors) == 0 {
			t.Fatalf("%s: 422 naming no field: %s", what, rec.Body)
		}
		return
	}
	if rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, rec.Code, rec.Body)
	}
}

// readBack fetches an accepted record and the lists it belongs to: all of
// them must answer, whole.
func (w *fuzzWorld) readBack(t *testing.T, token, resource, id string, lists ...string) {
	t.Helper()
	get := w.send("GET", "/v1/"+resource+"/"+id, "", token, nil)
	checkAnswer(t, "read back", get)
	if get.Code != 200 {
		t.Fatalf("accepted %s %s cannot be read back: %d %s", resource, id, get.Code, get.Body)
	}
	for _, q := range append([]string{""}, lists...) {
		list := w.send("GET", "/v1/"+resource, q, token, nil)
		checkAnswer(t, "list "+resource+"?"+q, list)
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if list.Code != 200 || json.Unmarshal(list.Body.Bytes(), &page) != nil {
			t.Fatalf("list %s?%s after an accepted write: %d %s", resource, q, list.Code, list.Body)
		}
	}
}

// fuzzBody fuzzes the body of one write route.
func fuzzBody(f *testing.F, seeds []string, exchange func(t *testing.T, w *fuzzWorld, body []byte)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body []byte) { exchange(t, w, body) })
}

// Bodies the defects found from outside were made of, shared by the targets.
var hostileBodies = []string{
	``, `{}`, `[]`, `null`, `{"a":1}{}`, "{\"full_name\":\"\xff\"}", `{"full_name":"\u0000"}`,
	`{"full_name":"\ud800"}`, `{"name":"\udc00\ud800"}`, `{"notes":"a\tb\r\nc"}`,
	`{"last_contact_at":"9999-12-31T23:59:59-23:59"}`, `{"end_at":"9999-12-31T23:59:59-23:59"}`,
	`{"start_at":"0000-01-01T00:00:00Z"}`, `{"start_at":"2030-01-01T00:00:00+24:00"}`,
	`{"start_at":"2030-01-01T00:00:00.123456789012Z"}`, `{"total_amount":15000}`, `{"total_amount":"1e3"}`,
	`{"amount_due":"99999999999"}`, `{"attendees":1e400}`, `{"attendees":-1}`, `{"support_id":null}`,
	`{"username":"bi\u0000ll","password":"x"}`, `{"commercial_id":"00000000-0000-0000-0000-000000000000"}`,
	`{"department":"management"}`, `{"is_active":"false"}`, `{"timezone":"Local"}`, `{"timezone":"../etc/passwd"}`,
}

func withSeeds(extra ...string) []string {
	return append(append([]string{}, hostileBodies...), extra...)
}

func FuzzLoginBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"username":"bill","password":"a-perfectly-fine-password"}`, `{"username":"BILL@epic-events.test","password":"x"}`),
		func(t *testing.T, w *fuzzWorld, body []byte) {
			checkAnswer(t, "login", w.send("POST", "/v1/auth/login", "", "", body))
		})
}

func FuzzRefreshBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"refresh_token":"abc"}`, `{"refresh_token":""}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		checkAnswer(t, "refresh", w.send("POST", "/v1/auth/refresh", "", "", body))
	})
}

func FuzzChangePasswordBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"current_password":"wrong","new_password":"password1234"}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		// A password that did change must still be the one the world logs
		// in with: only a current password that is wrong is sent.
		var req map[string]any
		if json.Unmarshal(body, &req) == nil && req["current_password"] == apitest.CollaboratorPassword {
			return
		}
		checkAnswer(t, "change password", w.send("PUT", "/v1/me/password", "", w.kate, body))
	})
}

func FuzzCreateCollaboratorBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"employee_number":900,"first_name":"Ann","last_name":"O'Neil","email":"ann@x.test","username":"ann","department":"support","password":"a-perfectly-fine-password"}`),
		func(t *testing.T, w *fuzzWorld, body []byte) {
			rec := w.send("POST", "/v1/collaborators", "", w.api.ManagerToken, body)
			checkAnswer(t, "create collaborator", rec)
			if rec.Code == 201 {
				w.readBack(t, w.api.ManagerToken, "collaborators", idOf(t, rec), "sort=-created_at", "sort=last_name", "active=true")
			}
		})
}

func FuzzUpdateCollaboratorBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"first_name":"Joe","last_name":"Doe"}`, `{"email":"joe2@x.test"}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		rec := w.send("PATCH", "/v1/collaborators/"+w.support, "", w.api.ManagerToken, body)
		checkAnswer(t, "update collaborator", rec)
		if rec.Code == 200 {
			w.readBack(t, w.api.ManagerToken, "collaborators", w.support, "sort=-created_at", "sort=last_name")
		}
	})
}

func FuzzCreateClientBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"full_name":"Kevin Casey","email":"kevin@startup.io","phone":"+678 123 456 78","company_name":"Cool Startup LLC","last_contact_at":"2023-03-29T00:00:00Z"}`),
		func(t *testing.T, w *fuzzWorld, body []byte) {
			rec := w.send("POST", "/v1/clients", "", w.bill, body)
			checkAnswer(t, "create client", rec)
			if rec.Code == 201 {
				w.readBack(t, w.bill, "clients", idOf(t, rec), "commercial=me", "sort=full_name", "sort=company_name", "sort=-last_contact_at")
			}
		})
}

func FuzzUpdateClientBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"company_name":"New Co"}`, `{"first_contact_at":"2020-01-01T00:00:00+02:00"}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		rec := w.send("PATCH", "/v1/clients/"+w.client, "", w.bill, body)
		checkAnswer(t, "update client", rec)
		if rec.Code == 200 {
			w.readBack(t, w.bill, "clients", w.client, "commercial=me", "sort=full_name", "sort=-last_contact_at")
		}
	})
}

func FuzzCreateContractBody(f *testing.F) {
	f.Add([]byte(`{"client_id":"CLIENT","total_amount":"15000.00","amount_due":"5000","currency":"EUR"}`))
	fuzzBody(f, withSeeds(), func(t *testing.T, w *fuzzWorld, body []byte) {
		body = bytes.ReplaceAll(body, []byte("CLIENT"), []byte(w.client))
		rec := w.send("POST", "/v1/contracts", "", w.api.ManagerToken, body)
		checkAnswer(t, "create contract", rec)
		if rec.Code == 201 {
			w.readBack(t, w.api.ManagerToken, "contracts", idOf(t, rec), "client_id="+w.client, "sort=-amount_due", "signed=false")
		}
	})
}

func FuzzUpdateContractBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"amount_due":"10.5"}`, `{"signed":true}`, `{"total_amount":"1000"}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		rec := w.send("PATCH", "/v1/contracts/"+w.contract, "", w.api.ManagerToken, body)
		checkAnswer(t, "update contract", rec)
		if rec.Code == 200 {
			w.readBack(t, w.api.ManagerToken, "contracts", w.contract, "client_id="+w.client, "sort=-amount_due", "fully_paid=false")
		}
	})
}

func FuzzCreateEventBody(f *testing.F) {
	f.Add([]byte(`{"contract_id":"CONTRACT","name":"Gala","start_at":"2099-06-04T11:00:00Z","end_at":"2099-06-05T00:00:00+02:00","location":"Paris","attendees":75,"notes":"by the river"}`))
	fuzzBody(f, withSeeds(), func(t *testing.T, w *fuzzWorld, body []byte) {
		body = bytes.ReplaceAll(body, []byte("CONTRACT"), []byte(w.contract))
		rec := w.send("POST", "/v1/events", "", w.bill, body)
		checkAnswer(t, "create event", rec)
		if rec.Code == 201 {
			w.readBack(t, w.bill, "events", idOf(t, rec), "contract_id="+w.contract, "commercial=me", "sort=-start_at", "support=none")
		}
	})
}

func FuzzUpdateEventBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"notes":"moved indoors","attendees":80}`, `{"end_at":"2099-12-31T23:59:59Z"}`), func(t *testing.T, w *fuzzWorld, body []byte) {
		rec := w.send("PATCH", "/v1/events/"+w.event, "", w.api.ManagerToken, body)
		checkAnswer(t, "update event", rec)
		if rec.Code == 200 {
			w.readBack(t, w.api.ManagerToken, "events", w.event, "contract_id="+w.contract, "sort=-start_at", "support=me")
		}
	})
}

func idOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.ID == "" {
		t.Fatalf("created without an id: %s", rec.Body)
	}
	if loc := rec.Header().Get("Location"); !strings.HasSuffix(loc, "/"+r.ID) {
		t.Fatalf("Location %q for %s", loc, r.ID)
	}
	return r.ID
}

// Query strings the defects found from outside were made of.
var hostileQueries = []string{
	"", "q=%FF", "q=a%00b", "q=%zz", "limit=1;limit=2", "limit=1&limit=2", "limit=0", "limit=101", "limit=x",
	"sort=", "sort=-nope", "cursor=garbled!", "cursor=eyJjIjoiY2xpZW50cyJ9", "starts_after=9999-12-31T23:59:59-23:59",
	"starts_after=2030-01-01T00:00:00+24:00", "commercial=me", "commercial=nobody", "support=none", "active=yes",
	"department=", "signed=TRUE", "fully_paid=false&signed=true", "q=%25_%5C", "unknown=1",
}

// fuzzList fuzzes the query string of one list.
func fuzzList(f *testing.F, path func(w *fuzzWorld) string, token func(w *fuzzWorld) string, extra ...string) {
	for _, s := range append(append([]string{}, hostileQueries...), extra...) {
		f.Add(s)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, query string) {
		rec := w.send("GET", path(w), query, token(w), nil)
		checkAnswer(t, "list ?"+query, rec)
		// A page that came back gives a cursor that works with its query.
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), &page) == nil && page.NextCursor != nil {
			checkAnswer(t, "next page", w.send("GET", path(w), query+"&cursor="+*page.NextCursor, token(w), nil))
		}
	})
}

func FuzzCollaboratorListQuery(f *testing.F) {
	fuzzList(f, func(*fuzzWorld) string { return "/v1/collaborators" }, billsToken, "department=support&active=true&q=jo&sort=last_name&limit=1")
}

func FuzzClientListQuery(f *testing.F) {
	fuzzList(f, func(*fuzzWorld) string { return "/v1/clients" }, billsToken, "commercial=me&q=kev&sort=-last_contact_at&limit=1")
}

func FuzzContractListQuery(f *testing.F) {
	fuzzList(f, func(*fuzzWorld) string { return "/v1/contracts" }, billsToken, "commercial=me&signed=true&fully_paid=false&sort=-amount_due&limit=1")
}

func FuzzEventListQuery(f *testing.F) {
	fuzzList(f, func(*fuzzWorld) string { return "/v1/events" }, billsToken,
		"support=me&starts_after=2020-01-01T00:00:00Z&starts_before=2100-01-01T00:00:00%2B02:00&sort=-start_at&limit=1")
}

func FuzzHistoryQuery(f *testing.F) {
	fuzzList(f, func(w *fuzzWorld) string { return "/v1/clients/" + w.client + "/history" },
		func(w *fuzzWorld) string { return w.api.ManagerToken }, "limit=1")
}

func billsToken(w *fuzzWorld) string { return w.bill }

func FuzzCreateTokenBody(f *testing.F) {
	fuzzBody(f, withSeeds(`{"name":"sync","scopes":["event:read"]}`, `{"name":"x","scopes":["event:read","event:read"]}`,
		`{"name":"x","scopes":[]}`, `{"name":"x","scopes":[1]}`, `{"name":"x","scopes":"event:read","expires_in_days":366}`),
		func(t *testing.T, w *fuzzWorld, body []byte) {
			rec := w.send("POST", "/v1/me/tokens", "", w.kate, body)
			checkAnswer(t, "create token", rec)
		})
}
