package http_test

import (
	"crypto/sha256"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"epicevents/internal/apitest"
)

// newToken creates a personal access token with the session token and
// returns its id and secret.
func newToken(t testing.TB, api *apitest.API, session string, scopes ...string) (id, token string) {
	t.Helper()
	body := expect(t, api.Post("/v1/me/tokens", session, map[string]any{"name": unique("token "), "scopes": scopes}), http.StatusCreated)
	return body["id"].(string), body["token"].(string)
}

// tokenJSON is a token as the API shows it.
type tokenJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`
	TokenPrefix string     `json:"token_prefix"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	CreatedAt   time.Time  `json:"created_at"`
	Token       string     `json:"token"`
}

func listTokens(t testing.TB, api *apitest.API, path, session string) []tokenJSON {
	t.Helper()
	var page struct {
		Data []tokenJSON `json:"data"`
	}
	res := api.Get(path, session)
	expect(t, res, http.StatusOK)
	if err := json.Unmarshal(res.Body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Data
}

// checksumOffline is what a secret scanner does, from the format alone:
// the CRC-32 (IEEE) of the 30 random characters, in base 62, 6 digits.
func checksumOffline(token string) bool {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	random, check := token[4:34], token[34:]
	var n uint64
	for _, c := range check {
		n = n*62 + uint64(strings.IndexRune(alphabet, c))
	}
	return n == uint64(crc32.ChecksumIEEE([]byte(random)))
}

var patPattern = regexp.MustCompile(`^eet_[0-9A-Za-z]{36}$`)

func TestPersonalAccessTokenIsShownOnceAndStoredAsItsDigest(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	res := api.Post("/v1/me/tokens", bill, map[string]any{"name": "CRM sync", "scopes": []string{"client:read", "client:create"}})
	body := expect(t, res, http.StatusCreated)
	var created tokenJSON
	if err := json.Unmarshal(res.Body, &created); err != nil {
		t.Fatal(err)
	}
	if !patPattern.MatchString(created.Token) || !checksumOffline(created.Token) {
		t.Fatalf("token %q does not match the format or its checksum", created.Token)
	}
	now := api.Clock.Now().UTC().Truncate(time.Microsecond)
	want := tokenJSON{ID: created.ID, Name: "CRM sync", Scopes: []string{"client:create", "client:read"},
		TokenPrefix: created.Token[:8], ExpiresAt: now.AddDate(0, 0, 90), CreatedAt: now, Token: created.Token}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created token (-want +got):\n%s", diff)
	}
	if res.Header.Get("Location") != "/v1/me/tokens/"+created.ID {
		t.Errorf("Location %q", res.Header.Get("Location"))
	}
	if _, ok := body["last_used_at"]; !ok {
		t.Error("last_used_at missing")
	}
	// Only the digest is stored; no column holds the token.
	digest := sha256.Sum256([]byte(created.Token))
	if n := api.Count(`SELECT count(*) FROM personal_access_tokens WHERE token_hash = $1 AND collaborator_id = $2`, digest[:], billID); n != 1 {
		t.Fatalf("%d rows with the token's SHA-256", n)
	}
	if n := api.Count(`SELECT count(*) FROM personal_access_tokens t WHERE strpos(t::text, $1) > 0`, created.Token[8:]); n != 0 {
		t.Fatal("the token is stored in clear")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries a WHERE strpos(a::text, $1) > 0`, created.Token[8:]); n != 0 {
		t.Fatal("the audit trail holds the token")
	}
	// The list never shows it again.
	listed := listTokens(t, api, "/v1/me/tokens", bill)
	want.Token = ""
	if diff := cmp.Diff([]tokenJSON{want}, listed); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if strings.Contains(string(api.Get("/v1/me/tokens", bill).Body), created.Token[8:]) {
		t.Error("the list shows the token")
	}
	// Many tokens: every one has the format and a good checksum.
	for range 20 {
		_, tok := newToken(t, api, bill, "client:read")
		if !patPattern.MatchString(tok) || !checksumOffline(tok) {
			t.Fatalf("token %q", tok)
		}
	}
}

func TestPersonalAccessTokenDoesWhatItsScopesAndItsOwnerAllow(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	_, token := newToken(t, api, bill, "client:create", "client:read")
	res := api.Post("/v1/clients", token, map[string]any{"full_name": "Kevin Casey", "email": "kevin@startup.test", "phone": "+678 123 456 78"})
	created := expect(t, res, http.StatusCreated)
	if created["commercial"].(map[string]any)["id"] != billID {
		t.Fatalf("the client belongs to %v, not the token's owner", created["commercial"])
	}
	expect(t, api.Get("/v1/clients", token), http.StatusOK)
	// Outside its scopes, though the owner may.
	apitest.AssertProblem(t, api.Get("/v1/contracts", token), http.StatusForbidden, "forbidden")
	var me struct {
		ID          string   `json:"id"`
		Permissions []string `json:"permissions"`
	}
	res = api.Get("/v1/me", token)
	expect(t, res, http.StatusOK)
	if err := json.Unmarshal(res.Body, &me); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(struct {
		ID          string
		Permissions []string
	}{billID, []string{"client:create", "client:read"}}, struct {
		ID          string
		Permissions []string
	}{me.ID, me.Permissions}); diff != "" {
		t.Errorf("me under the token (-want +got):\n%s", diff)
	}
	// The request's log line names the token by id, never by itself.
	logs := api.LogText()
	if strings.Contains(logs, token[8:]) {
		t.Fatal("the token is in the logs")
	}
	if !strings.Contains(logs, `"token_id":"`) {
		t.Error("requests made with a token do not log its id")
	}
}

func TestPersonalAccessTokenCreationIsValidated(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, kate := api.CreateCollaborator("kate", "support")
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"no scopes", map[string]any{"name": "x", "scopes": []string{}}, []string{"scopes"}},
		{"scopes missing", map[string]any{"name": "x"}, []string{"scopes"}},
		{"a scope twice", map[string]any{"name": "x", "scopes": []string{"event:read", "event:read"}}, []string{"scopes"}},
		{"a scope of another department", map[string]any{"name": "x", "scopes": []string{"event:read", "client:create"}}, []string{"scopes"}},
		{"a scope that is no permission", map[string]any{"name": "x", "scopes": []string{"root"}}, []string{"scopes"}},
		{"scopes not strings", map[string]any{"name": "x", "scopes": []any{1}}, []string{"scopes"}},
		{"scopes not an array", map[string]any{"name": "x", "scopes": "event:read"}, []string{"scopes"}},
		{"name empty", map[string]any{"name": "", "scopes": []string{"event:read"}}, []string{"name"}},
		{"name too long", map[string]any{"name": strings.Repeat("n", 101), "scopes": []string{"event:read"}}, []string{"name"}},
		{"name with a control character", map[string]any{"name": "a\x07b", "scopes": []string{"event:read"}}, []string{"name"}},
		{"expiry 0 days", map[string]any{"name": "x", "scopes": []string{"event:read"}, "expires_in_days": 0}, []string{"expires_in_days"}},
		{"expiry 366 days", map[string]any{"name": "x", "scopes": []string{"event:read"}, "expires_in_days": 366}, []string{"expires_in_days"}},
		{"everything wrong", map[string]any{"scopes": []string{"root"}, "expires_in_days": -1, "extra": true},
			[]string{"expires_in_days", "extra", "name", "scopes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := apitest.AssertProblem(t, api.Post("/v1/me/tokens", kate, c.body), http.StatusUnprocessableEntity, "validation")
			if diff := cmp.Diff(c.fields, apitest.FieldsOf(body)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if n := api.Count(`SELECT count(*) FROM personal_access_tokens`); n != 0 {
		t.Fatalf("%d tokens written by refused requests", n)
	}
	// The bounds themselves are fine, and expires_in_days sets the expiry.
	for _, days := range []int{1, 365} {
		res := api.Post("/v1/me/tokens", kate, map[string]any{"name": strings.Repeat("ñ", 100), "scopes": []string{"event:update_assigned"}, "expires_in_days": days})
		var got tokenJSON
		expect(t, res, http.StatusCreated)
		if err := json.Unmarshal(res.Body, &got); err != nil {
			t.Fatal(err)
		}
		if want := got.CreatedAt.AddDate(0, 0, days); !got.ExpiresAt.Equal(want) {
			t.Errorf("%d days: expires %v, want %v", days, got.ExpiresAt, want)
		}
	}
}

func TestAtMostFiftyUnexpiredTokens(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	for i := range 50 {
		days := 30
		if i < 2 {
			days = 1 // these two expire first
		}
		expect(t, api.Post("/v1/me/tokens", bill, map[string]any{"name": unique("t"), "scopes": []string{"client:read"}, "expires_in_days": days}), http.StatusCreated)
	}
	apitest.AssertProblem(t, api.Post("/v1/me/tokens", bill, map[string]any{"name": "one more", "scopes": []string{"client:read"}}), http.StatusConflict, "limit-reached")
	// Another collaborator has their own allowance.
	_, anna := api.CreateCollaborator("anna", "commercial")
	newToken(t, api, anna, "client:read")
	// A revoked token frees its place (a 30-day one: the clock stands
	// still, so the list's order among equal instants is the ids').
	var first tokenJSON
	for _, tok := range listTokens(t, api, "/v1/me/tokens", bill) {
		if tok.ExpiresAt.Sub(tok.CreatedAt) > 48*time.Hour {
			first = tok
			break
		}
	}
	expect(t, api.Delete("/v1/me/tokens/"+first.ID, bill), http.StatusNoContent)
	newToken(t, api, bill, "client:read")
	apitest.AssertProblem(t, api.Post("/v1/me/tokens", bill, map[string]any{"name": "one more", "scopes": []string{"client:read"}}), http.StatusConflict, "limit-reached")
	// Expired tokens do not count, and the list still shows them.
	api.Clock.Advance(25 * time.Hour)
	bill = api.Login("bill", apitest.CollaboratorPassword)
	newToken(t, api, bill, "client:read")
	newToken(t, api, bill, "client:read")
	apitest.AssertProblem(t, api.Post("/v1/me/tokens", bill, map[string]any{"name": "one more", "scopes": []string{"client:read"}}), http.StatusConflict, "limit-reached")
	var all []tokenJSON
	next := "/v1/me/tokens?limit=7"
	for next != "" {
		var page struct {
			Data       []tokenJSON `json:"data"`
			NextCursor *string     `json:"next_cursor"`
		}
		res := api.Get(next, bill)
		expect(t, res, http.StatusOK)
		if err := json.Unmarshal(res.Body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Data...)
		next = ""
		if page.NextCursor != nil {
			next = "/v1/me/tokens?limit=7&cursor=" + *page.NextCursor
		}
	}
	if len(all) != 52 {
		t.Fatalf("listed %d tokens, want 52 (50 live, 2 expired; the revoked one gone)", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b tokenJSON) int { return -a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Error("the list is not newest first")
	}
}

func TestTokenLastUsedMovesAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, token := newToken(t, api, bill, "client:read")
	lastUsed := func() *time.Time { return listTokens(t, api, "/v1/me/tokens", bill)[0].LastUsedAt }
	if lastUsed() != nil {
		t.Fatal("a new token has been used")
	}
	first := api.Clock.Now().UTC().Truncate(time.Microsecond)
	expect(t, api.Get("/v1/clients", token), http.StatusOK)
	if got := lastUsed(); got == nil || !got.Equal(first) {
		t.Fatalf("last_used_at %v, want %v", got, first)
	}
	api.Clock.Advance(59 * time.Second)
	expect(t, api.Get("/v1/clients", token), http.StatusOK)
	if got := lastUsed(); !got.Equal(first) {
		t.Fatalf("last_used_at moved within the minute: %v", got)
	}
	api.Clock.Advance(time.Second)
	expect(t, api.Get("/v1/clients", token), http.StatusOK)
	if got, want := lastUsed(), first.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("last_used_at %v, want %v", got, want)
	}
}

func TestRevokingTokens(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	annaID, anna := api.CreateCollaborator("anna", "commercial")
	billToken, billSecret := newToken(t, api, bill, "client:read")
	annaToken, annaSecret := newToken(t, api, anna, "client:read")

	// Another owner's token is 404, whoever asks under /v1/me.
	apitest.AssertProblem(t, api.Delete("/v1/me/tokens/"+annaToken, bill), http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, api.Delete("/v1/me/tokens/not-a-uuid", bill), http.StatusNotFound, "not-found")
	expect(t, api.Get("/v1/clients", annaSecret), http.StatusOK)

	expect(t, api.Delete("/v1/me/tokens/"+billToken, bill), http.StatusNoContent)
	apitest.AssertProblem(t, api.Get("/v1/clients", billSecret), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, api.Delete("/v1/me/tokens/"+billToken, bill), http.StatusNotFound, "not-found")
	if got := listTokens(t, api, "/v1/me/tokens", bill); len(got) != 0 {
		t.Fatalf("revoked token still listed: %v", got)
	}

	// Management lists and revokes anyone's.
	got := listTokens(t, api, "/v1/collaborators/"+annaID+"/tokens", api.ManagerToken)
	if len(got) != 1 || got[0].ID != annaToken {
		t.Fatalf("anna's tokens as management: %v", got)
	}
	apitest.AssertProblem(t, api.Delete("/v1/collaborators/"+billID+"/tokens/"+annaToken, api.ManagerToken), http.StatusNotFound, "not-found")
	expect(t, api.Delete("/v1/collaborators/"+annaID+"/tokens/"+annaToken, api.ManagerToken), http.StatusNoContent)
	apitest.AssertProblem(t, api.Get("/v1/clients", annaSecret), http.StatusUnauthorized, "unauthenticated")
	apitest.AssertProblem(t, api.Get("/v1/collaborators/6f1c1c1e-7a55-4b6e-9a43-2f0c3b8d9e10/tokens", api.ManagerToken), http.StatusNotFound, "not-found")

	// Each creation and revocation is in the owner's history, by id and
	// prefix.
	res := api.Get("/v1/collaborators/"+annaID+"/history", api.ManagerToken)
	if !strings.Contains(string(res.Body), `"personal_access_token"`) || !strings.Contains(string(res.Body), annaToken) {
		t.Errorf("anna's history does not show her token: %s", res.Body)
	}
}

// recordingNotifier keeps what the API sends to Sentry as messages.
type recordingNotifier struct {
	mu     sync.Mutex
	events []notified
}

type notified struct{ Event, Actor, Record string }

func (n *recordingNotifier) Notify(event, actor, record string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, notified{event, actor, record})
}

func (n *recordingNotifier) of(prefix string) []notified {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notified
	for _, e := range n.events {
		if strings.HasPrefix(e.Event, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func TestTokenCreationAndRevocationAreLoggedAndNotified(t *testing.T) {
	t.Parallel()
	notifier := &recordingNotifier{}
	api := apitest.New(t, apitest.Options{Notifier: notifier})
	managerID := api.Caller(api.ManagerToken)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	mine, mySecret := newToken(t, api, bill, "client:read")
	other, otherSecret := newToken(t, api, bill, "client:read")
	expect(t, api.Delete("/v1/me/tokens/"+mine, bill), http.StatusNoContent)
	expect(t, api.Delete("/v1/collaborators/"+billID+"/tokens/"+other, api.ManagerToken), http.StatusNoContent)

	want := []notified{
		{"token.created", billID, mine}, {"token.created", billID, other},
		{"token.revoked", billID, mine}, {"token.revoked", managerID, other},
	}
	if diff := cmp.Diff(want, notifier.of("token.")); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	type line struct {
		Route          string `json:"route"`
		CollaboratorID string `json:"collaborator_id"`
		Action         string `json:"token_action"`
		TokenID        string `json:"token_id"`
		Prefix         string `json:"token_prefix"`
		Owner          string `json:"token_owner_id"`
	}
	var got []line
	for _, raw := range strings.Split(strings.TrimSpace(api.LogText()), "\n") {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		if l.Action != "" {
			got = append(got, l)
		}
	}
	wantLines := []line{
		{"/v1/me/tokens", billID, "created", mine, mySecret[:8], billID},
		{"/v1/me/tokens", billID, "created", other, otherSecret[:8], billID},
		{"/v1/me/tokens/{id}", billID, "revoked", mine, mySecret[:8], billID},
		{"/v1/collaborators/{id}/tokens/{token_id}", managerID, "revoked", other, otherSecret[:8], billID},
	}
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	for _, s := range []string{mySecret, otherSecret} {
		if strings.Contains(api.LogText(), s[8:]) {
			t.Fatal("a token is in the logs")
		}
	}
}

// A password change ends other sessions but leaves tokens alone.
func TestPasswordChangeLeavesTokensAlone(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, token := newToken(t, api, bill, "client:read")
	expect(t, changePassword(api, bill, map[string]string{"current_password": apitest.CollaboratorPassword, "new_password": "a brand new passphrase"}), http.StatusNoContent)
	expect(t, api.Get("/v1/clients", token), http.StatusOK)
}

// Creations racing for the last places of the allowance cannot pass it
// together: the owner's row is locked while one counts and inserts.
func TestTokenLimitHoldsUnderConcurrentCreations(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	for range 45 {
		newToken(t, api, bill, "client:read")
	}
	var wg sync.WaitGroup
	statuses := make([]int, 12)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = api.Post("/v1/me/tokens", bill, map[string]any{"name": "racer", "scopes": []string{"client:read"}}).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if n := api.Count(`SELECT count(*) FROM personal_access_tokens`); created != 5 || n != 50 {
		t.Fatalf("%d creations succeeded and %d tokens exist, want 5 and 50", created, n)
	}
}

// A read by id under a personal access token shares the token's check
// with the read (TestQueriesPerRequest), and the check still decides: a
// record read beside a refused token is never shown, a scope the token
// lacks is 403, and a path id that names nothing is still 404.
func TestPersonalAccessTokenReadsByIDStillCheckTheToken(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, session := api.CreateCollaborator(unique("bill"), "commercial")
	clientID := newClient(t, api, session)
	tokenID, token := newToken(t, api, session, "client:read")
	_, narrow := newToken(t, api, session, "contract:read")

	expect(t, api.Get("/v1/clients/"+clientID, token), http.StatusOK)
	apitest.AssertProblem(t, api.Get("/v1/clients/"+clientID, narrow), http.StatusForbidden, "forbidden")
	apitest.AssertProblem(t, api.Get("/v1/clients/"+uuid.NewString(), token), http.StatusNotFound, "not-found")
	apitest.AssertProblem(t, api.Get("/v1/clients/not-a-uuid", token), http.StatusNotFound, "not-found")
	bent := token[:39] + map[bool]string{true: "B", false: "A"}[token[39] == 'A']
	apitest.AssertProblem(t, api.Get("/v1/clients/"+clientID, bent), http.StatusUnauthorized, "unauthenticated")

	expect(t, api.Delete("/v1/me/tokens/"+tokenID, session), http.StatusNoContent)
	res := api.Get("/v1/clients/"+clientID, token)
	apitest.AssertProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	if strings.Contains(string(res.Body), clientID) {
		t.Errorf("a revoked token's answer shows the record: %s", res.Body)
	}
}
