package http_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"hash/crc32"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"epicevents/internal/apitest"
	"epicevents/internal/service"
)

// decodeJWT splits a token into its header and claims.
func decodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func segment(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forge builds a token by hand, so the test and not a library decides
// every byte: the header says what it likes, the MAC is what mac gives.
func forge(t *testing.T, header, claims map[string]any, mac func() hash.Hash) string {
	t.Helper()
	signing := segment(t, header) + "." + segment(t, claims)
	if mac == nil {
		return signing + "."
	}
	h := mac()
	h.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func hs256(key []byte) func() hash.Hash { return func() hash.Hash { return hmac.New(sha256.New, key) } }
func hs512(key []byte) func() hash.Hash { return func() hash.Hash { return hmac.New(sha512.New, key) } }

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// assertRefusedAndNothingChanged sends the write with the token and
// checks the status (401 problem+json with WWW-Authenticate: Bearer, or
// 403), and that no table changed.
func assertRefusedAndNothingChanged(t *testing.T, api *apitest.API, token, path string, body any, status int) {
	t.Helper()
	before := stateOf(t, api)
	res := api.Post(path, token, body)
	if status == http.StatusUnauthorized {
		apitest.AssertProblem(t, res, status, "unauthenticated")
	} else {
		apitest.AssertProblem(t, res, status, "forbidden")
	}
	if diff := cmp.Diff(before, stateOf(t, api)); diff != "" {
		t.Errorf("the refused write changed the database (-before +after):\n%s", diff)
	}
}

// TestForgedAndBentAccessTokensAreRefused bends one thing at a time in a
// manager's access token and uses it to create a collaborator: each is 401
// problem+json with WWW-Authenticate: Bearer, and nothing is written.
func TestForgedAndBentAccessTokensAreRefused(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	otherID, _ := api.CreateCollaborator("kate", "support")
	_, refreshToken := api.LoginPair("manager", apitest.ManagerPassword)
	header, claims := decodeJWT(t, api.ManagerToken)
	if header["alg"] != "HS256" || header["typ"] != "at+jwt" || header["kid"] == "" {
		t.Fatalf("header %v", header)
	}
	for _, c := range []string{"iss", "aud", "sub", "sid", "iat", "exp", "jti"} {
		if claims[c] == nil {
			t.Fatalf("claim %s missing: %v", c, claims)
		}
	}
	now := float64(api.Clock.Now().Unix())
	key := apitest.Secret
	n := 0
	newCollaborator := func() map[string]any {
		n++
		name := fmt.Sprintf("forged%d", n)
		return map[string]any{"employee_number": 9000 + n, "first_name": "Forged", "last_name": "Person",
			"email": name + "@epic-events.test", "username": name, "department": "management",
			"password": apitest.CollaboratorPassword}
	}

	// The control: a hand-made copy of a good token is accepted, so every
	// refusal below is caused by the one thing each case bends.
	if res := api.Post("/v1/collaborators", forge(t, header, claims, hs256(key)), newCollaborator()); res.Status != http.StatusCreated {
		t.Fatalf("hand-made copy of a valid token refused: %d %s", res.Status, res.Body)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(method jwt.SigningMethod, h map[string]any, signingKey any) string {
		t.Helper()
		token := jwt.NewWithClaims(method, jwt.MapClaims(claims))
		token.Header = with(h, "alg", method.Alg())
		s, err := token.SignedString(signingKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	publicDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER})
	jwk := map[string]any{"kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()), "e": "AQAB"}
	parts := strings.Split(api.ManagerToken, ".")
	tampered := func(c map[string]any) string { // new claims, the original signature
		return segment(t, header) + "." + segment(t, c) + "." + parts[2]
	}
	claim := func(kv ...any) string { return forge(t, header, with(claims, kv...), hs256(key)) }
	kid := func(k string, mac func() hash.Hash) string { return forge(t, with(header, "kid", k), claims, mac) }

	cases := []struct{ name, token string }{
		{"alg none", forge(t, with(header, "alg", "none"), claims, nil)},
		{"alg None", forge(t, with(header, "alg", "None"), claims, nil)},
		{"alg none keeping the signature", segment(t, with(header, "alg", "none")) + "." + parts[1] + "." + parts[2]},
		{"no alg", forge(t, with(header, "alg", nil), claims, hs256(key))},
		{"HS256 with another key", forge(t, header, claims, hs256([]byte("another-key-of-at-least-32-bytes-long!")))},
		{"HS256 with an empty key", forge(t, header, claims, hs256(nil))},
		{"HS512 with the right key", forge(t, with(header, "alg", "HS512"), claims, hs512(key))},
		{"RS256 with its own key", signed(jwt.SigningMethodRS256, header, rsaKey)},
		{"ES256 with its own key", signed(jwt.SigningMethodES256, header, ecKey)},
		{"RS256 with its key embedded as a jwk", signed(jwt.SigningMethodRS256, with(header, "jwk", jwk), rsaKey)},
		{"RS256 with a jku to fetch its key from", signed(jwt.SigningMethodRS256, with(header, "jku", "http://127.0.0.1:1/jwks.json"), rsaKey)},
		{"HS256 keyed with an RSA public key", forge(t, header, claims, hs256(publicPEM))},
		{"HS256 keyed with an RSA public key, kid unset", forge(t, with(header, "kid", nil), claims, hs256(publicPEM))},
		{"RS256 header on an HMAC", forge(t, with(header, "alg", "RS256"), claims, hs256(key))},
		{"tampered subject", tampered(with(claims, "sub", otherID))},
		{"tampered expiry", tampered(with(claims, "exp", now+86400))},
		{"expired", claim("exp", now-1)},
		{"iat in the future", claim("iat", now+3600)},
		{"nbf in the future", claim("nbf", now+3600)},
		{"no exp", claim("exp", nil)},
		{"no iat", claim("iat", nil)},
		{"no iss", claim("iss", nil)},
		{"no aud", claim("aud", nil)},
		{"no sub", claim("sub", nil)},
		{"no sid", claim("sid", nil)},
		{"no jti", claim("jti", nil)},
		{"sid of no session", claim("sid", "6f1c1c1e-7a55-4b6e-9a43-2f0c3b8d9e10")},
		{"sid not a uuid", claim("sid", "1")},
		{"sid SQL-ish", claim("sid", "' OR '1'='1")},
		{"sub of another collaborator", claim("sub", otherID)},
		{"wrong aud", claim("aud", []string{"another-api"})},
		{"wrong iss", claim("iss", "someone-else")},
		{"typ JWT", forge(t, with(header, "typ", "JWT"), claims, hs256(key))},
		{"no typ", forge(t, with(header, "typ", nil), claims, hs256(key))},
		{"typ of a refresh token", forge(t, with(header, "typ", "rt+jwt"), claims, hs256(key))},
		{"no kid", kid("", hs256(key))},
		{"unknown kid", kid("not-a-key-we-know", hs256(key))},
		{"kid not a string", forge(t, with(header, "kid", 1), claims, hs256(key))},
		{"the key itself as kid", kid(string(key), hs256(key))},
		{"kid path traversal, empty key", kid("../../../../../../../dev/null", hs256(nil))},
		{"kid path traversal, the right key", kid("../../../../../../../dev/null", hs256(key))},
		{"kid SQL-ish, the key it selects", kid("x' UNION SELECT 'attacker-key' --", hs256([]byte("attacker-key")))},
		{"kid SQL-ish, the right key", kid("' OR '1'='1", hs256(key))},
		{"kid with a NUL", kid(header["kid"].(string)+"\x00", hs256(key))},
		{"refresh token as an access token", refreshToken},
		{"two tokens glued", api.ManagerToken + "." + parts[2]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			apitest.AssertProblem(t, api.Get("/v1/me", c.token), http.StatusUnauthorized, "unauthenticated")
			assertRefusedAndNothingChanged(t, api, c.token, "/v1/collaborators", newCollaborator(), http.StatusUnauthorized)
		})
	}
}

// TestAccessTokensOfEndedAccessAreRefused: a token whose session was
// ended, whose owner changed password elsewhere, was deactivated, deleted
// or moved to another department is refused on the very next request,
// whatever the token itself says, and writes nothing.
func TestAccessTokensOfEndedAccessAreRefused(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	// The commercial's clients move to a colleague where the rules ask so.
	colleague, _ := api.CreateCollaborator("anna", "commercial")
	client := func() map[string]any {
		return map[string]any{"full_name": "Kevin Casey", "email": unique("kevin") + "@startup.test", "phone": "+678 123 456 78"}
	}
	cases := []struct {
		name string
		// end gives a commercial's access token after ending what it
		// stood for.
		end    func(id, token string) string
		status int
	}{
		{"after logout", func(_, token string) string {
			expect(t, api.Post("/v1/auth/logout", token, nil), http.StatusNoContent)
			return token
		}, 401},
		{"after the password changed in another session", func(_, token string) string {
			username := api.Get("/v1/me", token).JSON(t)["username"].(string)
			other := api.Login(username, apitest.CollaboratorPassword)
			expect(t, changePassword(api, other, map[string]string{
				"current_password": apitest.CollaboratorPassword, "new_password": "a brand new passphrase"}), http.StatusNoContent)
			return token
		}, 401},
		{"after management set a new password", func(id, token string) string {
			expect(t, api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"password": "a brand new passphrase"}), http.StatusOK)
			return token
		}, 401},
		{"after deactivation", func(id, token string) string {
			expect(t, api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"is_active": false, "reassign_to": colleague}), http.StatusOK)
			return token
		}, 401},
		{"after deletion", func(id, token string) string {
			expect(t, api.Delete("/v1/collaborators/"+id+"?reassign_to="+colleague, api.ManagerToken), http.StatusNoContent)
			return token
		}, 401},
		{"after a move to support", func(id, token string) string {
			expect(t, api.Patch("/v1/collaborators/"+id, api.ManagerToken, map[string]any{"department": "support", "reassign_to": colleague}), http.StatusOK)
			return token
		}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, token := api.CreateCollaborator(unique("bill"), "commercial")
			// The control: the token creates a client before its access ends.
			expect(t, api.Post("/v1/clients", token, client()), http.StatusCreated)
			token = c.end(id, token)
			assertRefusedAndNothingChanged(t, api, token, "/v1/clients", client(), c.status)
			if c.status == http.StatusUnauthorized {
				apitest.AssertProblem(t, api.Get("/v1/me", token), http.StatusUnauthorized, "unauthenticated")
				return
			}
			// The old token now stands for a support, with a support's rights.
			res := api.Get("/v1/me", token)
			if res.Status != http.StatusOK {
				t.Fatalf("me: %d %s", res.Status, res.Body)
			}
			var me struct {
				Department  string   `json:"department"`
				Permissions []string `json:"permissions"`
			}
			if err := json.Unmarshal(res.Body, &me); err != nil {
				t.Fatal(err)
			}
			want := []string{"change:read", "client:read", "collaborator:read", "contract:read", "event:read", "event:update_assigned"}
			if diff := cmp.Diff(want, me.Permissions); diff != "" || me.Department != "support" {
				t.Errorf("the old token shows department %q, permissions (-want +got):\n%s", me.Department, diff)
			}
		})
	}
}

// tokenConfigWith is the test API's token settings with another signing
// key, as a replica configured otherwise would have them.
func tokenConfigWith(secret []byte, previous ...[]byte) service.TokenConfig {
	return service.TokenConfig{Secret: secret, PreviousSecrets: previous, Issuer: "epic-events",
		Audience: "epic-events-api", AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}
}

func TestSigningKeyRotationKeepsPeopleLoggedIn(t *testing.T) {
	t.Parallel()
	oldKey := apitest.Secret
	newKey := []byte("the-next-signing-key-of-at-least-32-bytes")
	// The servers now sign with the new key and still verify the old one.
	api := apitest.New(t, apitest.Options{Tokens: func(c *service.TokenConfig) {
		c.Secret, c.PreviousSecrets = newKey, [][]byte{oldKey}
	}})
	// A token issued before the rotation, on the same database.
	before := service.NewAuthService(api.Deps, tokenConfigWith(oldKey), service.LoginLimits{})
	pair, err := before.Login(context.Background(), service.LoginInput{
		Login: "manager", Password: apitest.ManagerPassword, ClientAddr: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	if res := api.Get("/v1/me", pair.AccessToken); res.Status != http.StatusOK {
		t.Fatalf("token of the previous key refused: %d %s", res.Status, res.Body)
	}
	// Refresh tokens are opaque and outlive the rotation; the new pair is
	// signed with the new key.
	newAccess, _ := refreshOK(t, api, pair.RefreshToken)

	oldHeader, _ := decodeJWT(t, pair.AccessToken)
	newHeader, _ := decodeJWT(t, newAccess)
	managerHeader, _ := decodeJWT(t, api.ManagerToken)
	if oldHeader["kid"] == newHeader["kid"] || newHeader["kid"] != managerHeader["kid"] {
		t.Fatalf("kids: old %v, new %v, manager %v", oldHeader["kid"], newHeader["kid"], managerHeader["kid"])
	}
	// The kid is derived from the key and stable, and never shows it.
	elsewhere := apitest.New(t)
	elsewhereHeader, _ := decodeJWT(t, elsewhere.ManagerToken)
	if elsewhereHeader["kid"] != oldHeader["kid"] {
		t.Fatal("the same key gave two kids")
	}
	for _, h := range []map[string]any{oldHeader, newHeader} {
		kid := h["kid"].(string)
		for _, k := range [][]byte{oldKey, newKey} {
			if strings.Contains(kid, string(k)) || strings.Contains(kid, base64.RawURLEncoding.EncodeToString(k)) {
				t.Fatal("the kid reveals the key")
			}
		}
	}
	// A token signed with the old key but claiming the new key's kid fails.
	h, c := decodeJWT(t, pair.AccessToken)
	if res := api.Get("/v1/me", forge(t, with(h, "kid", newHeader["kid"]), c, hs256(oldKey))); res.Status != http.StatusUnauthorized {
		t.Fatalf("old key under the new kid: %d", res.Status)
	}
}

func TestKeyNoLongerListedStopsVerifying(t *testing.T) {
	t.Parallel()
	newKey := []byte("the-next-signing-key-of-at-least-32-bytes")
	api := apitest.New(t, apitest.Options{Tokens: func(c *service.TokenConfig) { c.Secret = newKey }})
	before := service.NewAuthService(api.Deps, tokenConfigWith(apitest.Secret), service.LoginLimits{})
	pair, err := before.Login(context.Background(), service.LoginInput{
		Login: "manager", Password: apitest.ManagerPassword, ClientAddr: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	apitest.AssertProblem(t, api.Get("/v1/me", pair.AccessToken), http.StatusUnauthorized, "unauthenticated")
	if res := api.Get("/v1/me", api.ManagerToken); res.Status != http.StatusOK {
		t.Fatalf("token of the current key: %d", res.Status)
	}
}

// What needs a login session refuses a token, even one whose scopes hold
// every permission of its owner, and writes nothing.
func TestTokensCannotManageTokensCalendarsPasswordsOrSessions(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	var perms struct {
		Permissions []string `json:"permissions"`
	}
	if err := json.Unmarshal(api.Get("/v1/me", api.ManagerToken).Body, &perms); err != nil {
		t.Fatal(err)
	}
	managerTokenID, managerPAT := newToken(t, api, api.ManagerToken, perms.Permissions...)
	billTokenID, _ := newToken(t, api, bill, "client:read")
	cases := []apitest.Request{
		{Method: "GET", Path: "/v1/me/tokens"},
		{Method: "POST", Path: "/v1/me/tokens", Body: map[string]any{"name": "minted", "scopes": []string{"client:read"}}},
		{Method: "DELETE", Path: "/v1/me/tokens/" + managerTokenID},
		{Method: "PUT", Path: "/v1/me/password", Body: map[string]string{"current_password": apitest.ManagerPassword, "new_password": "a brand new passphrase"}},
		{Method: "POST", Path: "/v1/auth/logout"},
		{Method: "GET", Path: "/v1/me/calendar"},
		{Method: "POST", Path: "/v1/me/calendar"},
		{Method: "DELETE", Path: "/v1/me/calendar"},
		{Method: "GET", Path: "/v1/collaborators/" + billID + "/tokens"},
		{Method: "DELETE", Path: "/v1/collaborators/" + billID + "/tokens/" + billTokenID},
	}
	for _, c := range cases {
		t.Run(c.Method+" "+c.Path, func(t *testing.T) {
			c.Token = managerPAT
			before := stateOf(t, api)
			apitest.AssertProblem(t, api.Do(c), http.StatusForbidden, "forbidden")
			if diff := cmp.Diff(before, stateOf(t, api)); diff != "" {
				t.Errorf("the refused request changed the database (-before +after):\n%s", diff)
			}
		})
	}
	// The token itself goes on working, as does the session.
	expect(t, api.Get("/v1/collaborators", managerPAT), http.StatusOK)
	expect(t, api.Get("/v1/me/tokens", api.ManagerToken), http.StatusOK)
}

// TestPersonalAccessTokensOfEndedAccessAreRefused: a personal access token
// that was revoked, has expired, is bent or made up, or whose owner was
// deactivated (even if reactivated since) or deleted is 401; one whose
// owner lost a permission in its scopes is 403 for what was lost. Nothing
// is written either way.
func TestPersonalAccessTokensOfEndedAccessAreRefused(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	colleague, _ := api.CreateCollaborator("anna", "commercial")
	client := func() map[string]any {
		return map[string]any{"full_name": "Kevin Casey", "email": unique("kevin") + "@startup.test", "phone": "+678 123 456 78"}
	}
	manager := func() string { return api.Login("manager", apitest.ManagerPassword) }
	cases := []struct {
		name string
		// end returns the token to present after ending what it stood for.
		end    func(id, session, tokenID, token string) string
		status int
	}{
		{"after revocation by its owner", func(_, session, tokenID, token string) string {
			expect(t, api.Delete("/v1/me/tokens/"+tokenID, session), http.StatusNoContent)
			return token
		}, 401},
		{"after revocation by management", func(id, _, tokenID, token string) string {
			expect(t, api.Delete("/v1/collaborators/"+id+"/tokens/"+tokenID, manager()), http.StatusNoContent)
			return token
		}, 401},
		{"after deactivation", func(id, _, _, token string) string {
			expect(t, api.Patch("/v1/collaborators/"+id, manager(), map[string]any{"is_active": false, "reassign_to": colleague}), http.StatusOK)
			return token
		}, 401},
		{"after deactivation and reactivation", func(id, _, _, token string) string {
			m := manager()
			expect(t, api.Patch("/v1/collaborators/"+id, m, map[string]any{"is_active": false, "reassign_to": colleague}), http.StatusOK)
			expect(t, api.Patch("/v1/collaborators/"+id, m, map[string]any{"is_active": true}), http.StatusOK)
			return token
		}, 401},
		{"after deletion", func(id, _, _, token string) string {
			expect(t, api.Delete("/v1/collaborators/"+id+"?reassign_to="+colleague, manager()), http.StatusNoContent)
			return token
		}, 401},
		{"with a bad checksum", func(_, _, _, token string) string {
			return token[:39] + map[bool]string{true: "B", false: "A"}[token[39] == 'A']
		}, 401},
		{"with a bad checksum whose digest is stored", func(_, _, tokenID, token string) string {
			// Even a row found by the digest does not let a token with a
			// bad checksum in: the format is checked first.
			bent := token[:39] + map[bool]string{true: "B", false: "A"}[token[39] == 'A']
			sum := sha256.Sum256([]byte(bent))
			if _, err := api.Pool.Exec(context.Background(), `UPDATE personal_access_tokens SET token_hash = $1 WHERE id = $2`, sum[:], tokenID); err != nil {
				t.Fatal(err)
			}
			return bent
		}, 401},
		{"made up, with a good checksum", func(_, _, _, _ string) string {
			random := strings.Repeat("Ab3", 10)
			return "eet_" + random + base62For(crc32.ChecksumIEEE([]byte(random)))
		}, 401},
		{"cut short", func(_, _, _, token string) string { return token[:39] }, 401},
		{"one character more", func(_, _, _, token string) string { return token + "A" }, 401},
		{"the prefix in capitals", func(_, _, _, token string) string { return "EET_" + token[4:] }, 401},
		{"with a character outside base 62", func(_, _, _, token string) string { return token[:10] + "-" + token[11:] }, 401},
		{"the prefix alone", func(_, _, _, _ string) string { return "eet_" }, 401},
		{"after a move to support, which has no client:create", func(id, _, _, token string) string {
			expect(t, api.Patch("/v1/collaborators/"+id, manager(), map[string]any{"department": "support", "reassign_to": colleague}), http.StatusOK)
			return token
		}, 403},
		// Last: the clock moves past every access token of the test.
		{"after expiry", func(_, _, _, token string) string {
			api.Clock.Advance(24 * time.Hour) // the test's tokens live one day
			return token
		}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, session := api.CreateCollaborator(unique("bill"), "commercial")
			res := api.Post("/v1/me/tokens", session, map[string]any{"name": "script", "scopes": []string{"client:create", "client:read"}, "expires_in_days": 1})
			created := expect(t, res, http.StatusCreated)
			tokenID, token := created["id"].(string), created["token"].(string)
			// The control: the token creates a client before its access ends.
			expect(t, api.Post("/v1/clients", token, client()), http.StatusCreated)
			token = c.end(id, session, tokenID, token)
			assertRefusedAndNothingChanged(t, api, token, "/v1/clients", client(), c.status)
			if c.status == http.StatusUnauthorized {
				apitest.AssertProblem(t, api.Get("/v1/me", token), http.StatusUnauthorized, "unauthenticated")
				return
			}
			// What is left is the scope the new department also holds.
			var me struct {
				Department  string   `json:"department"`
				Permissions []string `json:"permissions"`
			}
			res = api.Get("/v1/me", token)
			expect(t, res, http.StatusOK)
			if err := json.Unmarshal(res.Body, &me); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"client:read"}, me.Permissions); diff != "" || me.Department != "support" {
				t.Errorf("the token shows department %q, permissions (-want +got):\n%s", me.Department, diff)
			}
			expect(t, api.Get("/v1/clients", token), http.StatusOK)
		})
	}
}

// base62For writes n as the token format's 6-digit checksum.
func base62For(n uint32) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := []byte("000000")
	for i := 5; n > 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return string(out)
}
