package http_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"epicevents"
	"epicevents/internal/apitest"
)

func TestOpenAPIDocumentIsServedAsBuilt(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Get("/openapi.yaml", "")
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("openapi.yaml: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(res.Body, epicevents.OpenAPI) || !bytes.HasPrefix(res.Body, []byte("openapi: 3.1.0\n")) {
		t.Fatalf("served document differs from openapi.yaml (%d bytes)", len(res.Body))
	}
}

// The docs page loads every asset from this server: its HTML names no
// other host, and each file it names is served.
func TestDocsPageServesItsOwnAssets(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Get("/docs", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("docs: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	page := string(res.Body)
	if !strings.Contains(page, `"/openapi.yaml"`) {
		t.Fatalf("the page does not load /openapi.yaml:\n%s", page)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("expected the page's scripts, style sheet and icons, found %v", refs)
	}
	for _, ref := range refs {
		url := ref[1]
		if !strings.HasPrefix(url, "/docs/") {
			t.Fatalf("the page loads %q from outside /docs/", url)
		}
		asset := api.Get(url, "")
		if asset.Status != http.StatusOK || len(asset.Body) == 0 {
			t.Fatalf("%s: %d", url, asset.Status)
		}
		if asset.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s is compressed for a client that did not ask", url)
		}
	}
	for _, url := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"} {
		if asset := api.Get(url, ""); asset.Status != http.StatusOK {
			t.Fatalf("%s: %d", url, asset.Status)
		}
	}
	apitest.AssertProblem(t, api.Get("/docs/no-such-file.js", ""), http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, api.Get("/docs/..%2fgo.mod", ""), http.StatusNotFound, "not-found")
}

// The page runs no inline script, so its Content-Security-Policy can allow
// scripts of this server only; the script it loads keeps no token in the
// browser's storage and carries none of the old wrapper's rewrites.
func TestDocsPageIsServedUnderAStrictPolicy(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	res := api.Get("/docs", "")
	policy := map[string]string{}
	for _, directive := range strings.Split(res.Header.Get("Content-Security-Policy"), ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), " ")
		policy[name] = value
	}
	want := map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
		"connect-src": "'self'", "base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
	}
	if diff := cmp.Diff(want, policy); diff != "" {
		t.Fatalf("Content-Security-Policy of /docs (-want +got):\n%s", diff)
	}
	page := string(res.Body)
	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Fatalf("the page loads no script:\n%s", page)
	}
	for _, s := range scripts {
		if !strings.Contains(s[1], `src="/docs/`) || strings.TrimSpace(s[2]) != "" {
			t.Fatalf("inline script on the page: %s", s[0])
		}
	}
	if strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Fatalf("inline style on the page:\n%s", page)
	}
	script := api.Get("/docs/docs.js", "")
	if script.Status != http.StatusOK || script.Header.Get("Content-Type") != "application/javascript" {
		t.Fatalf("docs.js: %d %q", script.Status, script.Header.Get("Content-Type"))
	}
	for _, gone := range []string{"proxyRequest", "__reactInternalInstance", "persistAuthorization: true"} {
		if strings.Contains(page, gone) || bytes.Contains(script.Body, []byte(gone)) {
			t.Errorf("the page still carries %q", gone)
		}
	}
	if !bytes.Contains(script.Body, []byte("persistAuthorization: false")) {
		t.Errorf("docs.js does not turn persistAuthorization off:\n%s", script.Body)
	}
}

// Every answer of the server, not only /v1's, forbids content sniffing:
// documents, assets, probes, and the router's own 404 and 405.
func TestEveryAnswerForbidsSniffing(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	requests := []apitest.Request{
		{Method: http.MethodGet, Path: "/docs"},
		{Method: http.MethodGet, Path: "/docs/docs.js"},
		{Method: http.MethodGet, Path: "/docs/swagger-ui-bundle.js"},
		{Method: http.MethodGet, Path: "/docs/no-such-file.js"},
		{Method: http.MethodGet, Path: "/openapi.yaml"},
		{Method: http.MethodGet, Path: "/healthz"},
		{Method: http.MethodGet, Path: "/readyz"},
		{Method: http.MethodGet, Path: "/metrics"},
		{Method: http.MethodGet, Path: "/no-such-path"},
		{Method: http.MethodPost, Path: "/healthz"},
		{Method: http.MethodGet, Path: "/v1/me"},
		{Method: http.MethodGet, Path: "/v1/me", Token: api.ManagerToken},
	}
	for _, req := range requests {
		res := api.Do(req)
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q", req.Method, req.Path, res.Status, got)
		}
	}
}
