// Package apitest drives the real router on a real, private database, for
// HTTP tests: log in, send requests, decode answers, look at the rows.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"golang.org/x/crypto/bcrypt"

	"epicevents"
	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	apihttp "epicevents/internal/http"
	"epicevents/internal/jobs"
	"epicevents/internal/netguard"
	"epicevents/internal/seal"
	"epicevents/internal/service"
	"epicevents/internal/webhook"
)

// ManagerPassword is the first manager's password in every test API.
const ManagerPassword = "first-manager-secret"

// PublicBaseURL is the test API's PUBLIC_BASE_URL.
const PublicBaseURL = "https://crm.epic-events.test"

// Secret signs the test API's tokens.
var Secret = []byte("test-signing-key-of-at-least-32-bytes!")

// SecretsKey seals the test API's webhook secrets (a SECRETS_KEY).
var SecretsKey = []byte("test-secrets-key-of-32-bytes!!!!")

// Loopback is the network the test API's webhooks may reach (its
// WEBHOOK_ALLOWED_NETWORKS): local receivers only.
var Loopback = netip.MustParsePrefix("127.0.0.0/8")

// Clock is a settable clock; it starts at the real time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// API is a router on its own database.
type API struct {
	T         testing.TB
	Pool      *pgxpool.Pool
	Store     *db.Store
	Clock     *Clock
	Handler   http.Handler
	Deps      service.Deps
	Feed      *service.FeedService
	Webhooks  *service.WebhookService
	Logs      *bytes.Buffer
	logMu     *sync.Mutex
	employees atomic.Int32
	// ManagerToken is an access token of the first manager ("manager").
	ManagerToken string
}

// Options adjust the API under test.
type Options struct {
	Tokens func(*service.TokenConfig)
	// Limits adjusts login throttling (the contract's defaults otherwise).
	Limits func(*service.LoginLimits)
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Notifier hears of business events (service.Deps.Notifier).
	Notifier service.Notifier
	// Config adjusts the HTTP configuration (hooks, CORS, metrics).
	Config func(*apihttp.Config)
	// Tracer hears of every query of the API's pool.
	Tracer pgx.QueryTracer
	// Feed adjusts the change feed (retention, waiters).
	Feed func(*service.FeedConfig)
	// Committed hears of each committed change (service.Deps.Committed).
	Committed func(service.ChangeType)
	// Webhooks adjusts the webhooks' configuration.
	Webhooks func(*service.WebhookConfig)
	// Deliver starts the job queue's workers, so webhooks are delivered.
	Deliver bool
	// Pool, when set, is the database of another test API: this one is
	// that API restarted.
	Pool *pgxpool.Pool
}

// New builds the API with the first manager created and logged in.
func New(t testing.TB, opts ...Options) *API {
	t.Helper()
	var tracer pgx.QueryTracer
	for _, o := range opts {
		if o.Tracer != nil {
			tracer = o.Tracer
		}
	}
	var pool *pgxpool.Pool
	for _, o := range opts {
		if o.Pool != nil {
			pool = o.Pool
		}
	}
	if pool == nil {
		pool = dbtest.NewTraced(t, tracer)
	}
	clock := &Clock{now: time.Now().UTC()}
	store := db.NewStore(pool)
	deliver := false
	for _, o := range opts {
		deliver = deliver || o.Deliver
	}
	// The queue only takes jobs unless the test delivers webhooks.
	jobsCfg := jobs.Config{}
	var services *service.Services
	if deliver {
		jobsCfg.Workers, jobsCfg.MaxWorkers = river.NewWorkers(), 4
		if err := service.AddWebhookWorkers(jobsCfg.Workers, func() *service.WebhookService { return services.Webhooks }); err != nil {
			t.Fatal(err)
		}
	}
	queue, err := jobs.NewClient(pool, jobsCfg)
	if err != nil {
		t.Fatalf("job queue: %v", err)
	}
	deps := service.Deps{Store: store, Now: clock.Now, Passwords: service.NewPasswords(bcrypt.MinCost),
		Render: apihttp.RenderRecord, Jobs: queue}
	tokens := service.TokenConfig{Secret: Secret, Issuer: "epic-events", Audience: "epic-events-api",
		AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour}
	var limits service.LoginLimits
	var trusted []netip.Prefix
	listener := db.NewListener(pool.Config().ConnConfig, nil)
	feedCfg := service.FeedConfig{Wakeup: listener}
	keyring, err := seal.NewKeyring(SecretsKey)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	guard := netguard.New([]netip.Prefix{Loopback}, nil)
	webhooksCfg := service.WebhookConfig{Keyring: keyring, Guard: guard, Sender: webhook.NewSender(guard, 0),
		Schedule:     webhook.Schedule{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		RenderChange: apihttp.RenderChange}
	for _, o := range opts {
		if o.Webhooks != nil {
			o.Webhooks(&webhooksCfg)
		}
		if o.Feed != nil {
			o.Feed(&feedCfg)
		}
		if o.Tokens != nil {
			o.Tokens(&tokens)
		}
		if o.Limits != nil {
			o.Limits(&limits)
		}
		trusted = append(trusted, o.TrustedProxies...)
		if o.Notifier != nil {
			deps.Notifier = o.Notifier
		}
		if o.Committed != nil {
			deps.Committed = o.Committed
		}
	}
	services = service.NewServices(deps, service.Settings{Tokens: tokens, Limits: limits,
		Webhooks: webhooksCfg, Feed: feedCfg, PublicBaseURL: PublicBaseURL})
	if _, err := services.Collaborators.EnsureFirstManager(context.Background(), service.BootstrapInput{
		Username: "manager", Email: "manager@epic-events.test", Password: ManagerPassword,
	}); err != nil {
		t.Fatalf("first manager: %v", err)
	}
	logs := &bytes.Buffer{}
	mu := &sync.Mutex{}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{mu, logs}, nil))
	cfg := apihttp.Config{Services: services, Logger: logger, RequestTimeout: 5 * time.Second,
		TrustedProxies: trusted, OpenAPI: epicevents.OpenAPI}
	if deliver {
		if err := queue.Start(context.Background()); err != nil {
			t.Fatalf("job queue: %v", err)
		}
		// Stopped before the database is dropped.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = queue.Stop(ctx)
		})
		// The first manager's creation is fanned out before the test
		// begins, so that a webhook the test creates never receives it.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var waiting int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
				WHERE state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&waiting); err != nil {
				t.Fatalf("job queue: %v", err)
			}
			if waiting == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs still waiting after the start", waiting)
			}
		}
	}
	// The listener closes before the database is dropped (cleanups run
	// last registered first), and listens before the first request.
	listenCtx, stopListening := context.WithCancel(context.Background())
	listened := make(chan struct{})
	go func() { defer close(listened); listener.Run(listenCtx) }()
	t.Cleanup(func() { stopListening(); <-listened })
	select {
	case <-listener.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the change listener did not start")
	}
	for _, o := range opts {
		if o.Config != nil {
			o.Config(&cfg)
		}
	}
	handler := apihttp.NewHandler(cfg)
	a := &API{T: t, Pool: pool, Store: store, Clock: clock, Handler: handler, Deps: deps, Logs: logs, logMu: mu,
		Feed: services.Feed, Webhooks: services.Webhooks}
	a.ManagerToken = a.Login("manager", ManagerPassword)
	return a
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// LogText returns what the server logged so far.
func (a *API) LogText() string {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	return a.Logs.String()
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Request is one request to send.
type Request struct {
	Method, Path, Token string
	// Body is marshalled as JSON unless it is a string, sent as is.
	Body   any
	Header map[string]string
	// RemoteAddr is the peer's address ("192.0.2.1:1234" when empty).
	RemoteAddr string
	// Context, when set, is the request's (a stream ends with it).
	Context context.Context
	// OffContract marks a request the test sends outside openapi.yaml on
	// purpose; it is then not checked even if the server accepts it. (A
	// request refused as invalid, forbidden or unknown is not checked; its
	// response always is.)
	OffContract bool
}

// Do sends a request through the router. Every exchange is checked against
// openapi.yaml: the response always, the request when the answer implies it
// was valid (below 400, or 409 and 412, refusals for the stored state); a
// breach fails the test.
func (a *API) Do(req Request) Response {
	a.T.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.T.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(req.Method, req.Path, body)
	if req.Context != nil {
		r = r.WithContext(req.Context)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		r.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	if req.RemoteAddr != "" {
		r.RemoteAddr = req.RemoteAddr
	}
	return a.checked(a.Handler, nil, r, !req.OffContract)
}

// Get, Post, Patch and Delete are shorthands of Do.
func (a *API) Get(path, token string) Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodGet, Path: path, Token: token})
}

func (a *API) Post(path, token string, body any) Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

func (a *API) Patch(path, token string, body any) Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodPatch, Path: path, Token: token, Body: body})
}

func (a *API) Delete(path, token string) Response {
	a.T.Helper()
	return a.Do(Request{Method: http.MethodDelete, Path: path, Token: token})
}

// Login returns an access token, failing the test when login fails.
func (a *API) Login(username, password string) string {
	a.T.Helper()
	access, _ := a.LoginPair(username, password)
	return access
}

// LoginPair returns an access token and a refresh token, failing the test
// when login fails.
func (a *API) LoginPair(username, password string) (access, refresh string) {
	a.T.Helper()
	res := a.Post("/v1/auth/login", "", map[string]string{"username": username, "password": password})
	if res.Status != http.StatusOK {
		a.T.Fatalf("login %s: %d %s", username, res.Status, res.Body)
	}
	body := res.JSON(a.T)
	return body["access_token"].(string), body["refresh_token"].(string)
}

// CollaboratorPassword is the password of collaborators made by
// CreateCollaborator.
const CollaboratorPassword = "a-perfectly-fine-password"

// CreateCollaborator creates a collaborator as the first manager and
// returns its id and an access token of theirs.
func (a *API) CreateCollaborator(username, department string) (id, token string) {
	a.T.Helper()
	res := a.Post("/v1/collaborators", a.ManagerToken, map[string]any{
		"employee_number": 100 + a.employees.Add(1), "first_name": "Test", "last_name": "Tester",
		"email": username + "@epic-events.test", "username": username, "department": department,
		"password": CollaboratorPassword,
	})
	if res.Status != http.StatusCreated {
		a.T.Fatalf("create %s: %d %s", username, res.Status, res.Body)
	}
	return res.JSON(a.T)["id"].(string), a.Login(username, CollaboratorPassword)
}

// Count runs a count query on the test database.
func (a *API) Count(sql string, args ...any) int {
	a.T.Helper()
	var n int
	if err := a.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		a.T.Fatalf("%s: %v", sql, err)
	}
	return n
}

// AssertProblem checks status, slug and content type of a problem answer.
func AssertProblem(t testing.TB, res Response, status int, slug string) map[string]any {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	body := res.JSON(t)
	if body["type"] != "urn:epic-events:problem:"+slug {
		t.Fatalf("type %v, want slug %s: %s", body["type"], slug, res.Body)
	}
	if int(body["status"].(float64)) != status || body["title"] == "" || body["request_id"] != res.Header.Get("X-Request-Id") {
		t.Fatalf("problem body incomplete: %s", res.Body)
	}
	if detail, _ := body["detail"].(string); detail == "" {
		t.Fatalf("problem without detail: %s", res.Body)
	}
	assertProblemHeaders(t, res, status)
	// Every 422, idempotency-key-reused included, names its fields.
	if status == http.StatusUnprocessableEntity {
		errs, _ := body["errors"].([]any)
		if len(errs) == 0 {
			t.Fatalf("validation problem names no field: %s", res.Body)
		}
		for _, e := range errs {
			if m, _ := e.(map[string]any); m["field"] == "" || m["message"] == "" {
				t.Fatalf("errors[] entry without field or message: %s", res.Body)
			}
		}
	}
	return body
}

// assertProblemHeaders checks the headers the contract ties to a status.
func assertProblemHeaders(t testing.TB, res Response, status int) {
	t.Helper()
	switch status {
	case http.StatusUnauthorized:
		if scheme, _, _ := strings.Cut(res.Header.Get("WWW-Authenticate"), " "); scheme != "Bearer" {
			t.Fatalf("401 with WWW-Authenticate %q, want Bearer", res.Header.Get("WWW-Authenticate"))
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("%d with Retry-After %q, want whole seconds", status, res.Header.Get("Retry-After"))
		}
	case http.StatusMethodNotAllowed:
		if res.Header.Get("Allow") == "" {
			t.Fatal("405 without Allow")
		}
	}
}

// FieldsOf lists the fields named in a problem's errors.
func FieldsOf(body map[string]any) []string {
	var out []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// Caller returns the collaborator id behind an access token.
func (a *API) Caller(token string) string {
	a.T.Helper()
	res := a.Get("/v1/me", token)
	if res.Status != http.StatusOK {
		a.T.Fatalf("me: %d %s", res.Status, res.Body)
	}
	return res.JSON(a.T)["id"].(string)
}
