package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"epicevents/internal/service"
)

type collaboratorRefJSON struct {
	ID       string `json:"id"`
	FullName string `json:"full_name"`
}

func toCollaboratorRefJSON(c service.CollaboratorRef) collaboratorRefJSON {
	return collaboratorRefJSON{ID: c.ID.String(), FullName: c.FullName}
}

type clientJSON struct {
	ID             string              `json:"id"`
	FullName       string              `json:"full_name"`
	Email          string              `json:"email"`
	Phone          string              `json:"phone"`
	CompanyName    string              `json:"company_name"`
	Commercial     collaboratorRefJSON `json:"commercial"`
	FirstContactAt time.Time           `json:"first_contact_at"`
	LastContactAt  time.Time           `json:"last_contact_at"`
	Version        int32               `json:"version"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
}

func toClientJSON(c service.Client) clientJSON {
	return clientJSON{
		ID: c.ID.String(), FullName: c.FullName, Email: c.Email, Phone: c.Phone, CompanyName: c.CompanyName,
		Commercial:     toCollaboratorRefJSON(c.Commercial),
		FirstContactAt: c.FirstContactAt, LastContactAt: c.LastContactAt,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// Instants are decoded as strings: the service reads them, and refuses
// those without an offset.
type clientRequest struct {
	FullName       *string `json:"full_name"`
	Email          *string `json:"email"`
	Phone          *string `json:"phone"`
	CompanyName    *string `json:"company_name"`
	FirstContactAt *string `json:"first_contact_at"`
	LastContactAt  *string `json:"last_contact_at"`
}

func (s *server) createClient(w http.ResponseWriter, r *http.Request) {
	var req clientRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Clients.Create(r.Context(), callerFrom(r.Context()), service.CreateClientInput{
		Unreadable: unreadable,
		FullName:   deref(req.FullName), Email: deref(req.Email), Phone: deref(req.Phone),
		CompanyName: deref(req.CompanyName), FirstContactAt: req.FirstContactAt, LastContactAt: req.LastContactAt,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/clients/"+c.ID.String())
	writeResource(w, http.StatusCreated, c.Version, toClientJSON(c))
}

func (s *server) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Clients.Get(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toClientJSON(c))
}

type updateClientRequest struct {
	clientRequest
	CommercialID *string `json:"commercial_id"`
}

func (s *server) updateClient(w http.ResponseWriter, r *http.Request) {
	var req updateClientRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Clients.Update(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"), service.UpdateClientInput{
		Unreadable: unreadable,
		FullName:   req.FullName, Email: req.Email, Phone: req.Phone, CompanyName: req.CompanyName,
		FirstContactAt: req.FirstContactAt, LastContactAt: req.LastContactAt, CommercialID: req.CommercialID,
	}, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toClientJSON(c))
}

func (s *server) listClients(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "commercial", "q")
	in := service.ListClientsInput{
		PageInput:  q.page(),
		Commercial: q.nonEmpty("commercial"),
		Q:          q.str("q"),
	}
	in.Unreadable = q.unreadable()
	page, err := s.cfg.Clients.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page.Items, page.NextCursor, toClientJSON))
}
