package telemetry_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"epicevents/internal/apitest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/service"
	"epicevents/internal/telemetry"
)

func withMetrics(m *telemetry.Metrics) apitest.Options {
	return apitest.Options{Config: func(c *apihttp.Config) {
		c.Observe = m.ObserveRequest
		c.Metrics = m.Handler()
	}}
}

// scrape reads /metrics through the router, as Prometheus would.
func scrape(t *testing.T, api *apitest.API) string {
	t.Helper()
	res := api.Get("/metrics", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.Status, res.Header.Get("Content-Type"))
	}
	return string(res.Body)
}

func hasSample(text, sample string) bool {
	for _, line := range strings.Split(text, "\n") {
		if line == sample {
			return true
		}
	}
	return false
}

func TestMetricsCountRequestsByRoutePatternMethodAndStatus(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics("1.2.3-test", nil)
	api := apitest.New(t, withMetrics(m))
	kate, _ := api.CreateCollaborator("kate", "support")
	bill, _ := api.CreateCollaborator("bill", "commercial")
	for _, id := range []string{kate, bill} {
		if res := api.Get("/v1/collaborators/"+id, api.ManagerToken); res.Status != http.StatusOK {
			t.Fatalf("get: %d", res.Status)
		}
	}
	api.Get("/v1/collaborators/"+kate, "")                                           // 401
	api.Get("/no/such/path", "")                                                     // 404
	api.Do(apitest.Request{Method: "BREW", Path: "/v1/me", Token: api.ManagerToken}) // invented method

	text := scrape(t, api)
	for _, sample := range []string{
		`epicevents_http_requests_total{method="GET",route="/v1/collaborators/{id}",status="200"} 2`,
		`epicevents_http_requests_total{method="GET",route="/v1/collaborators/{id}",status="401"} 1`,
		`epicevents_http_requests_total{method="POST",route="/v1/collaborators",status="201"} 2`,
		`epicevents_http_requests_total{method="POST",route="/v1/auth/login",status="200"} 3`,
		`epicevents_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`epicevents_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`epicevents_http_request_duration_seconds_count{method="GET",route="/v1/collaborators/{id}"} 3`,
		`epicevents_build_info{go_version="` + goVersion(text) + `",version="1.2.3-test"} 1`,
	} {
		if !hasSample(text, sample) {
			t.Errorf("missing sample %s", sample)
		}
	}
	if !strings.Contains(text, `epicevents_http_request_duration_seconds_bucket{method="GET",route="/v1/collaborators/{id}",le="0.005"}`) ||
		!strings.Contains(text, "go_goroutines ") || !strings.Contains(text, "process_resident_memory_bytes ") {
		t.Errorf("histogram buckets or runtime metrics missing")
	}
	// Ids never become labels.
	for _, id := range []string{kate, bill} {
		if strings.Contains(text, id) {
			t.Fatalf("an id reached a label")
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func goVersion(text string) string {
	_, rest, _ := strings.Cut(text, `epicevents_build_info{go_version="`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func TestMetricsReadPoolStatisticsAtEachScrape(t *testing.T) {
	t.Parallel()
	stats := telemetry.PoolStats{MaxConns: 8, AcquiredConns: 2, IdleConns: 3, ConstructingConns: 1,
		AcquireCount: 40, EmptyAcquireCount: 4, CanceledAcquireCount: 1, AcquireDuration: 1500 * time.Millisecond,
		NewConnsCount: 6}
	m := telemetry.NewMetrics("dev", func() telemetry.PoolStats { return stats })
	api := apitest.New(t, withMetrics(m))
	text := scrape(t, api)
	for _, sample := range []string{
		`epicevents_db_pool_connections{state="acquired"} 2`,
		`epicevents_db_pool_connections{state="idle"} 3`,
		`epicevents_db_pool_connections{state="constructing"} 1`,
		`epicevents_db_pool_max_connections 8`,
		`epicevents_db_pool_acquires_total 40`,
		`epicevents_db_pool_empty_acquires_total 4`,
		`epicevents_db_pool_canceled_acquires_total 1`,
		`epicevents_db_pool_acquire_duration_seconds_total 1.5`,
		`epicevents_db_pool_new_connections_total 6`,
	} {
		if !hasSample(text, sample) {
			t.Errorf("missing sample %s", sample)
		}
	}
	stats.AcquireCount = 41
	if text := scrape(t, api); !hasSample(text, `epicevents_db_pool_acquires_total 41`) {
		t.Errorf("pool statistics are not read again at the next scrape")
	}
}

// epicevents_changes_total counts committed changes by type (a refused or
// no-op write none); epicevents_feed_waiters the held requests.
func TestMetricsCountCommittedChangesAndFeedWaiters(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics("dev", nil)
	opts := withMetrics(m)
	opts.Committed = m.ChangeCommitted
	api := apitest.New(t, opts)
	m.FeedWaiters(api.Feed.Waiters)
	_, commercial := api.CreateCollaborator("bill_metrics", "commercial")
	res := api.Post("/v1/clients", commercial, map[string]any{"full_name": "Kevin Casey", "email": "kevin@startup.test", "phone": "+678 123 456 78"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create client: %d %s", res.Status, res.Body)
	}
	id := res.JSON(t)["id"].(string)
	if res := api.Patch("/v1/clients/"+id, commercial, map[string]any{"full_name": "Kevin Casey"}); res.Status != http.StatusOK {
		t.Fatalf("no-op patch: %d", res.Status)
	}
	if res := api.Post("/v1/clients", commercial, map[string]any{"full_name": "Kevin Casey", "email": "kevin@startup.test", "phone": "+678 123 456 78"}); res.Status != http.StatusConflict {
		t.Fatalf("duplicate client: %d", res.Status)
	}
	text := scrape(t, api)
	for _, sample := range []string{
		`epicevents_changes_total{type="collaborator.created"} 2`, // the first manager and Bill
		`epicevents_changes_total{type="client.created"} 1`,
		`epicevents_changes_total{type="client.updated"} 0`,
		`epicevents_feed_waiters 0`,
	} {
		if !hasSample(text, sample) {
			t.Errorf("missing sample %s", sample)
		}
	}
}

// epicevents_webhook_deliveries_total counts attempts by outcome, and
// epicevents_webhook_queue_lag_seconds is exposed.
func TestMetricsCountWebhookAttempts(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics("dev", nil)
	opts := withMetrics(m)
	opts.Deliver = true
	opts.Webhooks = func(c *service.WebhookConfig) { c.Attempted = m.WebhookAttempted }
	api := apitest.New(t, opts)
	var webhooks *service.WebhookService
	m.WebhookQueueLag(func() time.Duration { return webhooks.QueueLag(t.Context()) })
	webhooks = service.NewWebhookService(api.Deps, service.WebhookConfig{})
	arrived := make(chan struct{}, 10)
	var n atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails
		}
		arrived <- struct{}{}
	}))
	t.Cleanup(rc.Close)
	res := api.Post("/v1/webhooks", api.ManagerToken, map[string]any{"url": rc.URL})
	if res.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", res.Status, res.Body)
	}
	api.CreateCollaborator("bill_hooks", "commercial")
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasSample(scrape(t, api), `epicevents_webhook_deliveries_total{outcome="succeeded"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("no succeeded attempt counted:\n%s", scrape(t, api))
		}
		time.Sleep(20 * time.Millisecond)
	}
	text := scrape(t, api)
	for _, sample := range []string{
		`epicevents_webhook_deliveries_total{outcome="failed"} 1`,
		`epicevents_webhook_deliveries_total{outcome="gave_up"} 0`,
		`epicevents_webhook_deliveries_total{outcome="gone"} 0`,
	} {
		if !hasSample(text, sample) {
			t.Errorf("missing sample %s", sample)
		}
	}
	if !strings.Contains(text, "\nepicevents_webhook_queue_lag_seconds ") {
		t.Errorf("no queue lag:\n%s", text)
	}
}
