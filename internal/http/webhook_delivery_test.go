package http_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/netguard"
	"epicevents/internal/service"
	"epicevents/internal/webhook"
)

// receiver is a local webhook endpoint (on 127.0.0.1, which the test
// API's WEBHOOK_ALLOWED_NETWORKS opens) that records every request and
// answers what answer says.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answer   func(n int, w http.ResponseWriter)
	arrived  chan struct{}
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, arrived: make(chan struct{}, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{Header: r.Header.Clone(), Body: body})
		n := len(rc.requests)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w)
		}
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// await waits for n requests in all (bounded), and returns them.
func (rc *receiver) await(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.requests)
		out := append([]received(nil), rc.requests...)
		rc.mu.Unlock()
		if got >= n {
			return out
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("%d requests received, want %d", got, n)
		}
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// awaitDelivery polls the delivery log until its newest delivery has the
// status (bounded), and returns it.
func awaitDelivery(t *testing.T, api *apitest.API, hook, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		page := expect(t, api.Get("/v1/webhooks/"+hook+"/deliveries", api.ManagerToken), http.StatusOK)
		if data := page["data"].([]any); len(data) > 0 {
			if d := data[0].(map[string]any); d["status"] == status {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s delivery: %v", status, page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verifies(t *testing.T, secret string, r received) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header)
}

// A committed change reaches a subscribed webhook as the feed shows it,
// signed so that the reference Standard Webhooks verifier accepts it;
// another type does not go there. After a rotation both secrets sign.
func TestWebhookDeliveriesVerifyWithTheReferenceLibrary(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true})
	rc := newReceiver(t, nil)
	hook := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{
		"url": rc.URL + "/in", "types": []string{"client.created"},
	}), http.StatusCreated)
	id, secret := hook["id"].(string), hook["secret"].(string)
	_, bill := api.CreateCollaborator(unique("bill"), "commercial") // collaborator.created: not subscribed
	clientID := newClient(t, api, bill)

	got := rc.await(t, 1)[0]
	if err := verifies(t, secret, got); err != nil {
		t.Fatalf("the reference verifier refuses the delivery: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	changes := expect(t, api.Get("/v1/changes?types=client.created", api.ManagerToken), http.StatusOK)["data"].([]any)
	change := changes[len(changes)-1].(map[string]any)
	if diff := cmp.Diff(change, body); diff != "" {
		t.Errorf("body is not the feed's change (-feed +delivered):\n%s", diff)
	}
	if got.Header.Get("webhook-id") != change["id"] || body["record_id"] != clientID {
		t.Errorf("webhook-id %q, change %v", got.Header.Get("webhook-id"), change["id"])
	}
	d := awaitDelivery(t, api, id, "succeeded")
	if d["attempts"] != float64(1) || d["last_response_status"] != float64(200) || d["change_id"] != change["id"] || d["type"] != "client.created" {
		t.Errorf("delivery %v", d)
	}

	rotated := expect(t, api.Post("/v1/webhooks/"+id+"/rotate-secret", api.ManagerToken, nil), http.StatusOK)["secret"].(string)
	newClient(t, api, bill)
	second := rc.await(t, 2)[1]
	if n := len(strings.Fields(second.Header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures after a rotation, want 2", n)
	}
	for _, s := range []string{secret, rotated} {
		if err := verifies(t, s, second); err != nil {
			t.Errorf("a secret of the rotation does not verify: %v", err)
		}
	}
	if rc.count() != 2 {
		t.Errorf("%d requests, want 2 (the collaborator's change is not subscribed)", rc.count())
	}
}

// A failing receiver is tried again on the ladder, with the same
// webhook-id, until it answers 2xx; a manual retry is one more attempt.
func TestFailedDeliveriesAreRetriedWithTheSameID(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	hook := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)
	id := hook["id"].(string)
	_, bill := api.CreateCollaborator(unique("bill"), "commercial")
	got := rc.await(t, 2)
	if got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
		t.Errorf("webhook-id changed between attempts: %q, %q", got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"))
	}
	d := awaitDelivery(t, api, id, "succeeded")
	if d["attempts"] != float64(2) || d["last_error"] != nil || d["last_response_status"] != float64(200) {
		t.Errorf("delivery %v", d)
	}
	_ = bill
	retried := expect(t, api.Post("/v1/webhooks/"+id+"/deliveries/"+d["id"].(string)+"/retry", api.ManagerToken, nil), http.StatusAccepted)
	if retried["status"] != "pending" {
		t.Errorf("retried %v", retried)
	}
	third := rc.await(t, 3)[2]
	if third.Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
		t.Errorf("a redelivery has another webhook-id")
	}
	if d := awaitDelivery(t, api, id, "succeeded"); d["attempts"] != float64(3) {
		t.Errorf("after the retry: %v", d)
	}
}

// A receiver that keeps failing is given up after the ladder.
func TestDeliveriesGiveUpAfterTheLadder(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true, Webhooks: func(c *service.WebhookConfig) {
		c.Schedule = webhook.Schedule{time.Millisecond}
	}})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)["id"].(string)
	api.CreateCollaborator(unique("bill"), "commercial")
	d := awaitDelivery(t, api, id, "gave_up")
	if d["attempts"] != float64(2) || d["last_response_status"] != float64(502) || d["next_attempt_at"] != nil {
		t.Errorf("delivery %v", d)
	}
	if rc.count() != 2 {
		t.Errorf("%d attempts, want 2", rc.count())
	}
}

// 410 disables the webhook (gone) and its pending deliveries are
// cancelled; 429's Retry-After is a minimum before the next attempt.
func TestGoneDisablesAndRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true})
	gone := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	busy := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	goneID := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": gone.URL}), http.StatusCreated)["id"].(string)
	busyID := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": busy.URL}), http.StatusCreated)["id"].(string)
	api.CreateCollaborator(unique("bill"), "commercial")

	d := awaitDelivery(t, api, goneID, "gave_up")
	if d["last_response_status"] != float64(410) {
		t.Errorf("gone delivery %v", d)
	}
	h := expect(t, api.Get("/v1/webhooks/"+goneID, api.ManagerToken), http.StatusOK)
	if h["is_active"] != false || h["disabled_reason"] != "gone" {
		t.Errorf("after a 410: %v", h)
	}
	api.CreateCollaborator(unique("ann"), "support")
	b := awaitDelivery(t, api, busyID, "failed")
	next, _ := time.Parse(time.RFC3339Nano, b["next_attempt_at"].(string))
	updated, _ := time.Parse(time.RFC3339Nano, b["updated_at"].(string))
	if wait := next.Sub(updated); wait < 120*time.Second {
		t.Errorf("next attempt %s after a 429 with Retry-After: 120", wait)
	}
	// Disabling the busy one cancels its pending deliveries.
	expect(t, api.Patch("/v1/webhooks/"+busyID, api.ManagerToken, map[string]any{"is_active": false}), http.StatusOK)
	page := expect(t, api.Get("/v1/webhooks/"+busyID+"/deliveries", api.ManagerToken), http.StatusOK)
	for _, x := range page["data"].([]any) {
		if s := x.(map[string]any)["status"]; s != "cancelled" {
			t.Errorf("after disabling, a delivery is %v", s)
		}
	}
	if gone.count() != 1 {
		t.Errorf("the gone receiver got %d requests, want 1", gone.count())
	}
}

// A webhook disabled while an attempt is in flight: the attempt's
// answer is kept, but the delivery stays cancelled and nothing more is
// scheduled.
func TestDisablingDuringAnAttemptCancelsIt(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true})
	inFlight, release := make(chan struct{}, 1), make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		inFlight <- struct{}{}
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)["id"].(string)
	api.CreateCollaborator(unique("bill"), "commercial")
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt arrived")
	}
	expect(t, api.Patch("/v1/webhooks/"+id, api.ManagerToken, map[string]any{"is_active": false}), http.StatusOK)
	close(release)
	rc.await(t, 1)
	deadline := time.Now().Add(30 * time.Second)
	for api.Count(`SELECT count(*) FROM webhook_deliveries WHERE in_flight`) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the attempt never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var status string
	var attempts, last int
	var next *time.Time
	if err := api.Pool.QueryRow(context.Background(), `SELECT status, attempts, last_response_status, next_attempt_at
		FROM webhook_deliveries WHERE webhook_id = $1`, id).Scan(&status, &attempts, &last, &next); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || attempts != 1 || last != http.StatusServiceUnavailable || next != nil {
		t.Errorf("delivery %s, %d attempts, last %d, next %v; want cancelled, 1, 503, none", status, attempts, last, next)
	}
	if n := api.Count(`SELECT count(*) FROM river_job WHERE kind = 'webhook_deliver' AND (args->>'attempt')::int > 0`); n != 0 {
		t.Errorf("%d further attempts scheduled", n)
	}
}

// A fan-out that meets a webhook being disabled waits for the disable to
// commit and delivers nothing to it: no delivery is left pending behind
// the disable's cancellation.
func TestFanOutWaitsForADisable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := apitest.New(t) // no workers: the fan-out is run by hand
	rc := newReceiver(t, nil)
	hook := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)["id"].(string)
	bill, _ := api.CreateCollaborator(unique("bill"), "commercial")
	var change uuid.UUID
	if err := api.Pool.QueryRow(ctx, `SELECT id FROM changes WHERE record_id = $1`, bill).Scan(&change); err != nil {
		t.Fatal(err)
	}
	tx, err := api.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `UPDATE webhooks SET is_active = false, disabled_reason = 'manual' WHERE id = $1`, hook); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- api.Webhooks.FanOut(ctx, change) }()
	select {
	case err := <-done:
		t.Fatalf("the fan-out did not wait for the disable (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := api.Count(`SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1`, hook); n != 0 {
		t.Errorf("%d deliveries to the disabled webhook", n)
	}
}

// A ping is delivered, signed, and limited to one a minute.
func TestPing(t *testing.T) {
	t.Parallel()
	api := apitest.New(t, apitest.Options{Deliver: true})
	rc := newReceiver(t, nil)
	hook := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)
	id := hook["id"].(string)
	ping := expect(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusAccepted)
	if ping["type"] != "ping" || ping["change_id"] != nil {
		t.Errorf("ping %v", ping)
	}
	apitest.AssertProblem(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusTooManyRequests, "rate-limited")
	got := rc.await(t, 1)[0]
	if err := verifies(t, hook["secret"].(string), got); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["type"] != "ping" || body["id"] != got.Header.Get("webhook-id") || body["at"] == nil || len(body) != 3 {
		t.Errorf("ping body %v", body)
	}
	api.Clock.Advance(time.Minute)
	expect(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusAccepted)
}

// The API stopped between a write and its delivery: the job waits in
// PostgreSQL, and the API started again delivers it, once.
func TestADeliveryOutlivesARestart(t *testing.T) {
	t.Parallel()
	before := apitest.New(t) // its queue takes jobs but works none: it "stops" at once
	rc := newReceiver(t, nil)
	id := expect(t, before.Post("/v1/webhooks", before.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)["id"].(string)
	bill, _ := before.CreateCollaborator(unique("bill"), "commercial")
	if n := before.Count(`SELECT count(*) FROM webhook_deliveries`); n != 0 || rc.count() != 0 {
		t.Fatalf("delivered before the restart: %d deliveries, %d requests", n, rc.count())
	}
	var change string
	if err := before.Pool.QueryRow(context.Background(), `SELECT id::text FROM changes WHERE record_id = $1`, bill).Scan(&change); err != nil {
		t.Fatal(err)
	}
	// Started again, the API works the queue: bill's change, and the
	// first manager's creation, which was waiting too.
	after := apitest.New(t, apitest.Options{Pool: before.Pool, Deliver: true})
	// A ping after them is a barrier: once it arrives, the queue has
	// worked what came before, and nothing was sent twice.
	expect(t, after.Post("/v1/webhooks/"+id+"/ping", after.ManagerToken, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		sent, pinged := map[string]int{}, false
		rc.mu.Lock()
		for _, r := range rc.requests {
			sent[r.Header.Get("webhook-id")]++
			var body struct{ Type string }
			pinged = pinged || (json.Unmarshal(r.Body, &body) == nil && body.Type == "ping")
		}
		rc.mu.Unlock()
		if pinged {
			if sent[change] != 1 || len(sent) != 3 || rc.count() != 3 {
				t.Fatalf("after the restart: %v; want bill's change %s once, the first manager's once and the ping", sent, change)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ping never came: %v", sent)
		}
	}
}

// The delivery log keeps 30 days; deleting a webhook deletes its
// deliveries.
func TestDeliveriesArePrunedAndGoWithTheirWebhook(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	webhooks := service.NewWebhookService(api.Deps, service.WebhookConfig{})
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/"}), http.StatusCreated)["id"].(string)
	old := expect(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusAccepted)["id"].(string)
	if _, err := api.Pool.Exec(t.Context(), `UPDATE webhook_deliveries SET created_at = created_at - $1::interval WHERE id = $2`,
		(service.DeliveryRetention + time.Minute).String(), old); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Pool.Exec(t.Context(), `UPDATE webhooks SET last_ping_at = NULL`); err != nil {
		t.Fatal(err)
	}
	kept := expect(t, api.Post("/v1/webhooks/"+id+"/ping", api.ManagerToken, nil), http.StatusAccepted)["id"].(string)
	if n, err := webhooks.PruneDeliveries(t.Context()); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want the older ping", n, err)
	}
	left := expect(t, api.Get("/v1/webhooks/"+id+"/deliveries", api.ManagerToken), http.StatusOK)["data"].([]any)
	if len(left) != 1 || left[0].(map[string]any)["id"] != kept {
		t.Fatalf("deliveries left %v, want the newer ping", left)
	}
	expect(t, api.Delete("/v1/webhooks/"+id, api.ManagerToken), http.StatusNoContent)
	if n := api.Count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
		t.Fatalf("%d deliveries outlive their webhook", n)
	}
}

// rebinding resolves every name to loopback, as a hostile DNS would.
type rebinding struct{}

func (rebinding) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// A name that resolves to a refused address is refused at connect time:
// the attempt fails with "address not allowed" and nothing is sent.
func TestDeliveriesToARebindingNameAreRefused(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	api := apitest.New(t, apitest.Options{Deliver: true, Webhooks: func(c *service.WebhookConfig) {
		c.Guard = netguard.New(nil, rebinding{}) // loopback not opened
		c.Sender = webhook.NewSender(c.Guard, 0)
		c.Schedule = webhook.Schedule{}
	}})
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.test:" + port + "/"}), http.StatusCreated)["id"].(string)
	api.CreateCollaborator(unique("bill"), "commercial")
	d := awaitDelivery(t, api, id, "gave_up")
	if d["last_error"] != "address not allowed" || d["last_response_status"] != nil {
		t.Errorf("delivery %v", d)
	}
	if rc.count() != 0 {
		t.Errorf("the receiver on loopback got %d requests", rc.count())
	}
}

// A receiver that does not answer in time fails the attempt.
func TestAHangingReceiverTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter) { <-release })
	t.Cleanup(func() { close(release) })
	api := apitest.New(t, apitest.Options{Deliver: true, Webhooks: func(c *service.WebhookConfig) {
		c.Sender = webhook.NewSender(c.Guard, 200*time.Millisecond)
		c.Schedule = webhook.Schedule{}
	}})
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL}), http.StatusCreated)["id"].(string)
	api.CreateCollaborator(unique("bill"), "commercial")
	d := awaitDelivery(t, api, id, "gave_up")
	if d["last_error"] != "no answer within 200ms" {
		t.Errorf("delivery %v", d)
	}
}

// Removing a type cancels that type's pending deliveries, and only those.
func TestRemovingATypeCancelsItsPendingDeliveries(t *testing.T) {
	t.Parallel()
	api := apitest.New(t) // no workers: deliveries stay pending
	hooks := service.NewWebhookService(api.Deps, service.WebhookConfig{RenderChange: apihttp.RenderChange})
	id := expect(t, api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": "https://hooks.example.com/"}), http.StatusCreated)["id"].(string)
	_, bill := api.CreateCollaborator(unique("bill"), "commercial")
	newClient(t, api, bill)
	rows, err := api.Pool.Query(t.Context(), `SELECT id FROM changes`)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if err := hooks.FanOut(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		if err := hooks.FanOut(t.Context(), c); err != nil { // a job run twice
			t.Fatal(err)
		}
	}
	expect(t, api.Patch("/v1/webhooks/"+id, api.ManagerToken, map[string]any{"types": []string{"client.created"}}), http.StatusOK)
	status := map[string]string{}
	n := 0
	for _, x := range expect(t, api.Get("/v1/webhooks/"+id+"/deliveries", api.ManagerToken), http.StatusOK)["data"].([]any) {
		d := x.(map[string]any)
		status[d["type"].(string)+" "+d["change_id"].(string)] = d["status"].(string)
		n++
	}
	if n != len(changes) || len(status) != len(changes) {
		t.Errorf("%d deliveries of %d changes", n, len(changes))
	}
	want := map[string]string{"collaborator.created": "cancelled", "client.created": "pending"}
	byType := map[string]string{}
	for k, v := range status {
		typ, _, _ := strings.Cut(k, " ")
		if v != want[typ] {
			byType[typ] = v
		} else if _, seen := byType[typ]; !seen {
			byType[typ] = v
		}
	}
	if diff := cmp.Diff(want, byType); diff != "" {
		t.Errorf("deliveries by type (-want +got):\n%s", diff)
	}
}
