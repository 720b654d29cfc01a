// Package http is the REST JSON surface of the CRM: routing, decoding,
// authentication, and the one mapping from service errors to RFC 9457
// problems. Handlers decode, call one service method and encode.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"

	"epicevents/internal/service"
)

// Config is what the HTTP layer is built from.
type Config struct {
	// Services are the services the routes call.
	*service.Services
	// FeedKeepalive is the interval of the stream's keepalive comments,
	// each of which checks the credential again (15 s by default).
	FeedKeepalive  time.Duration
	Logger         *slog.Logger
	RequestTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For entries name the
	// client address (for login throttling).
	TrustedProxies []netip.Prefix
	// Ready reports whether the database answers and is migrated.
	Ready func(ctx context.Context) error
	// Observe, when set, hears of every finished request.
	Observe func(RequestRecord)
	// Metrics answers GET /metrics; unset, the exposition is empty.
	Metrics http.Handler
	// CORSAllowedOrigins turns CORS on for these origins; empty means off.
	CORSAllowedOrigins []string
	// OpenAPI is the document served at /openapi.yaml and shown by /docs.
	OpenAPI []byte
}

type server struct {
	cfg    Config
	log    *slog.Logger
	router chi.Router
}

// NewHandler builds the router with every route of the API.
func NewHandler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.FeedKeepalive <= 0 {
		cfg.FeedKeepalive = 15 * time.Second
	}
	s := &server{cfg: cfg, log: cfg.Logger}
	s.router = s.routes()
	return s.router
}

func (s *server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.observe, commonHeaders, headWithoutBody)
	// Every GET route answers HEAD too: the same handler, whose body the
	// HTTP server drops, so status and headers are GET's.
	r.Use(middleware.GetHead)
	if len(s.cfg.CORSAllowedOrigins) > 0 {
		r.Use(corsHandler(s.cfg.CORSAllowedOrigins))
	}
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", s.metrics())
	s.docsRoutes(r)

	r.Route("/v1", func(r chi.Router) {
		r.Use(apiHeaders)
		r.With(s.wellFormedQuery).Post("/auth/login", s.login)
		r.With(s.wellFormedQuery).Post("/auth/refresh", s.refresh)

		// Authentication is chained per route (not on a sub-router), so an
		// unknown path or method answers 404 or 405 before asking who calls.
		authed := r.With(s.authenticate)
		r.With(s.authenticateReading("collaborator", false), s.wellFormedQuery).Get("/me", s.me)
		// What a login session may do and a personal access token may not.
		session := authed.With(s.sessionOnly, s.wellFormedQuery)
		session.Post("/auth/logout", s.logout)
		session.Put("/me/password", s.changePassword)
		session.Get("/me/tokens", s.listMyTokens)
		session.Post("/me/tokens", s.createToken)
		session.Delete("/me/tokens/{id}", s.revokeMyToken)
		session.Get("/me/calendar", s.calendarStatus)
		session.Post("/me/calendar", s.createCalendar)
		session.Delete("/me/calendar", s.deleteCalendar)

		can := func(permissions ...service.Permission) chi.Router {
			return authed.With(s.requirePermission(permissions...), s.wellFormedQuery)
		}
		// A GET of one record reads it with the session check.
		reading := func(what string, permission service.Permission) chi.Router {
			return r.With(s.authenticateReading(what, true), s.requirePermission(permission), s.wellFormedQuery)
		}
		can(service.PermCollaboratorRead).Get("/collaborators", s.listCollaborators)
		can(service.PermCollaboratorCreate).With(s.idempotent).Post("/collaborators", s.createCollaborator)
		reading("collaborator", service.PermCollaboratorRead).Get("/collaborators/{id}", s.getCollaborator)
		can(service.PermCollaboratorUpdate).Patch("/collaborators/{id}", s.updateCollaborator)
		can(service.PermCollaboratorDelete).Delete("/collaborators/{id}", s.deleteCollaborator)

		can(service.PermClientRead).Get("/clients", s.listClients)
		can(service.PermClientCreate).With(s.idempotent).Post("/clients", s.createClient)
		reading("client", service.PermClientRead).Get("/clients/{id}", s.getClient)
		can(service.PermClientUpdateOwn, service.PermClientReassign).Patch("/clients/{id}", s.updateClient)

		can(service.PermContractRead).Get("/contracts", s.listContracts)
		can(service.PermContractCreate).With(s.idempotent).Post("/contracts", s.createContract)
		reading("contract", service.PermContractRead).Get("/contracts/{id}", s.getContract)
		can(service.PermContractUpdate, service.PermContractUpdateOwn).Patch("/contracts/{id}", s.updateContract)

		can(service.PermEventRead).Get("/events", s.listEvents)
		can(service.PermEventCreateOwn).With(s.idempotent).Post("/events", s.createEvent)
		reading("event", service.PermEventRead).Get("/events/{id}", s.getEvent)
		can(service.PermEventUpdate, service.PermEventUpdateAssign, service.PermEventAssignSupport).Patch("/events/{id}", s.updateEvent)

		manageTokens := authed.With(s.requirePermission(service.PermCollaboratorUpdate), s.sessionOnly, s.wellFormedQuery)
		manageTokens.Get("/collaborators/{id}/tokens", s.listTokensOf)
		manageTokens.Delete("/collaborators/{id}/tokens/{token_id}", s.revokeTokenOf)

		can(service.PermAuditRead).Get("/collaborators/{id}/history", s.history(service.RecordCollaborator))
		can(service.PermAuditRead).Get("/clients/{id}/history", s.history(service.RecordClient))
		can(service.PermAuditRead).Get("/contracts/{id}/history", s.history(service.RecordContract))
		can(service.PermAuditRead).Get("/events/{id}/history", s.history(service.RecordEvent))

		can(service.PermChangeRead).Get("/changes", s.listChanges)
		can(service.PermChangeRead).Get("/changes/head", s.changesHead)
		can(service.PermChangeRead).Get("/changes/stream", s.streamChanges)

		hooks := can(service.PermWebhookManage)
		hooks.Get("/webhooks", s.listWebhooks)
		hooks.Post("/webhooks", s.createWebhook)
		hooks.Get("/webhooks/{id}", s.getWebhook)
		hooks.Patch("/webhooks/{id}", s.updateWebhook)
		hooks.Delete("/webhooks/{id}", s.deleteWebhook)
		hooks.Get("/webhooks/{id}/history", s.history(service.RecordWebhook))
		hooks.Post("/webhooks/{id}/rotate-secret", s.rotateWebhookSecret)
		hooks.Post("/webhooks/{id}/ping", s.pingWebhook)
		hooks.Get("/webhooks/{id}/deliveries", s.listDeliveries)
		hooks.Post("/webhooks/{id}/deliveries/{delivery_id}/retry", s.retryDelivery)
	})

	// The path is the credential of a calendar feed: no Authorization,
	// and logs name the route's pattern, never the path.
	r.With(s.wellFormedQuery).Get("/calendar/{token}.ics", s.calendarFeed)
	return r
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, service.Errorf(service.CodeNotFound, "No resource lives at this path."))
}

// methodNotAllowed lists in Allow the methods the path does answer.
func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if s.router.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead)
			}
		}
	}
	// One field line: clients reading a single header value see them all.
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.writeError(w, r, service.Errorf(service.CodeMethodNotAllowed, "This path does not answer %s.", r.Method))
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
}

// metrics is the configured metrics handler, or an empty exposition: a
// router built without metrics still answers the documented route.
func (s *server) metrics() http.Handler {
	if s.cfg.Metrics != nil {
		return s.cfg.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", "0") // for HEAD too
		w.WriteHeader(http.StatusOK)
	})
}

// corsHandler lets browser front ends on the listed origins call the API
// with bearer tokens (no cookies, so no credentials mode), and read the
// headers they need.
func corsHandler(origins []string) func(http.Handler) http.Handler {
	return cors.Handler(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "If-Match", "Idempotency-Key", "If-None-Match", "Last-Event-ID"},
		ExposedHeaders: []string{"ETag", "Location", "Retry-After", "X-Request-Id"},
		MaxAge:         600,
	})
}
