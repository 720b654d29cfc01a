package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
)

// problemBody is an RFC 9457 answer, decoded.
type problemBody struct {
	Type      string `json:"type"`
	Status    int    `json:"status"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, res apitest.Response) problemBody {
	t.Helper()
	var p problemBody
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatalf("not a problem: %v: %q", err, res.Body)
	}
	return p
}

func (p problemBody) fields() []string {
	out := []string{}
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// rawPost sends a body byte for byte, as a hostile client would.
func rawPost(api *apitest.API, method, path, token, body string) apitest.Response {
	return api.Do(apitest.Request{Method: method, Path: path, Token: token, Body: body, OffContract: true})
}

// An instant past year 9999 in UTC once went in with a 201, and from then
// on every client list answered 200 with an empty body. Every instant the
// API takes is now strict RFC 3339, truncated to microseconds, then in years
// 0001 to 9999 in UTC; the lists stay readable.
func TestInstantsOutsideTheRangeAreRefusedAndListsStayReadable(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	refused := []string{
		"9999-12-31T23:59:59-23:59",         // year 10000 in UTC
		"0001-01-01T00:30:00+01:00",         // year 0000 in UTC
		"0000-06-01T00:00:00Z",              // year 0000
		"2027-01-01T00:00:00+24:00",         // offset out of range
		"2027-01-01T00:00:00-00:60",         // offset minutes out of range
		"2027-01-01T00:00:00.123456789012Z", // 12 fraction digits
		"2027-01-01T00:00:00",               // no offset
		"2027-01-01 00:00:00Z",              // no T
		"2027-02-29T00:00:00Z",              // no such day
		"2027-01-01T24:00:00Z",              // no such hour
		"+2027-01-01T00:00:00Z",
		"2027-01-01T00:00:00.Z",
		"2027-01-01T00:00:00Z\u0000",
	}
	for _, at := range refused {
		res := api.Post("/v1/clients", bill, map[string]any{
			"full_name": "Kevin", "email": unique("k") + "@x.test", "phone": "123456", "last_contact_at": at,
		})
		apitest.AssertProblem(t, res, 422, "validation")
		p := decodeProblem(t, res)
		if diff := cmp.Diff([]string{"last_contact_at"}, p.fields()); diff != "" {
			t.Errorf("%q: fields (-want +got)\n%s", at, diff)
		}
	}
	if n := api.Count(`SELECT count(*) FROM clients`); n != 0 {
		t.Fatalf("%d clients stored from refused instants", n)
	}
	// The edges of the range are fine, and come back as they went in
	// (nine fraction digits are truncated to microseconds).
	accepted := map[string]string{
		"9999-12-31T23:59:59.999999999Z": "9999-12-31T23:59:59.999999Z",
		"0001-01-01T00:00:00Z":           "0001-01-01T00:00:00Z",
		"0001-01-01T02:00:00+01:59":      "0001-01-01T00:01:00Z",
		"2027-06-04t11:00:00.5z":         "2027-06-04T11:00:00.5Z",
	}
	for in, want := range accepted {
		// Lowercase t and z are RFC 3339, which JSON Schema's date-time
		// checker does not know: off the document's letter, on purpose.
		res := api.Do(apitest.Request{Method: "POST", Path: "/v1/clients", Token: bill, OffContract: true, Body: map[string]any{
			"full_name": "Kevin", "email": unique("k") + "@x.test", "phone": "123456", "first_contact_at": in, "last_contact_at": in,
		}})
		var c struct {
			ID            string `json:"id"`
			LastContactAt string `json:"last_contact_at"`
		}
		if err := json.Unmarshal(expectBody(t, res, 201), &c); err != nil {
			t.Fatal(err)
		}
		if c.LastContactAt != want {
			t.Errorf("%q came back as %q, want %q", in, c.LastContactAt, want)
		}
		expect(t, api.Get("/v1/clients/"+c.ID, bill), 200)
	}
	for _, sort := range []string{"", "?sort=-last_contact_at", "?sort=full_name"} {
		res := api.Get("/v1/clients"+sort, bill)
		var list struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(expectBody(t, res, 200), &list); err != nil || len(list.Data) != len(accepted) {
			t.Fatalf("list%s: %v, %d rows: %s", sort, err, len(list.Data), res.Body)
		}
	}
	// A filter instant obeys the same rules.
	res := api.Get("/v1/events?starts_after=9999-12-31T23:59:59-23:59", bill)
	apitest.AssertProblem(t, res, 422, "validation")
	p := decodeProblem(t, res)
	if diff := cmp.Diff([]string{"starts_after"}, p.fields()); diff != "" {
		t.Errorf("filter fields (-want +got)\n%s", diff)
	}
}

// The same for an event's end_at, on create and on update: nothing stored,
// the event lists stay readable.
func TestEventInstantsOutsideTheRangeAreRefused(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	contract := newContract(t, api, newClient(t, api, bill), "100", true)
	event := newEvent(t, api, bill, contract, 48*time.Hour)
	body := map[string]any{"contract_id": contract, "name": "Gala", "start_at": instant(api, time.Hour),
		"end_at": "9999-12-31T23:59:59-23:59", "location": "", "attendees": 1}
	res := api.Post("/v1/events", bill, body)
	apitest.AssertProblem(t, res, 422, "validation")
	p := decodeProblem(t, res)
	if diff := cmp.Diff([]string{"end_at"}, p.fields()); diff != "" {
		t.Errorf("create fields (-want +got)\n%s", diff)
	}
	res = api.Patch("/v1/events/"+event, api.ManagerToken, map[string]any{"end_at": "9999-12-31T23:59:59-23:59"})
	apitest.AssertProblem(t, res, 422, "validation")
	p = decodeProblem(t, res)
	if diff := cmp.Diff([]string{"end_at"}, p.fields()); diff != "" {
		t.Errorf("update fields (-want +got)\n%s", diff)
	}
	if n := api.Count(`SELECT count(*) FROM events WHERE end_at > '9999-01-01'`); n != 0 {
		t.Fatalf("%d events stored past 9999", n)
	}
	expect(t, api.Get("/v1/events", bill), 200)
}

// NUL bytes and other control characters once reached PostgreSQL and came
// back as 500; invalid UTF-8 in a body was stored as U+FFFD. Now: a body or
// query that is not UTF-8 is 400, a control character 422 naming the field
// (tab, CR and LF allowed in notes and location), a lone surrogate escape
// 422, and nothing is written.
func TestHostileTextIsRefusedWithoutAServerError(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	contract := newContract(t, api, newClient(t, api, bill), "100", true)
	event := newEvent(t, api, bill, contract, 48*time.Hour)
	clientsBefore := api.Count(`SELECT count(*) FROM clients`)
	type attempt struct {
		name, method, path, token, body string
		status                          int
		fields                          []string
	}
	client := func(field, raw string) string {
		m := map[string]string{"full_name": `"Kevin"`, "email": `"k@x.test"`, "phone": `"123456"`}
		m[field] = raw
		var b strings.Builder
		b.WriteString("{")
		first := true
		for k, v := range m {
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(`"` + k + `":` + v)
		}
		b.WriteString("}")
		return b.String()
	}
	attempts := []attempt{
		{"login username with NUL", "POST", "/v1/auth/login", "", `{"username":"bi\u0000ll","password":"x"}`, 422, []string{"username"}},
		{"login username as invalid UTF-8", "POST", "/v1/auth/login", "", "{\"username\":\"bi\xffll\",\"password\":\"x\"}", 400, nil},
		{"client full_name with NUL", "POST", "/v1/clients", bill, client("full_name", `"Ke\u0000vin"`), 422, []string{"full_name"}},
		{"client company_name with NUL", "POST", "/v1/clients", bill, client("company_name", `"Co\u0000"`), 422, []string{"company_name"}},
		{"client company_name with a tab", "POST", "/v1/clients", bill, client("company_name", `"Co\tLtd"`), 422, []string{"company_name"}},
		{"client full_name with U+0085", "POST", "/v1/clients", bill, client("full_name", `"Ke\u0085vin"`), 422, []string{"full_name"}},
		{"client full_name as invalid UTF-8", "POST", "/v1/clients", bill, client("full_name", "\"Ke\xc3vin\""), 400, nil},
		{"client full_name with a lone high surrogate", "POST", "/v1/clients", bill, client("full_name", `"Ke\ud800vin"`), 422, []string{"full_name"}},
		{"client full_name with a lone low surrogate", "POST", "/v1/clients", bill, client("full_name", `"\udc00"`), 422, []string{"full_name"}},
		{"client full_name with reversed surrogates", "POST", "/v1/clients", bill, client("full_name", `"\udc00\ud800"`), 422, []string{"full_name"}},
		{"event name with NUL", "PATCH", "/v1/events/" + event, api.ManagerToken, `{"name":"Ga\u0000la"}`, 422, []string{"name"}},
		{"event location with NUL", "PATCH", "/v1/events/" + event, api.ManagerToken, `{"location":"\u0000"}`, 422, []string{"location"}},
		{"event notes with NUL", "PATCH", "/v1/events/" + event, api.ManagerToken, `{"notes":"a\u0000b"}`, 422, []string{"notes"}},
		{"event notes with ESC", "PATCH", "/v1/events/" + event, api.ManagerToken, `{"notes":"a\u001bb"}`, 422, []string{"notes"}},
		{"event timezone with NUL", "PATCH", "/v1/events/" + event, api.ManagerToken, `{"timezone":"Europe/Paris\u0000"}`, 422, []string{"timezone"}},
		{"collaborator names with NUL", "POST", "/v1/collaborators", api.ManagerToken,
			`{"employee_number":7,"first_name":"A\u0000","last_name":"B","email":"a@x.test","username":"a\u0000b","department":"support","password":"a-perfectly-fine\u0000password"}`,
			422, []string{"first_name", "password", "username"}},
		{"refresh token with NUL", "POST", "/v1/auth/refresh", "", `{"refresh_token":"\u0000"}`, 422, []string{"refresh_token"}},
	}
	for _, a := range attempts {
		res := rawPost(api, a.method, a.path, a.token, a.body)
		if res.Status != a.status || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d problem", a.name, res.Status, res.Body, a.status)
			continue
		}
		if a.fields != nil {
			if diff := cmp.Diff(a.fields, decodeProblem(t, res).fields()); diff != "" {
				t.Errorf("%s: fields (-want +got)\n%s", a.name, diff)
			}
		}
	}
	if n := api.Count(`SELECT count(*) FROM clients`); n != clientsBefore {
		t.Fatalf("clients went from %d to %d", clientsBefore, n)
	}
	if n := api.Count(`SELECT version FROM events WHERE id = $1`, event); n != 1 {
		t.Fatalf("event at version %d after refused updates", n)
	}
	// Tabs and line breaks are text in notes and location.
	expect(t, api.Patch("/v1/events/"+event, api.ManagerToken, map[string]any{"notes": "line 1\r\nline 2\tend", "location": "a\nb"}), 200)
	// A genuine pair of surrogates is one character, and welcome.
	res := rawPost(api, "POST", "/v1/clients", bill, client("full_name", `"Kevin \ud83c\udf89"`))
	var c struct {
		FullName string `json:"full_name"`
	}
	if err := json.Unmarshal(expectBody(t, res, 201), &c); err != nil || c.FullName != "Kevin 🎉" {
		t.Fatalf("surrogate pair: %v %q", err, c.FullName)
	}
}

// A query string is read strictly: undecodable or not UTF-8 is 400, a
// control character 422 naming the parameter, a parameter given twice 422
// (';' is no separator: 400), never a silent default list.
func TestHostileQueryStringsAreRefused(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	cases := []struct {
		query  string
		status int
		fields []string
	}{
		{"q=%FF", 400, nil},
		{"q=%zz", 400, nil},
		{"%FF=1", 400, nil},
		{"limit=1;limit=2", 400, nil},
		{"q=a%00b", 422, []string{"q"}},
		{"q=a%0Ab", 422, []string{"q"}},
		{"limit=1&limit=2", 422, []string{"limit"}},
		{"q=a&q=b", 422, []string{"q"}},
		{"commercial=me%00", 422, []string{"commercial"}},
		{"q=" + strings.Repeat("a", 201), 422, []string{"q"}},
	}
	for _, path := range []string{"/v1/clients", "/v1/collaborators"} {
		for _, c := range cases {
			if path == "/v1/collaborators" && strings.HasPrefix(c.query, "commercial") {
				continue
			}
			res := api.Do(apitest.Request{Method: "GET", Path: path + "?" + c.query, Token: bill, OffContract: true})
			if res.Status != c.status || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s?%s: %d %s, want %d", path, c.query, res.Status, res.Body, c.status)
				continue
			}
			if c.fields != nil {
				if diff := cmp.Diff(c.fields, decodeProblem(t, res).fields()); diff != "" {
					t.Errorf("%s?%s: fields (-want +got)\n%s", path, c.query, diff)
				}
			}
		}
	}
	// The order of the contract holds: 401 before the query's 400.
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "GET", Path: "/v1/clients?q=%zz", OffContract: true}), 401, "unauthenticated")
	// A write route refuses an undecodable query too.
	apitest.AssertProblem(t, api.Do(apitest.Request{Method: "POST", Path: "/v1/clients?x=%zz", Token: bill,
		Body: map[string]any{"full_name": "K", "email": "k@x.test", "phone": "123456"}, OffContract: true}), 400, "malformed-request")
	if n := api.Count(`SELECT count(*) FROM clients`); n != 0 {
		t.Fatalf("%d clients created by a refused request", n)
	}
}

// A client that hangs up before its answer is no failure of ours: its log
// line says 499 at INFO, with no error, and nothing reaches error reporting.
func TestClientThatHangsUpIsLogged499(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var records []apihttp.RequestRecord
	api := apitest.New(t, apitest.Options{Config: func(c *apihttp.Config) {
		c.Observe = func(r apihttp.RequestRecord) {
			mu.Lock()
			defer mu.Unlock()
			records = append(records, r)
		}
	}})
	_, bill := api.CreateCollaborator("bill", "commercial")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, req := range []*http.Request{
		httptest.NewRequestWithContext(ctx, "POST", "/v1/auth/login", strings.NewReader(`{"username":"bill","password":"whatever-it-is"}`)),
		httptest.NewRequestWithContext(ctx, "GET", "/v1/clients", nil),
	} {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bill)
		req.Header.Set("X-Request-Id", "hangup-"+strings.ReplaceAll(req.URL.Path, "/", "-"))
		api.Handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	var seen int
	for _, raw := range strings.Split(strings.TrimSpace(api.LogText()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		if id, _ := line["request_id"].(string); strings.HasPrefix(id, "hangup-") {
			seen++
			if line["status"] != float64(499) || line["level"] != "INFO" || line["error"] != nil {
				t.Errorf("log line %v, want status 499 at INFO without an error", line)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d log lines for the hang-ups, want 2", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range records {
		if strings.HasPrefix(r.RequestID, "hangup-") && (r.Status != 499 || r.Err != nil) {
			t.Errorf("observed %+v, want 499 without an error", r)
		}
	}
}

// expectBody fails unless the answer has the status, and returns its raw body.
func expectBody(t *testing.T, res apitest.Response, status int) []byte {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	return bytes.Clone(res.Body)
}
