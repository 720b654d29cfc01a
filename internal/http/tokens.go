package http

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"epicevents/internal/service"
)

type personalTokenJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`
	TokenPrefix string     `json:"token_prefix"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

type createdTokenJSON struct {
	personalTokenJSON
	Token string `json:"token"`
}

func toPersonalTokenJSON(t service.PersonalAccessToken) personalTokenJSON {
	return personalTokenJSON{
		ID: t.ID.String(), Name: t.Name, Scopes: service.Strings(t.Scopes), TokenPrefix: t.Prefix,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt,
	}
}

type createTokenRequest struct {
	Name          *string   `json:"name"`
	Scopes        *[]string `json:"scopes"`
	ExpiresInDays *int      `json:"expires_in_days"`
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	found, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	caller := callerFrom(r.Context())
	p := newFieldParser(found)
	in := service.CreateTokenInput{
		Name:   required(p, "name", req.Name, service.Text(1, 100)),
		Scopes: required(p, "scopes", req.Scopes, service.ParseScopes(caller.Permissions)),
		ExpiresInDays: or(p.intIn("expires_in_days", req.ExpiresInDays, 1, service.MaxTokenExpiryDays),
			service.DefaultTokenExpiryDays),
	}
	if err := p.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.cfg.Tokens.Create(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	logToken(r, "created", t.PersonalAccessToken)
	w.Header().Set("Location", "/v1/me/tokens/"+t.ID.String())
	writeJSON(w, r, http.StatusCreated, createdTokenJSON{personalTokenJSON: toPersonalTokenJSON(t.PersonalAccessToken), Token: t.Token})
}

// logToken puts a token's id, prefix and owner on the request's log line
// (its actor is the line's collaborator_id); never the token.
func logToken(r *http.Request, action string, t service.PersonalAccessToken) {
	info := requestInfoFrom(r.Context())
	info.attrs = append(info.attrs, slog.String("token_action", action), slog.String("token_id", t.ID.String()),
		slog.String("token_prefix", t.Prefix), slog.String("token_owner_id", t.OwnerID.String()))
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request, owner uuid.UUID) {
	q := newQueryReader(r)
	page := q.page()
	page.Unreadable = q.found()
	tokens, err := s.cfg.Tokens.List(r.Context(), callerFrom(r.Context()), owner, page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(tokens.Items, tokens.NextCursor, toPersonalTokenJSON))
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, owner, token uuid.UUID) {
	t, err := s.cfg.Tokens.Revoke(r.Context(), callerFrom(r.Context()), owner, token)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	logToken(r, "revoked", t)
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) listMyTokens(w http.ResponseWriter, r *http.Request) {
	s.listTokens(w, r, callerFrom(r.Context()).ID)
}

func (s *server) revokeMyToken(w http.ResponseWriter, r *http.Request) {
	s.revokeToken(w, r, callerFrom(r.Context()).ID, pathID(r))
}

func (s *server) listTokensOf(w http.ResponseWriter, r *http.Request) {
	s.listTokens(w, r, pathID(r))
}

func (s *server) revokeTokenOf(w http.ResponseWriter, r *http.Request) {
	s.revokeToken(w, r, pathID(r), service.PathID(chi.URLParam(r, "token_id")))
}
