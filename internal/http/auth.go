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

func parseLogin(req loginRequest, found []service.FieldError) (service.LoginInput, error) {
	p := newFieldParser(found)
	in := service.LoginInput{
		Login:    required(p, "username", req.Username, service.Text(1, 254)),
		Password: required(p, "password", req.Password, service.ParseSecret),
	}
	return in, p.err()
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseLogin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in.ClientAddr = s.clientAddrOf(r)
	pair, err := s.cfg.Auth.Login(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, toTokenJSON(pair))
}

type refreshRequest struct {
	RefreshToken *string `json:"refresh_token"`
}

func parseRefresh(req refreshRequest, found []service.FieldError) (service.RefreshInput, error) {
	p := newFieldParser(found)
	in := service.RefreshInput{RefreshToken: required(p, "refresh_token", req.RefreshToken, service.ParseSecret)}
	return in, p.err()
}

func (s *server) refresh(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseRefresh)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pair, err := s.cfg.Auth.Refresh(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, toTokenJSON(pair))
}

type changePasswordRequest struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

func parseChangePassword(req changePasswordRequest, found []service.FieldError) (service.ChangePasswordInput, error) {
	p := newFieldParser(found)
	in := service.ChangePasswordInput{
		CurrentPassword: required(p, "current_password", req.CurrentPassword, service.ParseSecret),
		NewPassword:     required(p, "new_password", req.NewPassword, service.ParseNewPassword),
	}
	return in, p.err()
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseChangePassword)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in.ClientAddr = s.clientAddrOf(r)
	if err := s.cfg.Auth.ChangePassword(r.Context(), callerFrom(r.Context()), in); err != nil {
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
	writeResource(w, r, http.StatusOK, c.Version, meJSON{collaboratorJSON: toCollaboratorJSON(c), Permissions: service.Strings(perms)})
}
