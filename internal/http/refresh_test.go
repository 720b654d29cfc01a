package http_test

import (
	"crypto/sha256"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func refresh(api *apitest.API, token string) apitest.Response {
	api.T.Helper()
	return api.Post("/v1/auth/refresh", "", map[string]string{"refresh_token": token})
}

// refreshOK refreshes and returns the new pair, failing the test otherwise.
func refreshOK(t *testing.T, api *apitest.API, token string) (access, refreshToken string) {
	t.Helper()
	res := refresh(api, token)
	if res.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	return body["access_token"].(string), body["refresh_token"].(string)
}

func digest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func TestRefreshRotatesTheToken(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	access, first := api.LoginPair("manager", apitest.ManagerPassword)

	api.Clock.Advance(time.Minute)
	res := refresh(api, first)
	if res.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", res.Status, res.Body)
	}
	body := res.JSON(t)
	if body["token_type"] != "Bearer" || body["expires_in"].(float64) != 900 ||
		body["refresh_expires_in"].(float64) != 30*24*3600 || len(body) != 5 {
		t.Fatalf("token response: %s", res.Body)
	}
	second, newAccess := body["refresh_token"].(string), body["access_token"].(string)
	if second == first || newAccess == access {
		t.Fatal("refresh handed out the same tokens again")
	}
	for _, token := range []string{access, newAccess} {
		if res := api.Get("/v1/me", token); res.Status != http.StatusOK {
			t.Fatalf("me: %d %s", res.Status, res.Body)
		}
	}
	// The chain goes on with the newest token.
	_, third := refreshOK(t, api, second)

	// Stored hashed only: the old tokens are marked rotated, the newest is not.
	for _, c := range []struct {
		token   string
		rotated bool
	}{{first, true}, {second, true}, {third, false}} {
		if n := api.Count(`SELECT count(*) FROM refresh_tokens WHERE token_hash = $1 AND (rotated_at IS NOT NULL) = $2`, digest(c.token), c.rotated); n != 1 {
			t.Fatalf("token stored rotated=%v: %d rows", c.rotated, n)
		}
		if n := api.Count(`SELECT count(*) FROM refresh_tokens WHERE token_hash = convert_to($1, 'UTF8')`, c.token); n != 0 {
			t.Fatal("a refresh token is stored in clear")
		}
	}
	if n := api.Count(`SELECT count(DISTINCT session_id) FROM refresh_tokens WHERE token_hash = ANY($1)`, [][]byte{digest(first), digest(third)}); n != 1 {
		t.Fatalf("refreshed tokens span %d sessions, want one", n)
	}
}

func TestReusedRefreshTokenEndsItsSession(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.CreateCollaborator("kate", "support")
	access, stolen := api.LoginPair("kate", apitest.CollaboratorPassword)
	newAccess, newest := refreshOK(t, api, stolen)

	// The rotated token comes back (a thief, or the owner after a thief).
	apitest.AssertProblem(t, refresh(api, stolen), http.StatusUnauthorized, "unauthenticated")

	// The whole session is over: its access tokens and its newest refresh token.
	for _, a := range []string{access, newAccess} {
		apitest.AssertProblem(t, api.Get("/v1/me", a), http.StatusUnauthorized, "unauthenticated")
	}
	apitest.AssertProblem(t, refresh(api, newest), http.StatusUnauthorized, "unauthenticated")
	// Kate's other session is another family and lives on.
	if res := api.Get("/v1/me", token); res.Status != http.StatusOK {
		t.Fatalf("another session died: %d", res.Status)
	}
	if n := api.Count(`SELECT count(*) FROM sessions s JOIN refresh_tokens rt ON rt.session_id = s.id
		WHERE rt.token_hash = $1 AND s.revoked_at IS NOT NULL`, digest(stolen)); n != 1 {
		t.Fatal("the session of the reused token is not revoked")
	}
	if n := api.Count(`SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL`); n != 1 {
		t.Fatalf("revoked sessions = %d, want 1", n)
	}
}

func TestConcurrentRefreshesOfOneTokenRotateItOnce(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.LoginPair("manager", apitest.ManagerPassword)
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = api.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh",
				Body: `{"refresh_token": "` + token + `"}`}).Status
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if statuses[0] != 200 || statuses[1] != 401 || statuses[n-1] != 401 {
		t.Fatalf("statuses %v, want one 200 and the rest 401", statuses)
	}
	// The one rotation produced one new token; the reuses ended the session.
	if c := api.Count(`SELECT count(*) FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE s.revoked_at IS NOT NULL`); c != 2 {
		t.Fatalf("refresh tokens of the revoked session = %d, want 2", c)
	}
}

func TestRefreshRefusesUnknownExpiredAndBadTokens(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.LoginPair("manager", apitest.ManagerPassword)
	for _, bad := range []string{"not-a-token", token + "x", api.ManagerToken} {
		apitest.AssertProblem(t, refresh(api, bad), http.StatusUnauthorized, "unauthenticated")
	}
	bodies := []struct {
		body   string
		status int
		slug   string
	}{
		{`{}`, 422, "validation"},
		{`{"refresh_token": ""}`, 422, "validation"},
		{`{"refresh_token": null}`, 422, "validation"},
		{`{"refresh_token": 5}`, 422, "validation"},
		{`{"refresh_token": "x", "scope": "all"}`, 422, "validation"},
		{`[]`, 400, "malformed-request"},
	}
	for _, b := range bodies {
		res := api.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: b.body})
		body := apitest.AssertProblem(t, res, b.status, b.slug)
		if b.status == 422 && !slices.Contains(apitest.FieldsOf(body), "refresh_token") && !slices.Contains(apitest.FieldsOf(body), "scope") {
			t.Fatalf("%s: fields %v", b.body, apitest.FieldsOf(body))
		}
	}
	res := api.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: `refresh_token=x`,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	apitest.AssertProblem(t, res, http.StatusUnsupportedMediaType, "unsupported-media-type")
	// None of these touched the token.
	if n := api.Count(`SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL`); n != 0 {
		t.Fatalf("a refused refresh rotated %d tokens", n)
	}

	// Expired: past the refresh lifetime without a refresh.
	api.Clock.Advance(30*24*time.Hour + time.Second)
	apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
}

func TestEachRefreshExtendsTheSession(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, token := api.LoginPair("manager", apitest.ManagerPassword)
	api.Clock.Advance(29 * 24 * time.Hour)
	_, token = refreshOK(t, api, token)
	api.Clock.Advance(29 * 24 * time.Hour) // 58 days after login
	access, token := refreshOK(t, api, token)
	if res := api.Get("/v1/me", access); res.Status != http.StatusOK {
		t.Fatalf("me after 58 days of refreshes: %d", res.Status)
	}
	api.Clock.Advance(30*24*time.Hour + time.Second)
	apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
}

func TestLogoutKillsTheRefreshTokenToo(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	access, token := api.LoginPair("manager", apitest.ManagerPassword)
	if res := api.Post("/v1/auth/logout", access, nil); res.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", res.Status)
	}
	apitest.AssertProblem(t, api.Get("/v1/me", access), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
	if n := api.Count(`SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL`); n != 0 {
		t.Fatal("a refresh after logout rotated its token")
	}
	// The first login (api.ManagerToken) is another session and lives on.
	if res := api.Get("/v1/me", api.ManagerToken); res.Status != http.StatusOK {
		t.Fatalf("logout ended another session: %d", res.Status)
	}
}

// Every way a collaborator loses access applies to the access token and
// the refresh token at once, on the very next request.
func TestRevocationReachesAccessAndRefreshTokens(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		patch map[string]any // nil: delete
		// backAgain undoes the change; the old tokens must stay dead.
		backAgain map[string]any
	}{
		{"deactivation", map[string]any{"is_active": false}, map[string]any{"is_active": true}},
		{"deletion", nil, nil},
		{"password set by management", map[string]any{"password": "another-fine-password"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := apitest.New(t)
			id, _ := api.CreateCollaborator("bill", "commercial")
			access, token := api.LoginPair("bill", apitest.CollaboratorPassword)
			var res apitest.Response
			if c.patch == nil {
				res = api.Delete("/v1/collaborators/"+id, api.ManagerToken)
			} else {
				res = api.Patch("/v1/collaborators/"+id, api.ManagerToken, c.patch)
			}
			if res.Status >= 300 {
				t.Fatalf("change: %d %s", res.Status, res.Body)
			}
			apitest.AssertProblem(t, api.Get("/v1/me", access), http.StatusUnauthorized, "unauthenticated")
			apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
			if c.backAgain != nil {
				if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, c.backAgain); res.Status != 200 {
					t.Fatalf("undo: %d %s", res.Status, res.Body)
				}
				apitest.AssertProblem(t, api.Get("/v1/me", access), http.StatusUnauthorized, "unauthenticated")
				apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
				api.Login("bill", apitest.CollaboratorPassword) // a fresh login works again
			}
			if n := api.Count(`SELECT count(*) FROM sessions WHERE collaborator_id = $1 AND revoked_at IS NULL`, id); n > 1 {
				t.Fatalf("open sessions of bill = %d", n)
			}
		})
	}
}

func TestDepartmentChangeAppliesToRefreshedTokens(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, _ := api.CreateCollaborator("bill", "commercial")
	access, token := api.LoginPair("bill", apitest.CollaboratorPassword)
	if res := api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"department": "support"}); res.Status != 200 {
		t.Fatalf("move: %d %s", res.Status, res.Body)
	}
	newAccess, _ := refreshOK(t, api, token)
	for _, a := range []string{access, newAccess} {
		body := api.Get("/v1/me", a).JSON(t)
		if body["department"] != "support" || slices.Contains(toStrings(body["permissions"]), "client:create") {
			t.Fatalf("permissions after the move: %v", body["permissions"])
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// Refresh reads the collaborator's state itself, like every request does,
// even when no session was revoked.
func TestRefreshChecksTheCollaboratorNow(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	id, _ := api.CreateCollaborator("bill", "commercial")
	_, token := api.LoginPair("bill", apitest.CollaboratorPassword)
	for _, state := range []string{"is_active = false", "deleted_at = now()"} {
		if _, err := api.Pool.Exec(t.Context(), `UPDATE collaborators SET `+state+` WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		apitest.AssertProblem(t, refresh(api, token), http.StatusUnauthorized, "unauthenticated")
		if _, err := api.Pool.Exec(t.Context(), `UPDATE collaborators SET is_active = true, deleted_at = NULL WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	// The refusals neither rotated the token nor ended the session.
	refreshOK(t, api, token)
}
