package http_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

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
