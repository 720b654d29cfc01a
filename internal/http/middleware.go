package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"epicevents/internal/service"
)

type ctxKey int

const (
	requestInfoKey ctxKey = iota
	callerKey
)

// requestInfo is shared by the middlewares of one request: the outer
// logger reads what inner ones learned (the caller, a failure).
type requestInfo struct {
	id             string
	collaboratorID string
	err            error
	// clientGone is set when the client hung up before its answer.
	clientGone bool
	// attrs join the request's log line (ids and prefixes, never secrets).
	attrs []slog.Attr
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

func callerFrom(ctx context.Context) service.Caller {
	c, _ := ctx.Value(callerKey).(service.Caller)
	return c
}

// A request id sent by a client or a proxy is kept when it is short and
// plain, so it cannot inject anything into logs.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// observe gives the request its id, a deadline, panic recovery and one log
// line at the end.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		info := &requestInfo{id: id}
		w.Header().Set("X-Request-Id", id)
		base := context.WithValue(r.Context(), requestInfoKey, info)
		ctx, cancel := context.WithTimeout(base, s.cfg.RequestTimeout)
		if heldRequest(r) {
			// Held until a change or the wait's end; every read of it
			// still has the timeout.
			cancel()
			ctx, cancel = context.WithCancel(base)
		}
		defer cancel()
		r = r.WithContext(ctx)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)

		panicked := false
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				panicked = true
				err := fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				if ww.Status() == 0 {
					s.writeError(ww, r, err)
				} else {
					info.err = err
				}
			}
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			status := ww.Status()
			switch {
			case info.clientGone:
				status = statusClientClosedRequest
			case status == 0:
				status = http.StatusOK
			}
			// One line per request; a failure's details join it rather
			// than making a second line.
			level := slog.LevelInfo
			attrs := make([]slog.Attr, 0, 9+len(info.attrs))
			attrs = append(attrs, slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", id), slog.String("collaborator_id", info.collaboratorID),
				slog.Int("bytes", ww.BytesWritten()))
			attrs = append(attrs, info.attrs...)
			if info.err != nil {
				// A database that is away is an outage to watch, not a bug:
				// every request during it says so, at WARN.
				level = slog.LevelError
				if status == http.StatusServiceUnavailable {
					level = slog.LevelWarn
				}
				attrs = append(attrs, slog.String("error", info.err.Error()))
			}
			s.log.LogAttrs(ctx, level, "request", attrs...)
			if s.cfg.Observe != nil {
				s.cfg.Observe(RequestRecord{Method: r.Method, Route: route, Status: status,
					Duration: time.Since(start), RequestID: id, CollaboratorID: info.collaboratorID, Err: info.err, Panic: panicked})
			}
		}()
		next.ServeHTTP(ww, r)
	})
}

// statusClientClosedRequest is how logs and metrics count a request whose
// client went away before its answer (nginx's convention).
const statusClientClosedRequest = 499

// RequestRecord describes a finished request, for metrics and error
// reporting.
type RequestRecord struct {
	Method, Route  string
	Status         int
	Duration       time.Duration
	RequestID      string
	CollaboratorID string
	// Err is the internal error behind a 5xx answer, if any.
	Err error
	// Panic is set when the handler panicked (Err then holds the value and
	// the stack).
	Panic bool
}

// authenticate requires a valid access token and puts the caller in the
// context.
func (s *server) authenticate(next http.Handler) http.Handler {
	return s.authenticateWith(next, func(r *http.Request, token, requestID string) (service.Caller, context.Context, error) {
		caller, err := s.checkCredential(r.Context(), token, requestID)
		return caller, r.Context(), err
	})
}

// authenticateReading is authenticate for a GET of one record of a kind
// (see AuthService.AuthenticateAndRead): the {id} of the path, or the
// caller's own record when byPath is false. The session check (or a
// personal access token's, for a record the path names) and the read share
// one round trip.
func (s *server) authenticateReading(what string, byPath bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return s.authenticateWith(next, func(r *http.Request, token, requestID string) (service.Caller, context.Context, error) {
			if service.IsPersonalAccessToken(token) {
				if !byPath { // the token's owner is known only once it is checked
					caller, err := s.cfg.Tokens.Authenticate(r.Context(), token, requestID)
					return caller, r.Context(), err
				}
				return s.cfg.Tokens.AuthenticateAndRead(r.Context(), token, requestID, what, chi.URLParam(r, "id"))
			}
			return s.cfg.Auth.AuthenticateAndRead(r.Context(), token, requestID, what, func(self uuid.UUID) string {
				if byPath {
					return chi.URLParam(r, "id")
				}
				return self.String()
			})
		})
	}
}

// checkCredential resolves a bearer credential to its caller as the
// database sees them now: a personal access token by its digest, an
// access token with its session.
func (s *server) checkCredential(ctx context.Context, token, requestID string) (service.Caller, error) {
	if service.IsPersonalAccessToken(token) {
		return s.cfg.Tokens.Authenticate(ctx, token, requestID)
	}
	return s.cfg.Auth.Authenticate(ctx, token, requestID)
}

func (s *server) authenticateWith(next http.Handler, check func(r *http.Request, token, requestID string) (service.Caller, context.Context, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			s.writeError(w, r, service.Errorf(service.CodeUnauthenticated, "Send an access token as 'Authorization: Bearer <token>'."))
			return
		}
		info := requestInfoFrom(r.Context())
		caller, ctx, err := check(r, token, info.id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		info.collaboratorID = caller.ID.String()
		if caller.ViaToken() {
			info.attrs = append(info.attrs, slog.String("token_id", caller.TokenID.String()))
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callerKey, caller)))
	})
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// requirePermission opens a route to callers holding any of the
// permissions; the service then checks scope (own, assigned) and fields.
func (s *server) requirePermission(permissions ...service.Permission) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !callerFrom(r.Context()).CanAny(permissions...) {
				s.writeError(w, r, service.Errorf(service.CodeForbidden,
					"Your department may not do this (needs %s).", joinPermissions(permissions)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// sessionOnly closes a route to personal access tokens: managing tokens
// and calendar feeds, changing a password and logging out need a login
// session, so a leaked token cannot entrench itself.
func (s *server) sessionOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if callerFrom(r.Context()).ViaToken() {
			s.writeError(w, r, service.Errorf(service.CodeForbidden,
				"This needs a login session: a personal access token cannot manage tokens or calendar feeds, change a password or log out."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// commonHeaders tells browsers never to guess a content type other than
// the declared one, on every answer of the server.
func commonHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// headWithoutBody answers HEAD with GET's status and headers and no body,
// whatever writer the handler is given; the headers (Content-Length
// included) are set before the body is thrown away.
func headWithoutBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w = bodyless{w}
		}
		next.ServeHTTP(w, r)
	})
}

type bodyless struct{ http.ResponseWriter }

func (b bodyless) Write(p []byte) (int, error) { return len(p), nil }

func (b bodyless) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func joinPermissions(permissions []service.Permission) string {
	return strings.Join(service.Strings(permissions), " or ")
}

// apiHeaders marks API answers as private.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
