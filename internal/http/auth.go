package http

import (
	"net/http"

	"epicevents/internal/service"
)

type loginRequest struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

type tokenJSON struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
}

func toTokenJSON(p service.TokenPair) tokenJSON {
	return tokenJSON{
		AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: int(p.ExpiresIn.Seconds()),
		RefreshToken: p.RefreshToken, RefreshExpiresIn: int(p.RefreshExpiresIn.Seconds()),
	}
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pair, err := s.cfg.Auth.Login(r.Context(), service.LoginInput{
		Unreadable: unreadable,
		Login:      deref(req.Username), Password: deref(req.Password), ClientAddr: s.clientAddrOf(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTokenJSON(pair))
}

type refreshRequest struct {
	RefreshToken *string `json:"refresh_token"`
}

func (s *server) refresh(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pair, err := s.cfg.Auth.Refresh(r.Context(), service.RefreshInput{Unreadable: unreadable, RefreshToken: deref(req.RefreshToken)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTokenJSON(pair))
}

type changePasswordRequest struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	var req changePasswordRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = s.cfg.Auth.ChangePassword(r.Context(), callerFrom(r.Context()), service.ChangePasswordInput{
		Unreadable:      unreadable,
		CurrentPassword: deref(req.CurrentPassword), NewPassword: deref(req.NewPassword),
		ClientAddr: s.clientAddrOf(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Auth.Logout(r.Context(), callerFrom(r.Context())); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type meJSON struct {
	collaboratorJSON
	Permissions []string `json:"permissions"`
}

func (s *server) me(w http.ResponseWriter, r *http.Request) {
	c, perms, err := s.cfg.Collaborators.Me(r.Context(), callerFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, meJSON{collaboratorJSON: toCollaboratorJSON(c), Permissions: perms})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
