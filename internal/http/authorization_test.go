package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"epicevents"
	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
)

// Who calls: no token, or a collaborator of a department.
const (
	anonymous  = "anonymous"
	commercial = "commercial"
	support    = "support"
	management = "management"
)

var callers = []string{anonymous, commercial, support, management}

// permissionCell is one cell of the authorization matrix: a route of the
// router (its method and pattern), the kind of write it carries when the
// route takes several (fields), who calls, whose record it targets when
// the contract makes ownership matter, and the status the contract gives.
type permissionCell struct {
	method, route string
	fields        string
	who           string
	// whose: "own" / "other's" (a commercial's client, contract or event),
	// "assigned" / "not assigned" (a support's event), "self" / "other" (a
	// collaborator record); empty where ownership does not matter.
	whose  string
	status int
}

// The contract's authorization, route by route (SPEC §1 and §3). The
// anonymous caller of login and refresh presents the credentials of no one.
var authorizationMatrix = []permissionCell{
	{"GET", "/healthz", "", anonymous, "", 200},
	{"GET", "/healthz", "", commercial, "", 200},
	{"GET", "/healthz", "", support, "", 200},
	{"GET", "/healthz", "", management, "", 200},
	{"GET", "/readyz", "", anonymous, "", 200},
	{"GET", "/readyz", "", commercial, "", 200},
	{"GET", "/readyz", "", support, "", 200},
	{"GET", "/readyz", "", management, "", 200},
	{"GET", "/metrics", "", anonymous, "", 200},
	{"GET", "/metrics", "", commercial, "", 200},
	{"GET", "/metrics", "", support, "", 200},
	{"GET", "/metrics", "", management, "", 200},
	{"GET", "/openapi.yaml", "", anonymous, "", 200},
	{"GET", "/openapi.yaml", "", commercial, "", 200},
	{"GET", "/openapi.yaml", "", support, "", 200},
	{"GET", "/openapi.yaml", "", management, "", 200},
	{"GET", "/docs", "", anonymous, "", 200},
	{"GET", "/docs", "", commercial, "", 200},
	{"GET", "/docs", "", support, "", 200},
	{"GET", "/docs", "", management, "", 200},
	{"GET", "/docs/{file}", "", anonymous, "", 200},
	{"GET", "/docs/{file}", "", commercial, "", 200},
	{"GET", "/docs/{file}", "", support, "", 200},
	{"GET", "/docs/{file}", "", management, "", 200},

	{"POST", "/v1/auth/login", "", anonymous, "", 401},
	{"POST", "/v1/auth/login", "", commercial, "", 200},
	{"POST", "/v1/auth/login", "", support, "", 200},
	{"POST", "/v1/auth/login", "", management, "", 200},
	{"POST", "/v1/auth/refresh", "", anonymous, "", 401},
	{"POST", "/v1/auth/refresh", "", commercial, "", 200},
	{"POST", "/v1/auth/refresh", "", support, "", 200},
	{"POST", "/v1/auth/refresh", "", management, "", 200},
	{"POST", "/v1/auth/logout", "", anonymous, "", 401},
	{"POST", "/v1/auth/logout", "", commercial, "", 204},
	{"POST", "/v1/auth/logout", "", support, "", 204},
	{"POST", "/v1/auth/logout", "", management, "", 204},
	{"GET", "/v1/me", "", anonymous, "", 401},
	{"GET", "/v1/me", "", commercial, "", 200},
	{"GET", "/v1/me", "", support, "", 200},
	{"GET", "/v1/me", "", management, "", 200},
	{"PUT", "/v1/me/password", "", anonymous, "", 401},
	{"PUT", "/v1/me/password", "", commercial, "", 204},
	{"PUT", "/v1/me/password", "", support, "", 204},
	{"PUT", "/v1/me/password", "", management, "", 204},

	// Tokens and calendar feeds of one's own (a login session; the token
	// attack set sends personal access tokens to them).
	{"GET", "/v1/me/tokens", "", anonymous, "", 401},
	{"GET", "/v1/me/tokens", "", commercial, "", 200},
	{"GET", "/v1/me/tokens", "", support, "", 200},
	{"GET", "/v1/me/tokens", "", management, "", 200},
	{"POST", "/v1/me/tokens", "", anonymous, "", 401},
	{"POST", "/v1/me/tokens", "", commercial, "", 201},
	{"POST", "/v1/me/tokens", "", support, "", 201},
	{"POST", "/v1/me/tokens", "", management, "", 201},
	{"DELETE", "/v1/me/tokens/{id}", "", anonymous, "", 401},
	{"DELETE", "/v1/me/tokens/{id}", "", commercial, "own", 204},
	{"DELETE", "/v1/me/tokens/{id}", "", commercial, "other's", 404},
	{"DELETE", "/v1/me/tokens/{id}", "", support, "own", 204},
	{"DELETE", "/v1/me/tokens/{id}", "", management, "own", 204},
	{"DELETE", "/v1/me/tokens/{id}", "", management, "other's", 404},
	{"GET", "/v1/me/calendar", "", anonymous, "", 401},
	{"GET", "/v1/me/calendar", "", commercial, "", 200},
	{"GET", "/v1/me/calendar", "", support, "", 200},
	{"GET", "/v1/me/calendar", "", management, "", 200},
	{"POST", "/v1/me/calendar", "", anonymous, "", 401},
	{"POST", "/v1/me/calendar", "", commercial, "", 201},
	{"POST", "/v1/me/calendar", "", support, "", 201},
	{"POST", "/v1/me/calendar", "", management, "", 201},
	{"DELETE", "/v1/me/calendar", "", anonymous, "", 401},
	{"DELETE", "/v1/me/calendar", "", commercial, "", 204},
	{"DELETE", "/v1/me/calendar", "", support, "", 204},
	{"DELETE", "/v1/me/calendar", "", management, "", 204},
	// The feed's path is its credential: no Authorization header, and an
	// unknown path token is 404.
	{"GET", "/calendar/{token}.ics", "", anonymous, "", 404},
	{"GET", "/calendar/{token}.ics", "", commercial, "own", 200},
	{"GET", "/calendar/{token}.ics", "", support, "own", 200},
	{"GET", "/calendar/{token}.ics", "", management, "own", 200},

	{"GET", "/v1/collaborators", "", anonymous, "", 401},
	{"GET", "/v1/collaborators", "", commercial, "", 200},
	{"GET", "/v1/collaborators", "", support, "", 200},
	{"GET", "/v1/collaborators", "", management, "", 200},
	{"POST", "/v1/collaborators", "", anonymous, "", 401},
	{"POST", "/v1/collaborators", "", commercial, "", 403},
	{"POST", "/v1/collaborators", "", support, "", 403},
	{"POST", "/v1/collaborators", "", management, "", 201},
	{"GET", "/v1/collaborators/{id}", "", anonymous, "", 401},
	{"GET", "/v1/collaborators/{id}", "", commercial, "", 200},
	{"GET", "/v1/collaborators/{id}", "", support, "", 200},
	{"GET", "/v1/collaborators/{id}", "", management, "", 200},
	{"PATCH", "/v1/collaborators/{id}", "name", anonymous, "", 401},
	{"PATCH", "/v1/collaborators/{id}", "name", commercial, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "name", commercial, "other", 403},
	{"PATCH", "/v1/collaborators/{id}", "name", support, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "name", support, "other", 403},
	{"PATCH", "/v1/collaborators/{id}", "name", management, "self", 200},
	{"PATCH", "/v1/collaborators/{id}", "name", management, "other", 200},
	{"PATCH", "/v1/collaborators/{id}", "deactivate", commercial, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "deactivate", support, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "deactivate", management, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "deactivate", management, "other", 200},
	{"PATCH", "/v1/collaborators/{id}", "department", management, "self", 403},
	{"PATCH", "/v1/collaborators/{id}", "department", management, "other", 200},
	{"DELETE", "/v1/collaborators/{id}", "", anonymous, "", 401},
	{"DELETE", "/v1/collaborators/{id}", "", commercial, "self", 403},
	{"DELETE", "/v1/collaborators/{id}", "", commercial, "other", 403},
	{"DELETE", "/v1/collaborators/{id}", "", support, "self", 403},
	{"DELETE", "/v1/collaborators/{id}", "", support, "other", 403},
	{"DELETE", "/v1/collaborators/{id}", "", management, "self", 403},
	{"DELETE", "/v1/collaborators/{id}", "", management, "other", 204},
	{"GET", "/v1/collaborators/{id}/tokens", "", anonymous, "", 401},
	{"GET", "/v1/collaborators/{id}/tokens", "", commercial, "self", 403},
	{"GET", "/v1/collaborators/{id}/tokens", "", support, "self", 403},
	{"GET", "/v1/collaborators/{id}/tokens", "", management, "other", 200},
	{"DELETE", "/v1/collaborators/{id}/tokens/{token_id}", "", anonymous, "", 401},
	{"DELETE", "/v1/collaborators/{id}/tokens/{token_id}", "", commercial, "self", 403},
	{"DELETE", "/v1/collaborators/{id}/tokens/{token_id}", "", support, "self", 403},
	{"DELETE", "/v1/collaborators/{id}/tokens/{token_id}", "", management, "other", 204},

	{"GET", "/v1/clients", "", anonymous, "", 401},
	{"GET", "/v1/clients", "", commercial, "", 200},
	{"GET", "/v1/clients", "", support, "", 200},
	{"GET", "/v1/clients", "", management, "", 200},
	{"POST", "/v1/clients", "", anonymous, "", 401},
	{"POST", "/v1/clients", "", commercial, "", 201},
	{"POST", "/v1/clients", "", support, "", 403},
	{"POST", "/v1/clients", "", management, "", 403},
	{"GET", "/v1/clients/{id}", "", anonymous, "", 401},
	{"GET", "/v1/clients/{id}", "", commercial, "other's", 200},
	{"GET", "/v1/clients/{id}", "", support, "", 200},
	{"GET", "/v1/clients/{id}", "", management, "", 200},
	{"PATCH", "/v1/clients/{id}", "details", anonymous, "", 401},
	{"PATCH", "/v1/clients/{id}", "details", commercial, "own", 200},
	{"PATCH", "/v1/clients/{id}", "details", commercial, "other's", 403},
	{"PATCH", "/v1/clients/{id}", "details", support, "", 403},
	{"PATCH", "/v1/clients/{id}", "details", management, "", 403},
	{"PATCH", "/v1/clients/{id}", "commercial_id", commercial, "own", 403},
	{"PATCH", "/v1/clients/{id}", "commercial_id", commercial, "other's", 403},
	{"PATCH", "/v1/clients/{id}", "commercial_id", support, "", 403},
	{"PATCH", "/v1/clients/{id}", "commercial_id", management, "", 200},

	{"GET", "/v1/contracts", "", anonymous, "", 401},
	{"GET", "/v1/contracts", "", commercial, "", 200},
	{"GET", "/v1/contracts", "", support, "", 200},
	{"GET", "/v1/contracts", "", management, "", 200},
	{"POST", "/v1/contracts", "", anonymous, "", 401},
	{"POST", "/v1/contracts", "", commercial, "own", 403},
	{"POST", "/v1/contracts", "", support, "", 403},
	{"POST", "/v1/contracts", "", management, "", 201},
	{"GET", "/v1/contracts/{id}", "", anonymous, "", 401},
	{"GET", "/v1/contracts/{id}", "", commercial, "other's", 200},
	{"GET", "/v1/contracts/{id}", "", support, "", 200},
	{"GET", "/v1/contracts/{id}", "", management, "", 200},
	{"PATCH", "/v1/contracts/{id}", "", anonymous, "", 401},
	{"PATCH", "/v1/contracts/{id}", "", commercial, "own", 200},
	{"PATCH", "/v1/contracts/{id}", "", commercial, "other's", 403},
	{"PATCH", "/v1/contracts/{id}", "", support, "", 403},
	{"PATCH", "/v1/contracts/{id}", "", management, "", 200},

	{"GET", "/v1/events", "", anonymous, "", 401},
	{"GET", "/v1/events", "", commercial, "", 200},
	{"GET", "/v1/events", "", support, "", 200},
	{"GET", "/v1/events", "", management, "", 200},
	{"POST", "/v1/events", "", anonymous, "", 401},
	{"POST", "/v1/events", "", commercial, "own", 201},
	{"POST", "/v1/events", "", commercial, "other's", 403},
	{"POST", "/v1/events", "", support, "", 403},
	{"POST", "/v1/events", "", management, "", 403},
	{"GET", "/v1/events/{id}", "", anonymous, "", 401},
	{"GET", "/v1/events/{id}", "", commercial, "other's", 200},
	{"GET", "/v1/events/{id}", "", support, "not assigned", 200},
	{"GET", "/v1/events/{id}", "", management, "", 200},
	{"PATCH", "/v1/events/{id}", "details", anonymous, "", 401},
	{"PATCH", "/v1/events/{id}", "details", commercial, "own", 403},
	{"PATCH", "/v1/events/{id}", "details", support, "assigned", 200},
	{"PATCH", "/v1/events/{id}", "details", support, "not assigned", 403},
	{"PATCH", "/v1/events/{id}", "details", management, "", 200},
	{"PATCH", "/v1/events/{id}", "support_id", commercial, "own", 403},
	{"PATCH", "/v1/events/{id}", "support_id", support, "assigned", 403},
	{"PATCH", "/v1/events/{id}", "support_id", support, "not assigned", 403},
	{"PATCH", "/v1/events/{id}", "support_id", management, "", 200},

	{"GET", "/v1/collaborators/{id}/history", "", anonymous, "", 401},
	{"GET", "/v1/collaborators/{id}/history", "", commercial, "self", 403},
	{"GET", "/v1/collaborators/{id}/history", "", support, "self", 403},
	{"GET", "/v1/collaborators/{id}/history", "", management, "", 200},
	{"GET", "/v1/clients/{id}/history", "", anonymous, "", 401},
	{"GET", "/v1/clients/{id}/history", "", commercial, "own", 403},
	{"GET", "/v1/clients/{id}/history", "", support, "", 403},
	{"GET", "/v1/clients/{id}/history", "", management, "", 200},
	{"GET", "/v1/contracts/{id}/history", "", anonymous, "", 401},
	{"GET", "/v1/contracts/{id}/history", "", commercial, "own", 403},
	{"GET", "/v1/contracts/{id}/history", "", support, "", 403},
	{"GET", "/v1/contracts/{id}/history", "", management, "", 200},
	{"GET", "/v1/events/{id}/history", "", anonymous, "", 401},
	{"GET", "/v1/events/{id}/history", "", commercial, "own", 403},
	{"GET", "/v1/events/{id}/history", "", support, "assigned", 403},
	{"GET", "/v1/events/{id}/history", "", management, "", 200},
	{"GET", "/v1/changes", "", anonymous, "", 401},
	{"GET", "/v1/changes", "", commercial, "", 200},
	{"GET", "/v1/changes", "", support, "", 200},
	{"GET", "/v1/changes", "", management, "", 200},
	{"GET", "/v1/changes/head", "", anonymous, "", 401},
	{"GET", "/v1/changes/head", "", commercial, "", 200},
	{"GET", "/v1/changes/head", "", support, "", 200},
	{"GET", "/v1/changes/head", "", management, "", 200},
	{"GET", "/v1/changes/stream", "", anonymous, "", 401},
	{"GET", "/v1/changes/stream", "", commercial, "", 200},
	{"GET", "/v1/changes/stream", "", support, "", 200},
	{"GET", "/v1/changes/stream", "", management, "", 200},

	{"GET", "/v1/webhooks", "", anonymous, "", 401},
	{"GET", "/v1/webhooks", "", commercial, "", 403},
	{"GET", "/v1/webhooks", "", support, "", 403},
	{"GET", "/v1/webhooks", "", management, "", 200},

	{"POST", "/v1/webhooks", "", anonymous, "", 401},
	{"POST", "/v1/webhooks", "", commercial, "", 403},
	{"POST", "/v1/webhooks", "", support, "", 403},
	{"POST", "/v1/webhooks", "", management, "", 201},

	{"GET", "/v1/webhooks/{id}", "", anonymous, "", 401},
	{"GET", "/v1/webhooks/{id}", "", commercial, "", 403},
	{"GET", "/v1/webhooks/{id}", "", support, "", 403},
	{"GET", "/v1/webhooks/{id}", "", management, "", 200},

	{"PATCH", "/v1/webhooks/{id}", "", anonymous, "", 401},
	{"PATCH", "/v1/webhooks/{id}", "", commercial, "", 403},
	{"PATCH", "/v1/webhooks/{id}", "", support, "", 403},
	{"PATCH", "/v1/webhooks/{id}", "", management, "", 200},

	{"DELETE", "/v1/webhooks/{id}", "", anonymous, "", 401},
	{"DELETE", "/v1/webhooks/{id}", "", commercial, "", 403},
	{"DELETE", "/v1/webhooks/{id}", "", support, "", 403},
	{"DELETE", "/v1/webhooks/{id}", "", management, "", 204},

	{"GET", "/v1/webhooks/{id}/history", "", anonymous, "", 401},
	{"GET", "/v1/webhooks/{id}/history", "", commercial, "", 403},
	{"GET", "/v1/webhooks/{id}/history", "", support, "", 403},
	{"GET", "/v1/webhooks/{id}/history", "", management, "", 200},

	{"POST", "/v1/webhooks/{id}/rotate-secret", "", anonymous, "", 401},
	{"POST", "/v1/webhooks/{id}/rotate-secret", "", commercial, "", 403},
	{"POST", "/v1/webhooks/{id}/rotate-secret", "", support, "", 403},
	{"POST", "/v1/webhooks/{id}/rotate-secret", "", management, "", 200},

	{"POST", "/v1/webhooks/{id}/ping", "", anonymous, "", 401},
	{"POST", "/v1/webhooks/{id}/ping", "", commercial, "", 403},
	{"POST", "/v1/webhooks/{id}/ping", "", support, "", 403},
	{"POST", "/v1/webhooks/{id}/ping", "", management, "", 202},

	{"GET", "/v1/webhooks/{id}/deliveries", "", anonymous, "", 401},
	{"GET", "/v1/webhooks/{id}/deliveries", "", commercial, "", 403},
	{"GET", "/v1/webhooks/{id}/deliveries", "", support, "", 403},
	{"GET", "/v1/webhooks/{id}/deliveries", "", management, "", 200},

	{"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "", anonymous, "", 401},
	{"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "", commercial, "", 403},
	{"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "", support, "", 403},
	{"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "", management, "", 202},
}

func (c permissionCell) String() string {
	s := c.method + " " + c.route
	if c.fields != "" {
		s += " [" + c.fields + "]"
	}
	s += " as " + c.who
	if c.whose != "" {
		s += " (" + c.whose + ")"
	}
	return s
}

// routeInventory lists the router's routes as "METHOD pattern".
func routeInventory(t *testing.T) []string {
	t.Helper()
	routes, ok := apihttp.NewHandler(apihttp.Config{OpenAPI: epicevents.OpenAPI}).(chi.Routes)
	if !ok {
		t.Fatal("the handler is not a chi router")
	}
	var out []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// A HEAD route is its GET's twin, which the matrix holds and
		// TestHeadIsAuthorizedAsGet sends as HEAD.
		if method == http.MethodHead {
			method = http.MethodGet
		}
		if op := method + " " + route; !slices.Contains(out, op) {
			out = append(out, op)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// The matrix names every route of the router and no other, and gives each
// one a cell for every kind of caller.
func TestAuthorizationMatrixCoversEveryRoute(t *testing.T) {
	t.Parallel()
	covered := map[string]map[string]bool{}
	for _, c := range authorizationMatrix {
		op := c.method + " " + c.route
		if covered[op] == nil {
			covered[op] = map[string]bool{}
		}
		covered[op][c.who] = true
	}
	var inMatrix []string
	for op, who := range covered {
		inMatrix = append(inMatrix, op)
		for _, caller := range callers {
			if !who[caller] {
				t.Errorf("%s: no cell for %s", op, caller)
			}
		}
	}
	slices.Sort(inMatrix)
	if diff := cmp.Diff(routeInventory(t), inMatrix); diff != "" {
		t.Errorf("routes of the router (-) against routes of the matrix (+):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, c := range authorizationMatrix {
		if seen[c.String()] {
			t.Errorf("%s appears twice", c)
		}
		seen[c.String()] = true
	}
}

// authzWorld holds the records the matrix acts on, and builds each cell's
// request.
type authzWorld struct {
	t   *testing.T
	api *apitest.API
	// Tokens and ids of the callers: bill (commercial), kate (support), and
	// the first manager.
	token, self map[string]string
	annaID      string
	joeID       string
	// bill's client, contract and event (kate is its support); anna's
	// client, contract and event (joe is its support).
	billClient, billContract, billEvent string
	annaClient, annaContract, annaEvent string
	spareID                             string // a support who owns nothing
	n                                   int
}

func (w *authzWorld) next() int { w.n++; return w.n }

// letters gives a name-like word (first names take letters only).
func (w *authzWorld) letters() string {
	n, s := w.next(), ""
	for ; n > 0; n /= 26 {
		s = string(rune('a'+n%26)) + s
	}
	return "Name" + s
}

// freshCollaborator creates a collaborator of the department, owning
// nothing, and returns its id and a token of theirs.
func (w *authzWorld) freshCollaborator(department string) (id, token string) {
	return w.api.CreateCollaborator(unique("fresh"), department)
}

// request builds the request of a cell, and what its answer's body must
// hold when it succeeds (nil when only its status matters). It may create
// records first: the database is compared from the moment it returns.
func (w *authzWorld) request(c permissionCell) (apitest.Request, any) {
	t, api := w.t, w.api
	req := apitest.Request{Method: c.method, Token: w.token[c.who]}
	own := map[string]string{"own": w.billClient, "other's": w.annaClient, "": w.billClient}
	switch c.method + " " + c.route {
	case "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml", "GET /docs":
		req.Path = c.route
	case "GET /docs/{file}":
		req.Path = "/docs/swagger-ui.css"

	case "POST /v1/auth/login":
		username := map[string]string{anonymous: "nobody-at-all", commercial: "bill", support: "kate", management: "manager"}[c.who]
		password := apitest.CollaboratorPassword
		if c.who == management {
			password = apitest.ManagerPassword
		}
		req.Token, req.Path = "", c.route
		req.Body = map[string]string{"username": username, "password": password}
		return req, struct {
			TokenType string `json:"token_type"`
		}{"Bearer"}
	case "POST /v1/auth/refresh":
		req.Token, req.Path = "", c.route
		refreshToken := "an-opaque-token-of-no-session"
		if c.who != anonymous {
			_, refreshToken = api.LoginPair(map[string]string{commercial: "bill", support: "kate", management: "manager"}[c.who],
				map[bool]string{true: apitest.ManagerPassword, false: apitest.CollaboratorPassword}[c.who == management])
		}
		req.Body = map[string]string{"refresh_token": refreshToken}
		return req, struct {
			TokenType string `json:"token_type"`
		}{"Bearer"}
	case "POST /v1/auth/logout":
		// Its own session: logging out must not end the ones the other
		// cells use.
		if c.who != anonymous {
			_, req.Token = w.freshCollaborator(c.who)
		}
		req.Path = c.route
	case "GET /v1/me":
		req.Path = c.route
		return req, struct {
			ID         string `json:"id"`
			Department string `json:"department"`
		}{w.self[c.who], c.who}
	case "PUT /v1/me/password":
		// A collaborator of its own, whose other sessions may end.
		if c.who != anonymous {
			_, req.Token = w.freshCollaborator(c.who)
		}
		req.Path = c.route
		req.Body = map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "another fine passphrase"}

	case "GET /v1/me/tokens", "GET /v1/me/calendar":
		req.Path = c.route
	case "POST /v1/me/tokens":
		name := unique("token ")
		req.Path, req.Body = c.route, map[string]any{"name": name, "scopes": []string{"event:read"}}
		return req, struct {
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
		}{name, []string{"event:read"}}
	case "DELETE /v1/me/tokens/{id}":
		owner := w.token[c.who]
		if c.whose == "other's" {
			owner = w.token[map[string]string{commercial: management, management: commercial}[c.who]]
		}
		if c.who == anonymous {
			owner = w.token[commercial]
		}
		id, _ := newToken(t, api, owner, "event:read")
		req.Path = "/v1/me/tokens/" + id
	case "POST /v1/me/calendar":
		req.Path = c.route
	case "DELETE /v1/me/calendar":
		if c.who != anonymous {
			expect(t, api.Post("/v1/me/calendar", w.token[c.who], nil), http.StatusCreated)
		}
		req.Path = c.route
	case "GET /calendar/{token}.ics":
		req.Token, req.Path = "", "/calendar/eef_"+strings.Repeat("0", 32)+".ics"
		if c.who != anonymous {
			feed := expect(t, api.Post("/v1/me/calendar", w.token[c.who], nil), http.StatusCreated)
			req.Path = strings.TrimPrefix(feed["url"].(string), apitest.PublicBaseURL)
		}
	case "GET /v1/collaborators/{id}/tokens":
		req.Path = "/v1/collaborators/" + w.self[commercial] + "/tokens"
		if c.whose == "self" {
			req.Path = "/v1/collaborators/" + w.self[c.who] + "/tokens"
		}
	case "DELETE /v1/collaborators/{id}/tokens/{token_id}":
		owner, ownerID := w.token[commercial], w.self[commercial]
		if c.whose == "self" {
			owner, ownerID = w.token[c.who], w.self[c.who]
		}
		id, _ := newToken(t, api, owner, "event:read")
		req.Path = "/v1/collaborators/" + ownerID + "/tokens/" + id

	case "GET /v1/collaborators", "GET /v1/clients", "GET /v1/contracts", "GET /v1/events",
		"GET /v1/changes", "GET /v1/changes/head":
		req.Path = c.route
	case "GET /v1/webhooks":
		req.Path = c.route
	case "POST /v1/webhooks":
		makeRoomForWebhooks(t, api)
		req.Path, req.Body = c.route, map[string]any{"url": "https://hooks.example.com/" + unique("in"), "types": []string{"client.created"}}
		return req, struct {
			Types    []string `json:"types"`
			IsActive bool     `json:"is_active"`
		}{[]string{"client.created"}, true}
	case "GET /v1/webhooks/{id}", "DELETE /v1/webhooks/{id}", "GET /v1/webhooks/{id}/history":
		req.Path = strings.Replace(c.route, "{id}", newWebhook(t, api), 1)
	case "PATCH /v1/webhooks/{id}":
		req.Path, req.Body = "/v1/webhooks/"+newWebhook(t, api), map[string]any{"is_active": false}
		return req, struct {
			IsActive       bool   `json:"is_active"`
			DisabledReason string `json:"disabled_reason"`
		}{false, "manual"}
	case "POST /v1/webhooks/{id}/ping":
		req.Path = "/v1/webhooks/" + newWebhook(t, api) + "/ping"
	case "GET /v1/webhooks/{id}/deliveries":
		req.Path = "/v1/webhooks/" + newWebhook(t, api) + "/deliveries"
	case "POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry":
		id := newWebhook(t, api)
		ping := expect(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusAccepted)
		req.Path = "/v1/webhooks/" + id + "/deliveries/" + ping["id"].(string) + "/retry"
	case "POST /v1/webhooks/{id}/rotate-secret":
		req.Path = "/v1/webhooks/" + newWebhook(t, api) + "/rotate-secret"
	case "GET /v1/changes/stream":
		// A stream does not end by itself: this one is cut after a while,
		// and its status and headers are what the recorder kept.
		req.Path = c.route
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(cancel)
		req.Context = ctx
	case "POST /v1/collaborators":
		name := unique("new")
		req.Path = c.route
		req.Body = map[string]any{"employee_number": 5000 + w.next(), "first_name": "New", "last_name": "Person",
			"email": name + "@epic-events.test", "username": name, "department": "support", "password": apitest.CollaboratorPassword}
		return req, struct {
			Username string `json:"username"`
		}{name}
	case "GET /v1/collaborators/{id}":
		req.Path = "/v1/collaborators/" + w.annaID
		return req, struct {
			ID string `json:"id"`
		}{w.annaID}
	case "PATCH /v1/collaborators/{id}", "DELETE /v1/collaborators/{id}":
		target := w.spareID
		switch {
		case c.whose == "self":
			target = w.self[c.who]
		case c.status < 300:
			target, _ = w.freshCollaborator("support") // it will change or go
		}
		req.Path = "/v1/collaborators/" + target
		switch c.fields {
		case "name":
			name := w.letters()
			req.Body = map[string]any{"first_name": name}
			return req, struct {
				ID        string `json:"id"`
				FirstName string `json:"first_name"`
			}{target, name}
		case "deactivate":
			req.Body = map[string]any{"is_active": false}
			return req, struct {
				ID       string `json:"id"`
				IsActive bool   `json:"is_active"`
			}{target, false}
		case "department":
			req.Body = map[string]any{"department": "commercial"}
			if target == w.self[management] {
				req.Body = map[string]any{"department": "support"}
			}
			return req, struct {
				ID         string `json:"id"`
				Department string `json:"department"`
			}{target, "commercial"}
		}

	case "POST /v1/clients":
		email := unique("client") + "@startup.test"
		req.Path = c.route
		req.Body = map[string]any{"full_name": "Kevin Casey", "email": email, "phone": "+678 123 456 78"}
		return req, struct {
			Email      string `json:"email"`
			Commercial struct {
				ID string `json:"id"`
			} `json:"commercial"`
		}{Email: email, Commercial: struct {
			ID string `json:"id"`
		}{w.self[commercial]}}
	case "GET /v1/clients/{id}":
		req.Path = "/v1/clients/" + w.annaClient
		return req, struct {
			ID string `json:"id"`
		}{w.annaClient}
	case "PATCH /v1/clients/{id}":
		target := own[c.whose]
		switch c.fields {
		case "details":
			company := unique("Company ")
			req.Path, req.Body = "/v1/clients/"+target, map[string]any{"company_name": company}
			return req, struct {
				ID          string `json:"id"`
				CompanyName string `json:"company_name"`
			}{target, company}
		case "commercial_id":
			to := w.annaID
			if c.whose == "other's" {
				to = w.self[commercial]
			}
			if c.status < 300 {
				target = newClient(t, api, w.token[commercial]) // it moves to anna
			}
			req.Path, req.Body = "/v1/clients/"+target, map[string]any{"commercial_id": to}
			return req, struct {
				ID         string `json:"id"`
				Commercial struct {
					ID string `json:"id"`
				} `json:"commercial"`
			}{target, struct {
				ID string `json:"id"`
			}{to}}
		}

	case "POST /v1/contracts":
		req.Path, req.Body = c.route, map[string]any{"client_id": w.billClient, "total_amount": "5000"}
		return req, struct {
			TotalAmount string `json:"total_amount"`
			Signed      bool   `json:"signed"`
		}{"5000.00", false}
	case "GET /v1/contracts/{id}":
		req.Path = "/v1/contracts/" + w.annaContract
		return req, struct {
			ID string `json:"id"`
		}{w.annaContract}
	case "PATCH /v1/contracts/{id}":
		target := map[string]string{"own": w.billContract, "other's": w.annaContract, "": w.billContract}[c.whose]
		due := w.next()
		req.Path, req.Body = "/v1/contracts/"+target, map[string]any{"amount_due": fmt.Sprint(due)}
		return req, struct {
			ID        string `json:"id"`
			AmountDue string `json:"amount_due"`
		}{target, fmt.Sprintf("%d.00", due)}

	case "POST /v1/events":
		contract := map[string]string{"own": w.billContract, "other's": w.annaContract, "": w.billContract}[c.whose]
		name := unique("Event ")
		req.Path = c.route
		req.Body = map[string]any{"contract_id": contract, "name": name, "start_at": instant(api, time.Hour),
			"end_at": instant(api, 2*time.Hour), "location": "", "attendees": 1}
		return req, struct {
			Name       string `json:"name"`
			ContractID string `json:"contract_id"`
		}{name, contract}
	case "GET /v1/events/{id}":
		req.Path = "/v1/events/" + w.annaEvent
		return req, struct {
			ID string `json:"id"`
		}{w.annaEvent}
	case "PATCH /v1/events/{id}":
		target := map[string]string{"own": w.billEvent, "assigned": w.billEvent, "not assigned": w.annaEvent, "": w.billEvent}[c.whose]
		req.Path = "/v1/events/" + target
		switch c.fields {
		case "details":
			notes := unique("notes ")
			req.Body = map[string]any{"notes": notes}
			return req, struct {
				ID    string `json:"id"`
				Notes string `json:"notes"`
			}{target, notes}
		case "support_id":
			req.Body = map[string]any{"support_id": w.spareID}
			return req, struct {
				ID      string `json:"id"`
				Support struct {
					ID string `json:"id"`
				} `json:"support"`
			}{target, struct {
				ID string `json:"id"`
			}{w.spareID}}
		}

	case "GET /v1/collaborators/{id}/history":
		req.Path = "/v1/collaborators/" + w.self[commercial] + "/history"
		if c.whose == "self" {
			req.Path = "/v1/collaborators/" + w.self[c.who] + "/history"
		}
	case "GET /v1/clients/{id}/history":
		req.Path = "/v1/clients/" + w.billClient + "/history"
	case "GET /v1/contracts/{id}/history":
		req.Path = "/v1/contracts/" + w.billContract + "/history"
	case "GET /v1/events/{id}/history":
		req.Path = "/v1/events/" + w.billEvent + "/history"
	}
	if req.Path == "" {
		t.Fatalf("%s: the test does not know how to send it", c)
	}
	return req, nil
}

// newAuthzWorld creates the callers and the records the cells act on.
func newAuthzWorld(t *testing.T) *authzWorld {
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, anna := api.CreateCollaborator("anna", "commercial")
	kateID, kate := api.CreateCollaborator("kate", "support")
	joeID, _ := api.CreateCollaborator("joe", "support")
	spareID, _ := api.CreateCollaborator("spare", "support")
	w := &authzWorld{t: t, api: api, annaID: annaID, joeID: joeID, spareID: spareID,
		token: map[string]string{anonymous: "", commercial: bill, support: kate, management: api.ManagerToken},
		self:  map[string]string{commercial: billID, support: kateID, management: api.Caller(api.ManagerToken)},
	}
	w.billClient, w.annaClient = newClient(t, api, bill), newClient(t, api, anna)
	w.billContract = newContract(t, api, w.billClient, "1000", true)
	w.annaContract = newContract(t, api, w.annaClient, "1000", true)
	w.billEvent = newEvent(t, api, bill, w.billContract, 48*time.Hour)
	w.annaEvent = newEvent(t, api, anna, w.annaContract, 48*time.Hour)
	assignSupport(t, api, w.billEvent, kateID)
	assignSupport(t, api, w.annaEvent, joeID)
	return w
}

// databaseState is every table an API request may write, as row counts and
// digests of the rows. (Login throttling is left out: a refused login
// records its failure, by design.)
type databaseState map[string]string

func stateOf(t *testing.T, api *apitest.API) databaseState {
	t.Helper()
	state := databaseState{}
	for _, table := range []string{"collaborators", "sessions", "refresh_tokens", "audit_entries",
		"clients", "contracts", "events", "idempotency_keys", "personal_access_tokens", "calendar_feeds", "webhooks", "webhook_deliveries", "river_job"} {
		var n int
		var digest string
		// A read made with a personal access token or a feed URL moves
		// its last_used_at, by design; nothing else.
		err := api.Pool.QueryRow(context.Background(), `SELECT count(*), coalesce(md5(string_agg((to_jsonb(t) - 'last_used_at')::text, '|' ORDER BY (to_jsonb(t) - 'last_used_at')::text)), '') FROM `+
			table+` t`).Scan(&n, &digest)
		if err != nil {
			t.Fatal(err)
		}
		state[table] = fmt.Sprintf("%d rows, %s", n, digest)
	}
	return state
}

type problemSummary struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// TestHeadIsAuthorizedAsGet sends every GET cell of the matrix as HEAD:
// the contract has every GET route answer HEAD, and the method must not
// open what GET keeps closed.
func TestHeadIsAuthorizedAsGet(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)
	for _, c := range authorizationMatrix {
		if c.method != http.MethodGet {
			continue
		}
		t.Run(c.String(), func(t *testing.T) {
			w.t = t
			req, _ := w.request(c)
			req.Method = http.MethodHead
			before := stateOf(t, w.api)
			res := w.api.Do(req)
			if res.Status != c.status || len(res.Body) != 0 {
				t.Errorf("HEAD: %d with %d bytes of body, want %d and none: %s", res.Status, len(res.Body), c.status, res.Body)
			}
			if diff := cmp.Diff(before, stateOf(t, w.api)); diff != "" {
				t.Errorf("HEAD changed the database (-before +after):\n%s", diff)
			}
		})
	}
}

// TestAuthorizationMatrix sends every cell of the matrix through the real
// router on a real database. A refusal (401, 403) and a read change
// nothing; an allowed write changes something and answers what was asked.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)
	api := w.api
	for _, c := range authorizationMatrix {
		t.Run(c.String(), func(t *testing.T) {
			w.t = t
			req, want := w.request(c)
			before := stateOf(t, api)
			res := api.Do(req)
			after := stateOf(t, api)
			if res.Status != c.status {
				t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
			}
			switch {
			case c.status == http.StatusUnauthorized:
				apitest.AssertProblem(t, res, c.status, "unauthenticated")
			case c.status == http.StatusForbidden:
				apitest.AssertProblem(t, res, c.status, "forbidden")
				var got problemSummary
				if err := json.Unmarshal(res.Body, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(problemSummary{"urn:epic-events:problem:forbidden", 403}, got); diff != "" {
					t.Errorf("problem (-want +got):\n%s", diff)
				}
			case want != nil:
				got := reflect.New(reflect.TypeOf(want))
				if err := json.Unmarshal(res.Body, got.Interface()); err != nil {
					t.Fatalf("%v: %s", err, res.Body)
				}
				if diff := cmp.Diff(want, got.Elem().Interface()); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			}
			refused := c.status >= 400
			if refused || c.method == http.MethodGet {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("the database changed (-before +after):\n%s", diff)
				}
			} else if cmp.Equal(before, after) {
				t.Errorf("an allowed write changed nothing in the database")
			}
			if c.status == http.StatusCreated && !strings.HasPrefix(res.Header.Get("Location"), "/v1/") {
				t.Errorf("201 without Location: %v", res.Header)
			}
		})
	}
}

// newWebhook creates a webhook as the first manager and returns its id.
func newWebhook(t *testing.T, api *apitest.API) string {
	t.Helper()
	makeRoomForWebhooks(t, api)
	h := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/" + unique("in")}), http.StatusCreated)
	return h["id"].(string)
}

// makeRoomForWebhooks keeps the matrix's webhooks below the limit of 20.
func makeRoomForWebhooks(t *testing.T, api *apitest.API) {
	t.Helper()
	if _, err := api.Pool.Exec(context.Background(), `DELETE FROM webhooks WHERE id IN
		(SELECT id FROM webhooks ORDER BY created_at LIMIT greatest(0, (SELECT count(*) FROM webhooks) - 10))`); err != nil {
		t.Fatal(err)
	}
}
