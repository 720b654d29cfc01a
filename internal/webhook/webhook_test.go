package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"epicevents/internal/netguard"
	"epicevents/internal/webhook"
)

// received is what a receiver got.
type received struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

func (r *received) add(req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, body)
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func receiver(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *received) {
	t.Helper()
	got := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

var loopback = netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)

func TestSecretsAreWhsecOf32RandomBytes(t *testing.T) {
	t.Parallel()
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a == b || !regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`).MatchString(a) {
		t.Fatalf("secrets %q, %q", a, b)
	}
	if key, err := webhook.SecretBytes(a); err != nil || len(key) != 32 {
		t.Fatalf("SecretBytes: %d bytes, %v", len(key), err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!", "sk_" + a[6:]} {
		if _, err := webhook.SecretBytes(bad); err == nil {
			t.Errorf("SecretBytes(%q) accepted", bad)
		}
	}
}

// The reference Standard Webhooks verifier accepts what we send, with one
// secret and with two (during a rotation, each secret alone verifies).
func TestDeliveriesVerifyWithTheReferenceLibrary(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	current, previous := webhook.NewSecret(), webhook.NewSecret()
	keyOf := func(s string) []byte { b, _ := webhook.SecretBytes(s); return b }
	body := []byte(`{"id":"4b1c0f6e-2c9a-4c55-9f43-5a0e2f1f0d11","type":"client.created","version":1}`)
	sender := webhook.NewSender(loopback, 0)
	at := time.Now()
	one := sender.Send(context.Background(), srv.URL+"/hooks", "msg_1", at, body, keyOf(current))
	two := sender.Send(context.Background(), srv.URL+"/hooks", "msg_2", at, body, keyOf(current), keyOf(previous))
	for _, a := range []webhook.Attempt{one, two} {
		if a.Outcome != webhook.Succeeded || a.Status != http.StatusNoContent || a.Error != "" {
			t.Fatalf("attempt: %+v", a)
		}
	}
	if got.count() != 2 {
		t.Fatalf("%d requests received", got.count())
	}
	verify := func(secret string, i int) error {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		return wh.Verify(got.bodies[i], got.requests[i].Header)
	}
	if err := verify(current, 0); err != nil {
		t.Errorf("one secret: %v", err)
	}
	if err := verify(previous, 0); err == nil {
		t.Error("a secret that did not sign verified")
	}
	for _, s := range []string{current, previous} {
		if err := verify(s, 1); err != nil {
			t.Errorf("two secrets, verifying with one: %v", err)
		}
	}
	r := got.requests[1]
	if r.Method != http.MethodPost || r.Header.Get("webhook-id") != "msg_2" || r.Header.Get("Content-Type") != "application/json" ||
		!regexp.MustCompile(`^v1,\S+ v1,\S+$`).MatchString(r.Header.Get("webhook-signature")) {
		t.Fatalf("headers %v", r.Header)
	}
	// A tampered body does not verify.
	wh, _ := standardwebhooks.NewWebhook(current)
	if err := wh.Verify(append(got.bodies[0], ' '), got.requests[0].Header); err == nil {
		t.Error("a tampered body verified")
	}
}

func TestAttemptOutcomes(t *testing.T) {
	t.Parallel()
	redirected, redirectTarget := receiver(t, func(w http.ResponseWriter, _ *http.Request) {})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	receivers := map[string]func(w http.ResponseWriter, r *http.Request){
		"fails": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"gone":  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) },
		"busy": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		"away": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		"forever": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "999999999")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		"redirects": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirected.URL, http.StatusFound)
		},
		"hangs": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
		"chatty": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(make([]byte, 1<<20))
		},
	}
	type result struct {
		Outcome    webhook.Outcome
		Status     int
		Error      string
		RetryAfter time.Duration
	}
	want := map[string]result{
		"fails":     {webhook.Failed, 500, "answered 500", 0},
		"gone":      {webhook.Gone, 410, "410 Gone: the webhook is disabled", 0},
		"busy":      {webhook.Failed, 429, "answered 429", 2 * time.Minute},
		"away":      {webhook.Failed, 503, "answered 503", time.Hour},
		"forever":   {webhook.Failed, 429, "answered 429", 24 * time.Hour},
		"redirects": {webhook.Failed, 302, "answered 302", 0},
		"hangs":     {webhook.Failed, 0, "no answer within 300ms", 0},
		"chatty":    {webhook.Succeeded, 200, "", 0},
	}
	sender := webhook.NewSender(loopback, 300*time.Millisecond)
	for name, h := range receivers {
		srv, _ := receiver(t, h)
		a := sender.Send(context.Background(), srv.URL, "msg", time.Now(), []byte(`{}`), []byte("key"))
		got := result{a.Outcome, a.Status, a.Error, a.RetryAfter.Round(time.Minute)}
		if diff := cmp.Diff(want[name], got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if redirectTarget.count() != 0 {
		t.Error("a redirect was followed")
	}
}

// Without the loopback network opened, the receiver is never reached.
func TestAttemptsToRefusedAddressesNeverLeave(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, func(w http.ResponseWriter, _ *http.Request) {})
	a := webhook.NewSender(netguard.New(nil, nil), 0).Send(context.Background(), srv.URL, "msg", time.Now(), []byte(`{}`), []byte("key"))
	if a.Outcome != webhook.Failed || a.Error != "address not allowed" || got.count() != 0 {
		t.Fatalf("attempt %+v, %d requests received", a, got.count())
	}
}

func TestRetrySchedule(t *testing.T) {
	t.Parallel()
	if len(webhook.DefaultSchedule) != 10 || webhook.DefaultSchedule[0] != 5*time.Second || webhook.DefaultSchedule[9] != 24*time.Hour {
		t.Fatalf("default ladder %v", webhook.DefaultSchedule)
	}
	s, err := webhook.ParseSchedule("10ms, 20ms,1s")
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		wait time.Duration
		ok   bool
	}
	var got []step
	for _, c := range []struct {
		n  int
		ra time.Duration
	}{{1, 0}, {2, time.Minute}, {3, 48 * time.Hour}, {4, 0}} {
		w, ok := s.Next(c.n, c.ra)
		got = append(got, step{w, ok})
	}
	want := []step{{10 * time.Millisecond, true}, {time.Minute, true}, {24 * time.Hour, true}, {0, false}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "5s,", "5s,-1s", "soon", "0s"} {
		if _, err := webhook.ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
