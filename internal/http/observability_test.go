package http_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
)

// logLines decodes the JSON log lines whose message is msg.
func logLines(t *testing.T, api *apitest.API, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(api.LogText()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func requestLine(t *testing.T, api *apitest.API, requestID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range logLines(t, api, "request") {
		if l["request_id"] == requestID {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d request log lines for %s, want 1:\n%s", len(found), requestID, api.LogText())
	}
	return found[0]
}

func TestEveryRequestGetsAnIDInHeaderProblemAndLog(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	res := api.Get("/v1/collaborators/not-a-uuid", api.ManagerToken)
	body := apitest.AssertProblem(t, res, http.StatusNotFound, "not-found") // checks body request_id == header
	id := res.Header.Get("X-Request-Id")
	if !generated.MatchString(id) || body["request_id"] != id {
		t.Fatalf("request id %q, body %v", id, body["request_id"])
	}
	requestLine(t, api, id)

	// A plain id from a client or proxy is kept, so a trace crosses hops.
	res = api.Do(apitest.Request{Method: http.MethodGet, Path: "/v1/me", Header: map[string]string{"X-Request-Id": "edge-1234.abcd_EF"}})
	body = apitest.AssertProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	if res.Header.Get("X-Request-Id") != "edge-1234.abcd_EF" || body["request_id"] != "edge-1234.abcd_EF" {
		t.Fatalf("client request id not kept: %q %v", res.Header.Get("X-Request-Id"), body["request_id"])
	}
	requestLine(t, api, "edge-1234.abcd_EF")

	// Anything else could forge log lines or be unbounded: replaced.
	for _, bad := range []string{"short", "has space inside", `quote"injection{}`, strings.Repeat("a", 65)} {
		res = api.Do(apitest.Request{Method: http.MethodGet, Path: "/healthz", Header: map[string]string{"X-Request-Id": bad}})
		if got := res.Header.Get("X-Request-Id"); !generated.MatchString(got) {
			t.Fatalf("request id %q kept as %q", bad, got)
		}
		if strings.Contains(api.LogText(), bad) {
			t.Fatalf("rejected request id %q reached the log", bad)
		}
	}
}

func TestRequestLogLineNamesRouteStatusDurationAndCaller(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, token := api.CreateCollaborator("kate", "support")

	res := api.Get("/v1/collaborators/"+id, token)
	if res.Status != http.StatusOK {
		t.Fatalf("get: %d %s", res.Status, res.Body)
	}
	line := requestLine(t, api, res.Header.Get("X-Request-Id"))
	if line["level"] != "INFO" || line["method"] != "GET" || line["route"] != "/v1/collaborators/{id}" ||
		line["status"] != float64(200) || line["collaborator_id"] != id {
		t.Fatalf("request line: %v", line)
	}
	if d, ok := line["duration_ms"].(float64); !ok || d <= 0 {
		t.Fatalf("duration_ms: %v", line["duration_ms"])
	}
	// The pattern, not the path: ids stay out of the route field.
	if strings.Contains(line["route"].(string), id) {
		t.Fatalf("route carries the id: %v", line["route"])
	}

	// Unknown paths keep the route field bounded: no path text in it.
	for path, route := range map[string]string{"/nowhere/at-all": "unmatched", "/v1/nowhere": "/v1/*"} {
		res = api.Get(path, "")
		line = requestLine(t, api, res.Header.Get("X-Request-Id"))
		if line["route"] != route || line["status"] != float64(404) || line["collaborator_id"] != "" {
			t.Fatalf("%s: request line %v", path, line)
		}
	}
}

func TestNoPasswordTokenOrAuthorizationHeaderIsLogged(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	secrets := []string{apitest.ManagerPassword, apitest.CollaboratorPassword, api.ManagerToken}

	// Successful and failed logins, with distinctive passwords.
	login := api.Post("/v1/auth/login", "", map[string]string{"username": "manager", "password": apitest.ManagerPassword})
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	pair := login.JSON(t)
	secrets = append(secrets, pair["access_token"].(string), pair["refresh_token"].(string))
	wrong := "wrong-password-canary-4711"
	secrets = append(secrets, wrong)
	api.Post("/v1/auth/login", "", map[string]string{"username": "manager", "password": wrong})
	api.Post("/v1/auth/login", "", map[string]string{"username": "no-such-user", "password": wrong})

	// Collaborator creation with a password, accepted and refused.
	kateID, kateToken := api.CreateCollaborator("kate", "commercial")
	secrets = append(secrets, kateToken)
	refused := "password1234" // on the common-password list
	secrets = append(secrets, refused)
	res := api.Post("/v1/collaborators", api.ManagerToken, map[string]any{
		"employee_number": 4242, "first_name": "Bill", "last_name": "Boquet", "email": "bill@epic-events.test",
		"username": "bill", "department": "commercial", "password": refused,
	})
	apitest.AssertProblem(t, res, http.StatusUnprocessableEntity, "validation")
	newPassword := "a-new-password-canary-0815"
	secrets = append(secrets, newPassword)
	if res := api.Patch("/v1/collaborators/"+kateID, api.ManagerToken, map[string]any{"password": newPassword}); res.Status != http.StatusOK {
		t.Fatalf("password update: %d %s", res.Status, res.Body)
	}

	// Bearer tokens that fail, and other Authorization schemes.
	forged := "eyJhbGciOiJIUzI1NiJ9.forged-token-canary.c2ln"
	secrets = append(secrets, forged, "dXNlcjpwYXNzd29yZA==")
	api.Get("/v1/me", forged)
	api.Do(apitest.Request{Method: http.MethodGet, Path: "/v1/me", Header: map[string]string{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}})
	api.Do(apitest.Request{Method: http.MethodPost, Path: "/v1/auth/logout", Token: pair["access_token"].(string)})

	logs := api.LogText()
	if n := len(logLines(t, api, "request")); n < 10 {
		t.Fatalf("only %d request lines logged; the test drives more", n)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Fatalf("a secret (%.6s…) reached the log:\n%s", s, logs)
		}
	}
	for _, word := range []string{"authorization", "bearer", "password"} {
		if strings.Contains(strings.ToLower(logs), word) {
			t.Fatalf("%q appears in the log:\n%s", word, logs)
		}
	}
}

func TestAPIAnswersAreNotCachedNorSniffed(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for _, res := range []apitest.Response{
		api.Get("/v1/me", api.ManagerToken), // 200
		api.Get("/v1/me", ""),               // 401
		api.Get("/v1/collaborators/"+"00000000-0000-0000-0000-000000000000", api.ManagerToken),   // 404
		api.Do(apitest.Request{Method: http.MethodPut, Path: "/v1/me", Token: api.ManagerToken}), // 405
		api.Post("/v1/auth/login", "", map[string]string{"username": "manager", "password": apitest.ManagerPassword}),
	} {
		want := "no-store"
		if res.Status == http.StatusOK && res.Header.Get("ETag") != "" {
			// SPEC §7: a GET with an ETag may be kept, and revalidated.
			want = "private, no-cache"
		}
		if res.Header.Get("Cache-Control") != want || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("status %d: Cache-Control %q, X-Content-Type-Options %q", res.Status,
				res.Header.Get("Cache-Control"), res.Header.Get("X-Content-Type-Options"))
		}
	}
}

func withCORS(origins ...string) apitest.Options {
	return apitest.Options{Config: func(c *apihttp.Config) { c.CORSAllowedOrigins = origins }}
}

func preflight(api *apitest.API, origin, method, headers string) apitest.Response {
	return api.Do(apitest.Request{Method: http.MethodOptions, Path: "/v1/collaborators", Header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
	}})
}

func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(part)))
		}
	}
	slices.Sort(out)
	return out
}

func TestCORSIsOffUnlessOriginsAreConfigured(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := preflight(api, "https://app.epic-events.test", "POST", "authorization,content-type")
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Status != http.StatusMethodNotAllowed {
		t.Fatalf("preflight without CORS: %d %v", res.Status, res.Header)
	}
	res = api.Do(apitest.Request{Method: http.MethodGet, Path: "/v1/me", Token: api.ManagerToken,
		Header: map[string]string{"Origin": "https://app.epic-events.test"}})
	if res.Status != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("simple request without CORS: %d %v", res.Status, res.Header)
	}
}

func TestCORSPreflightAllowsTheAPIHeadersForListedOrigins(t *testing.T) {
	t.Parallel()
	const origin = "https://app.epic-events.test"
	api := apitest.New(t, withCORS(origin, "https://admin.epic-events.test"))

	res := preflight(api, origin, "PATCH", "Authorization, Content-Type, If-Match, Idempotency-Key")
	if res.Status >= 300 || res.Header.Get("Access-Control-Allow-Origin") != origin ||
		res.Header.Get("Access-Control-Allow-Methods") != "PATCH" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %d %v", res.Status, res.Header)
	}
	want := []string{"authorization", "content-type", "idempotency-key", "if-match"}
	if got := headerList(res.Header, "Access-Control-Allow-Headers"); !slices.Equal(got, want) {
		t.Fatalf("allowed headers %v, want %v", got, want)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Fatal("preflight has no request id")
	}

	refused := map[string]apitest.Response{
		"unlisted origin":   preflight(api, "https://evil.test", "POST", "content-type"),
		"unlisted header":   preflight(api, origin, "POST", "content-type,x-debug"),
		"unlisted method":   preflight(api, origin, "TRACE", ""),
		"origin lookalike":  preflight(api, "https://app.epic-events.test.evil.test", "GET", ""),
		"scheme difference": preflight(api, "http://app.epic-events.test", "GET", ""),
	}
	for name, res := range refused {
		if res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: allowed: %v", name, res.Header)
		}
	}
}

func TestCORSSimpleRequestExposesTheAPIHeaders(t *testing.T) {
	t.Parallel()
	const origin = "https://app.epic-events.test"
	api := apitest.New(t, withCORS(origin))
	res := api.Do(apitest.Request{Method: http.MethodGet, Path: "/v1/me", Token: api.ManagerToken,
		Header: map[string]string{"Origin": origin}})
	if res.Status != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("simple request: %d %v", res.Status, res.Header)
	}
	want := []string{"etag", "location", "retry-after", "x-request-id"}
	if got := headerList(res.Header, "Access-Control-Expose-Headers"); !slices.Equal(got, want) {
		t.Fatalf("exposed headers %v, want %v", got, want)
	}
	if !slices.Contains(headerList(res.Header, "Vary"), "origin") {
		t.Fatalf("no Vary: Origin: %v", res.Header)
	}
	res = api.Do(apitest.Request{Method: http.MethodGet, Path: "/v1/me", Token: api.ManagerToken,
		Header: map[string]string{"Origin": "https://evil.test"}})
	if res.Status != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("unlisted origin: %d %v", res.Status, res.Header)
	}
}
