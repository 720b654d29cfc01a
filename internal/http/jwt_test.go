package http_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

	// The control: a hand-made copy of a good token is accepted, so every
	// refusal below is caused by the one thing each case bends.
	if res := api.Get("/v1/me", forge(t, header, claims, hs256(key))); res.Status != http.StatusOK {
		t.Fatalf("hand-made copy of a valid token refused: %d %s", res.Status, res.Body)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256 := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	rs256.Header = map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": header["kid"]}
	rsSigned, err := rs256.SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(api.ManagerToken, ".")
	tampered := func(c map[string]any) string { // new claims, the original signature
		return segment(t, header) + "." + segment(t, c) + "." + parts[2]
	}

	cases := map[string]string{
		"alg none":                         forge(t, with(header, "alg", "none"), claims, nil),
		"alg None":                         forge(t, with(header, "alg", "None"), claims, nil),
		"alg none keeping the signature":   segment(t, with(header, "alg", "none")) + "." + parts[1] + "." + parts[2],
		"no alg":                           forge(t, with(header, "alg", nil), claims, hs256(key)),
		"HS256 with another key":           forge(t, header, claims, hs256([]byte("another-key-of-at-least-32-bytes-long!"))),
		"HS512 with the right key":         forge(t, with(header, "alg", "HS512"), claims, hs512(key)),
		"RS256 with its own key":           rsSigned,
		"RS256 header on an HMAC":          forge(t, with(header, "alg", "RS256"), claims, hs256(key)),
		"tampered subject":                 tampered(with(claims, "sub", otherID)),
		"tampered expiry":                  tampered(with(claims, "exp", now+86400)),
		"expired":                          forge(t, header, with(claims, "exp", now-1), hs256(key)),
		"no exp":                           forge(t, header, with(claims, "exp", nil), hs256(key)),
		"no iat":                           forge(t, header, with(claims, "iat", nil), hs256(key)),
		"iat in the future":                forge(t, header, with(claims, "iat", now+3600), hs256(key)),
		"no sid":                           forge(t, header, with(claims, "sid", nil), hs256(key)),
		"sid of no session":                forge(t, header, with(claims, "sid", "6f1c1c1e-7a55-4b6e-9a43-2f0c3b8d9e10"), hs256(key)),
		"sid not a uuid":                   forge(t, header, with(claims, "sid", "1"), hs256(key)),
		"no sub":                           forge(t, header, with(claims, "sub", nil), hs256(key)),
		"sub of another collaborator":      forge(t, header, with(claims, "sub", otherID), hs256(key)),
		"wrong aud":                        forge(t, header, with(claims, "aud", []string{"another-api"}), hs256(key)),
		"no aud":                           forge(t, header, with(claims, "aud", nil), hs256(key)),
		"wrong iss":                        forge(t, header, with(claims, "iss", "someone-else"), hs256(key)),
		"no iss":                           forge(t, header, with(claims, "iss", nil), hs256(key)),
		"typ JWT":                          forge(t, with(header, "typ", "JWT"), claims, hs256(key)),
		"no typ":                           forge(t, with(header, "typ", nil), claims, hs256(key)),
		"typ of a refresh token":           forge(t, with(header, "typ", "rt+jwt"), claims, hs256(key)),
		"no kid":                           forge(t, with(header, "kid", nil), claims, hs256(key)),
		"unknown kid":                      forge(t, with(header, "kid", "not-a-key-we-know"), claims, hs256(key)),
		"the key itself as kid":            forge(t, with(header, "kid", string(key)), claims, hs256(key)),
		"refresh token as an access token": refreshToken,
		"two tokens glued":                 api.ManagerToken + "." + parts[2],
	}
	for name, token := range cases {
		res := api.Get("/v1/me", token)
		if res.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, res.Status)
			continue
		}
		apitest.AssertProblem(t, res, http.StatusUnauthorized, "unauthenticated")
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
