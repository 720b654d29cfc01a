package http_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"epicevents/internal/apitest"
	"epicevents/internal/seal"
	"epicevents/internal/service"
)

// A webhook's life through the real router: created with its secret shown
// once and stored sealed, read, listed, updated (disabled by hand), its
// secret rotated, its history and Notifier messages, then deleted.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{}
	api := apitest.New(t, apitest.Options{Notifier: notes})
	created := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{
		"url": "https://hooks.example.com/in", "types": []string{"event.updated", "client.created"}, "description": "sync",
	}), http.StatusCreated)
	id := created["id"].(string)
	secret := created["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+44 {
		t.Fatalf("secret %q", secret)
	}
	delete(created, "secret")
	want := map[string]any{
		"id": id, "url": "https://hooks.example.com/in", "types": []any{"client.created", "event.updated"},
		"description": "sync", "is_active": true, "disabled_reason": nil, "version": float64(1),
		"created_at": created["created_at"], "updated_at": created["created_at"],
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	// Stored sealed under the key, bound to the webhook's id; never in clear.
	var sealed []byte
	if err := api.Pool.QueryRow(context.Background(), `SELECT secret_sealed FROM webhooks WHERE id = $1`, id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), secret[6:]) {
		t.Fatal("the secret is stored in clear")
	}
	ring, err := seal.NewKeyring(apitest.SecretsKey)
	if err != nil {
		t.Fatal(err)
	}
	uid := uuid.MustParse(id)
	if plain, err := ring.Open(sealed, uid[:]); err != nil || string(plain) != secret {
		t.Fatalf("opened %q (%v)", plain, err)
	}
	// Never shown again.
	got := expect(t, api.Get("/v1/webhooks/"+id, api.ManagerToken), http.StatusOK)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	list := expect(t, api.Get("/v1/webhooks", api.ManagerToken), http.StatusOK)
	if diff := cmp.Diff([]any{want}, list["data"]); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	updated := expect(t, api.Patch("/v1/webhooks/"+id, api.ManagerToken, map[string]any{"is_active": false, "types": []string{}}), http.StatusOK)
	if updated["is_active"] != false || updated["disabled_reason"] != "manual" || updated["version"] != float64(2) ||
		len(updated["types"].([]any)) != 0 {
		t.Errorf("disabled: %v", updated)
	}
	enabled := expect(t, api.Patch("/v1/webhooks/"+id, api.ManagerToken, map[string]any{"is_active": true}), http.StatusOK)
	if enabled["is_active"] != true || enabled["disabled_reason"] != nil {
		t.Errorf("enabled again: %v", enabled)
	}

	rotated := expect(t, api.Post("/v1/webhooks/"+id+"/rotate-secret", api.ManagerToken, nil), http.StatusOK)
	if s, _ := rotated["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Fatalf("rotated %v", rotated)
	}
	var previous []byte
	if err := api.Pool.QueryRow(context.Background(), `SELECT previous_secret_sealed FROM webhooks WHERE id = $1`, id).Scan(&previous); err != nil {
		t.Fatal(err)
	}
	if plain, err := ring.Open(previous, uid[:]); err != nil || string(plain) != secret {
		t.Fatalf("the previous secret is %q (%v), want the first one", plain, err)
	}

	history := expect(t, api.Get("/v1/webhooks/"+id+"/history", api.ManagerToken), http.StatusOK)
	var actions []string
	for _, e := range history["data"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if diff := cmp.Diff([]string{"update", "update", "update", "create"}, actions); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if strings.Contains(string(api.Get("/v1/webhooks/"+id+"/history", api.ManagerToken).Body), "whsec_") {
		t.Error("the history shows a secret")
	}

	expect(t, api.Delete("/v1/webhooks/"+id, api.ManagerToken), http.StatusNoContent)
	apitest.AssertProblem(t, api.Get("/v1/webhooks/"+id, api.ManagerToken), http.StatusNotFound, "not-found")

	manager := api.Caller(api.ManagerToken)
	wantNotes := []notified{
		{"webhook.created", manager, id}, {"webhook.updated", manager, id}, {"webhook.updated", manager, id},
		{"webhook.secret_rotated", manager, id}, {"webhook.deleted", manager, id},
	}
	if diff := cmp.Diff(wantNotes, notes.of("webhook.")); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

// URLs and types are checked before anything is stored.
func TestWebhookTargetsAndTypesAreChecked(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for url, field := range map[string]string{
		"http://hooks.example.com/in":                            "url", // plain http outside the allowed networks
		"https://user:pw@hooks.example.com/in":                   "url",
		"https://10.0.0.1/in":                                    "url",
		"https://[::1]/in":                                       "url",
		"https://[::ffff:169.254.169.254]/in":                    "url",
		"https://192.168.1.10/in":                                "url",
		"ftp://hooks.example.com/in":                             "url",
		"hooks.example.com/in":                                   "url",
		"https://hooks.example.com/" + strings.Repeat("a", 2048): "url",
		"https://hooks.example.com/a\u0085b":                     "url", // a C1 control character
		"https://hooks.example.com/a\u0000b":                     "url",
		"":                                                       "url",
	} {
		body := apitest.AssertProblem(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": url}), http.StatusUnprocessableEntity, "validation")
		if diff := cmp.Diff([]string{field}, apitest.FieldsOf(body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", url, diff)
		}
	}
	body := apitest.AssertProblem(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://10.1.2.3/"}), http.StatusUnprocessableEntity, "validation")
	if !strings.Contains(string(api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://10.1.2.3/"}).Body), "address not allowed") {
		t.Errorf("a refused address does not say so: %v", body)
	}
	for _, types := range [][]string{{"ping"}, {"client.created", "client.created"}, {"client.deleted"}} {
		apitest.AssertProblem(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/", "types": types}), http.StatusUnprocessableEntity, "validation")
	}
	// The length is counted in characters: 2,026 of them in 4,026 bytes.
	expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/" + strings.Repeat("é", 2000)}), http.StatusCreated)
	// The allowed network (the tests' loopback) takes plain http.
	expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "http://127.0.0.1:9/in"}), http.StatusCreated)
	if n := api.Count(`SELECT count(*) FROM webhooks`); n != 2 {
		t.Errorf("%d webhooks, want 2", n)
	}
}

// At most twenty webhooks exist.
func TestWebhooksAreLimited(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for range service.MaxWebhooks {
		expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/"}), http.StatusCreated)
	}
	apitest.AssertProblem(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/"}), http.StatusConflict, "limit-reached")
}
