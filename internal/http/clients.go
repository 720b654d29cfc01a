package http

import (
	"net/http"
	"time"

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

// The request's members are pointers: absent is nil. Every one is parsed
// into its typed value by parseClient* before the service sees it.
type clientRequest struct {
	FullName       *string `json:"full_name"`
	Email          *string `json:"email"`
	Phone          *string `json:"phone"`
	CompanyName    *string `json:"company_name"`
	FirstContactAt *string `json:"first_contact_at"`
	LastContactAt  *string `json:"last_contact_at"`
}

func parseCreateClient(req clientRequest, found []service.FieldError) (service.CreateClientInput, error) {
	p := newFieldParser(found)
	in := service.CreateClientInput{
		FullName:       required(p, "full_name", req.FullName, service.Text(1, 200)),
		Email:          required(p, "email", req.Email, service.ParseEmail),
		Phone:          required(p, "phone", req.Phone, service.ParsePhone),
		CompanyName:    or(optional(p, "company_name", req.CompanyName, service.Text(0, 200)), ""),
		FirstContactAt: optional(p, "first_contact_at", req.FirstContactAt, service.ParseInstant),
		LastContactAt:  optional(p, "last_contact_at", req.LastContactAt, service.ParseInstant),
	}
	return in, p.err()
}

func (s *server) createClient(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseCreateClient)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Clients.Create(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/clients/"+c.ID.String())
	writeResource(w, r, http.StatusCreated, c.Version, toClientJSON(c))
}

func (s *server) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Clients.Get(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toClientJSON(c))
}

type updateClientRequest struct {
	clientRequest
	CommercialID *string `json:"commercial_id"`
}

func parseUpdateClient(req updateClientRequest, found []service.FieldError) (service.UpdateClientInput, error) {
	p := newFieldParser(found)
	in := service.UpdateClientInput{
		FullName:       optional(p, "full_name", req.FullName, service.Text(1, 200)),
		Email:          optional(p, "email", req.Email, service.ParseEmail),
		Phone:          optional(p, "phone", req.Phone, service.ParsePhone),
		CompanyName:    optional(p, "company_name", req.CompanyName, service.Text(0, 200)),
		FirstContactAt: optional(p, "first_contact_at", req.FirstContactAt, service.ParseInstant),
		LastContactAt:  optional(p, "last_contact_at", req.LastContactAt, service.ParseInstant),
		CommercialID:   p.id("commercial_id", req.CommercialID),
	}
	return in, p.err()
}

func (s *server) updateClient(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseUpdateClient)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Clients.Update(r.Context(), callerFrom(r.Context()), pathID(r), in, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toClientJSON(c))
}

func (s *server) listClients(w http.ResponseWriter, r *http.Request) {
	caller := callerFrom(r.Context())
	q := newQueryReader(r, "commercial", "q")
	in := service.ListClientsInput{
		PageInput:  q.page(),
		Commercial: q.collaborator("commercial", caller, false).ID,
		Q:          q.text("q"),
	}
	in.Unreadable = q.found()
	page, err := s.cfg.Clients.List(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(page.Items, page.NextCursor, toClientJSON))
}
