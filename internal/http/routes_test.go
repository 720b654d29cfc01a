package http_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"epicevents"
	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
)

// notYetRouted lists operations openapi.yaml describes whose handlers
// land from other branches. It may only shrink: the test fails as soon as
// one of them is routed, so that it is struck off here.
var notYetRouted = []string{}

// chi writes a parameter with a pattern as {name:regexp}; OpenAPI as {name}.
var chiParam = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)

// The router and openapi.yaml describe the same operations, both ways.
func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	contract, err := apitest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range contract.Doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	routes, ok := apihttp.NewHandler(apihttp.Config{OpenAPI: epicevents.OpenAPI}).(chi.Routes)
	if !ok {
		t.Fatal("the handler is not a chi router")
	}
	routed := map[string]bool{}
	err = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+chiParam.ReplaceAllString(route, "{$1}")] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var undocumented, unrouted, stale []string
	for op := range routed {
		if !documented[op] {
			undocumented = append(undocumented, op)
		}
	}
	for op := range documented {
		if !routed[op] && !slices.Contains(notYetRouted, op) {
			unrouted = append(unrouted, op)
		}
	}
	for _, op := range notYetRouted {
		if routed[op] {
			stale = append(stale, op)
		}
		if !documented[op] {
			t.Errorf("notYetRouted names %s, which openapi.yaml does not describe", op)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unrouted)
	slices.Sort(stale)
	if len(undocumented) > 0 {
		t.Errorf("routed but not in openapi.yaml:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unrouted) > 0 {
		t.Errorf("in openapi.yaml but not routed:\n  %s", strings.Join(unrouted, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("routed now, so strike them off notYetRouted:\n  %s", strings.Join(stale, "\n  "))
	}
	if len(notYetRouted) > 0 {
		t.Logf("documented, routes still to land (%d): %s", len(notYetRouted), strings.Join(notYetRouted, ", "))
	}
}

// Unknown paths and methods answer the document's NotFound and
// MethodNotAllowed responses (apitest checks them against openapi.yaml).
func TestUnknownPathsAndMethodsAnswerDocumentedProblems(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	apitest.AssertProblem(t, api.Get("/v1/nothing-here", api.ManagerToken), http.StatusNotFound, "not-found")
	res := api.Do(apitest.Request{Method: http.MethodPut, Path: "/v1/me", Token: api.ManagerToken})
	apitest.AssertProblem(t, res, http.StatusMethodNotAllowed, "method-not-allowed")
	if res.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow: %q", res.Header.Values("Allow"))
	}
	res = api.Do(apitest.Request{Method: http.MethodDelete, Path: "/v1/collaborators", Token: api.ManagerToken})
	apitest.AssertProblem(t, res, http.StatusMethodNotAllowed, "method-not-allowed")
	if got := strings.Join(res.Header.Values("Allow"), "|"); got != "GET, HEAD, POST" {
		t.Fatalf("Allow: %q", got)
	}
}
