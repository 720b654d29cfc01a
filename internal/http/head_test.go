package http_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"epicevents/internal/apitest"
)

// Every GET route of the router answers HEAD with GET's status and
// headers and no body (SPEC §3); the routes come from the router itself,
// so a new GET route is covered without touching this test.
func TestEveryGetRouteAnswersHead(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	commercialID, commercial := api.CreateCollaborator(unique("bill"), "commercial")
	clientID := newClient(t, api, commercial)
	contractID := newContract(t, api, clientID, "15000.00", true)
	eventID := newEvent(t, api, commercial, contractID, 30*24*time.Hour)
	ids := map[string]string{
		"/v1/collaborators/": commercialID, "/v1/clients/": clientID,
		"/v1/contracts/": contractID, "/v1/events/": eventID,
		"/v1/webhooks/": newWebhook(t, api),
	}
	feed := expect(t, api.Post("/v1/me/calendar", api.ManagerToken, nil), http.StatusCreated)["url"].(string)
	feedPath := strings.TrimPrefix(feed, apitest.PublicBaseURL)
	srv := api.Server()
	// The stream never ends: it is read from a server without the
	// recorder that checks exchanges, headers only.
	raw := httptest.NewServer(api.Handler)
	t.Cleanup(raw.Close)

	routes, ok := api.Handler.(chi.Routes)
	if !ok {
		t.Fatal("the handler is not a chi router")
	}
	var paths []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodGet {
			return nil
		}
		path := strings.Replace(route, "{file}", "swagger-ui.css", 1)
		if route == "/calendar/{token}.ics" {
			path = feedPath
		}
		if before, after, found := strings.Cut(path, "{id}"); found {
			path = before + ids[before] + after
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	contract, err := apitest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	documented := 0
	for _, item := range contract.Doc.Paths.Map() {
		if item.Get != nil {
			documented++
		}
	}
	if len(paths) != documented {
		t.Fatalf("found %d GET routes, openapi.yaml has %d: %v", len(paths), documented, paths)
	}

	send := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		base := srv.URL
		if path == "/v1/changes/stream" {
			base = raw.URL
		}
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+api.ManagerToken)
		req.Header.Set("X-Request-Id", "head-check-0001")
		// Asked explicitly, so that the transport neither adds it to GET
		// only nor decompresses behind the test's back.
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		res.Header.Del("Date")
		if path == "/v1/changes/stream" && method == http.MethodGet {
			return res, nil
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		res.Header.Del("Date")
		return res, body
	}
	for _, path := range paths {
		get, getBody := send(http.MethodGet, path)
		head, headBody := send(http.MethodHead, path)
		if get.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, get.StatusCode, getBody)
			continue
		}
		if head.StatusCode != get.StatusCode {
			t.Errorf("HEAD %s: %d, GET %d", path, head.StatusCode, get.StatusCode)
		}
		if diff := cmp.Diff(get.Header, head.Header); diff != "" {
			t.Errorf("HEAD %s headers differ from GET's (-GET +HEAD):\n%s", path, diff)
		}
		if len(headBody) != 0 {
			t.Errorf("HEAD %s has a body of %d bytes", path, len(headBody))
		}
	}

	// HEAD is refused where GET is, with the same problem's status.
	if res, _ := send(http.MethodHead, "/v1/nothing-here"); res.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD on an unknown path: %d", res.StatusCode)
	}
	res, body := send(http.MethodHead, "/v1/auth/login")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" || len(body) != 0 {
		t.Errorf("HEAD on a POST route: %d, Allow %q, %d bytes", res.StatusCode, res.Header.Get("Allow"), len(body))
	}
}
