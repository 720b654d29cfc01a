package telemetry

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	apihttp "epicevents/internal/http"
	"epicevents/internal/service"
)

const namespace = "epicevents"

// PoolStats is a snapshot of the database connection pool, read at each
// scrape. It is a plain struct so that this package needs no driver.
type PoolStats struct {
	MaxConns             int32
	AcquiredConns        int32
	IdleConns            int32
	ConstructingConns    int32
	AcquireCount         int64
	EmptyAcquireCount    int64
	CanceledAcquireCount int64
	AcquireDuration      time.Duration
	NewConnsCount        int64
}

// Metrics is the registry behind /metrics.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	changes  *prometheus.CounterVec
	attempts *prometheus.CounterVec
}

// DeliveryOutcomes label epicevents_webhook_deliveries_total.
var DeliveryOutcomes = []string{"succeeded", "failed", "gave_up", "gone"}

// NewMetrics registers the API's metrics: requests by route, method and
// status, their latency, the pool (when stats is not nil), build
// information and the Go runtime's and process's own.
func NewMetrics(version string, stats func() PoolStats) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern and method.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "changes_total",
		Help: "Changes committed by this process's writes, by change type.",
	}, []string{"type"})
	for _, t := range service.ChangeTypes {
		m.changes.WithLabelValues(string(t))
	}
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "webhook_deliveries_total",
		Help: "Webhook delivery attempts of this process, by outcome (failed: another attempt follows).",
	}, []string{"outcome"})
	for _, o := range DeliveryOutcomes {
		m.attempts.WithLabelValues(o)
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; its labels name the running build.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()},
	})
	build.Set(1)
	m.registry.MustRegister(m.requests, m.duration, m.changes, m.attempts, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.registry.MustRegister(&poolCollector{stats: stats})
	}
	return m
}

// ChangeCommitted counts a committed change of this process as
// epicevents_changes_total{type}.
func (m *Metrics) ChangeCommitted(changeType service.ChangeType) {
	m.changes.WithLabelValues(string(changeType)).Inc()
}

// FeedWaiters exposes the requests the change feed holds now (long polls
// and streams) as epicevents_feed_waiters.
func (m *Metrics) FeedWaiters(count func() int64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "feed_waiters",
		Help: "Requests of the change feed held open now (long polls and streams).",
	}, func() float64 { return float64(count()) }))
}

// WebhookAttempted counts an attempt's outcome as
// epicevents_webhook_deliveries_total{outcome}.
func (m *Metrics) WebhookAttempted(outcome string) {
	m.attempts.WithLabelValues(outcome).Inc()
}

// WebhookQueueLag exposes how long the oldest delivery job ready to run
// has waited, as epicevents_webhook_queue_lag_seconds (read at scrape).
func (m *Metrics) WebhookQueueLag(lag func() time.Duration) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "webhook_queue_lag_seconds",
		Help: "How long the oldest webhook job ready to run has waited (0 when none waits).",
	}, func() float64 { return lag().Seconds() }))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// knownMethods bounds the method label: a client inventing methods must not
// create series.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveRequest counts a finished request. The route is the router's
// pattern ("unmatched" for unknown paths), so ids never become labels.
func (m *Metrics) ObserveRequest(rec apihttp.RequestRecord) {
	method := rec.Method
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(rec.Route, method, strconv.Itoa(rec.Status)).Inc()
	m.duration.WithLabelValues(rec.Route, method).Observe(rec.Duration.Seconds())
}

// poolCollector reads the pool's statistics at each scrape.
type poolCollector struct {
	stats func() PoolStats
}

func poolDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "db_pool", name), help, labels, nil)
}

var (
	poolConnsDesc           = poolDesc("connections", "Connections in the pool, by state.", "state")
	poolMaxConnsDesc        = poolDesc("max_connections", "Most connections the pool may open.")
	poolAcquiresDesc        = poolDesc("acquires_total", "Connections acquired from the pool.")
	poolEmptyAcquiresDesc   = poolDesc("empty_acquires_total", "Acquisitions that had to wait for a connection.")
	poolCanceledAcquireDesc = poolDesc("canceled_acquires_total", "Acquisitions abandoned because their request ended.")
	poolAcquireSecondsDesc  = poolDesc("acquire_duration_seconds_total", "Time spent acquiring connections.")
	poolNewConnsDesc        = poolDesc("new_connections_total", "Connections opened to the database.")
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxConnsDesc, poolAcquiresDesc,
		poolEmptyAcquiresDesc, poolCanceledAcquireDesc, poolAcquireSecondsDesc, poolNewConnsDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolConnsDesc, float64(s.AcquiredConns), "acquired")
	gauge(poolConnsDesc, float64(s.IdleConns), "idle")
	gauge(poolConnsDesc, float64(s.ConstructingConns), "constructing")
	gauge(poolMaxConnsDesc, float64(s.MaxConns))
	counter(poolAcquiresDesc, float64(s.AcquireCount))
	counter(poolEmptyAcquiresDesc, float64(s.EmptyAcquireCount))
	counter(poolCanceledAcquireDesc, float64(s.CanceledAcquireCount))
	counter(poolAcquireSecondsDesc, s.AcquireDuration.Seconds())
	counter(poolNewConnsDesc, float64(s.NewConnsCount))
}
