package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"epicevents/internal/service"
)

type collaboratorJSON struct {
	ID             string     `json:"id"`
	EmployeeNumber int        `json:"employee_number"`
	FirstName      string     `json:"first_name"`
	LastName       string     `json:"last_name"`
	FullName       string     `json:"full_name"`
	Email          string     `json:"email"`
	Username       string     `json:"username"`
	Department     string     `json:"department"`
	IsActive       bool       `json:"is_active"`
	DeletedAt      *time.Time `json:"deleted_at"`
	Version        int32      `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toCollaboratorJSON(c service.Collaborator) collaboratorJSON {
	return collaboratorJSON{
		ID: c.ID.String(), EmployeeNumber: c.EmployeeNumber, FirstName: c.FirstName, LastName: c.LastName,
		FullName: c.FullName(), Email: c.Email, Username: c.Username, Department: string(c.Department),
		IsActive: c.IsActive, DeletedAt: c.DeletedAt, Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

type createCollaboratorRequest struct {
	EmployeeNumber *int    `json:"employee_number"`
	FirstName      *string `json:"first_name"`
	LastName       *string `json:"last_name"`
	Email          *string `json:"email"`
	Username       *string `json:"username"`
	Department     *string `json:"department"`
	Password       *string `json:"password"`
}

func parseCreateCollaborator(req createCollaboratorRequest, found []service.FieldError) (service.CreateCollaboratorInput, error) {
	p := newFieldParser(found)
	in := service.CreateCollaboratorInput{
		EmployeeNumber: p.requiredInt("employee_number", req.EmployeeNumber, 1, service.MaxEmployeeNumber),
		FirstName:      required(p, "first_name", req.FirstName, service.ParsePersonName),
		LastName:       required(p, "last_name", req.LastName, service.ParsePersonName),
		Email:          required(p, "email", req.Email, service.ParseEmail),
		Username:       required(p, "username", req.Username, service.ParseUsername),
		Department:     required(p, "department", req.Department, service.ParseDepartment),
		Password:       required(p, "password", req.Password, service.ParseNewPassword),
	}
	return in, p.err()
}

func (s *server) createCollaborator(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseCreateCollaborator)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Collaborators.Create(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/collaborators/"+c.ID.String())
	writeResource(w, r, http.StatusCreated, c.Version, toCollaboratorJSON(c))
}

func (s *server) getCollaborator(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Collaborators.Get(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toCollaboratorJSON(c))
}

func (s *server) listCollaborators(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "department", "active", "q")
	in := service.ListCollaboratorsInput{
		PageInput: q.page(),
		Active:    q.boolean("active"),
		Q:         q.text("q"),
	}
	if v := q.raw("department"); v != nil && *v == "" {
		q.p.fail("department", "must not be empty")
	} else {
		in.Department = optional(q.p, "department", v, service.ParseDepartment)
	}
	in.Unreadable = q.found()
	page, err := s.cfg.Collaborators.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(page.Items, page.NextCursor, toCollaboratorJSON))
}

type updateCollaboratorRequest struct {
	createCollaboratorRequest
	IsActive   *bool   `json:"is_active"`
	ReassignTo *string `json:"reassign_to"`
}

func parseUpdateCollaborator(req updateCollaboratorRequest, found []service.FieldError) (service.UpdateCollaboratorInput, error) {
	p := newFieldParser(found)
	in := service.UpdateCollaboratorInput{
		EmployeeNumber: p.intIn("employee_number", req.EmployeeNumber, 1, service.MaxEmployeeNumber),
		FirstName:      optional(p, "first_name", req.FirstName, service.ParsePersonName),
		LastName:       optional(p, "last_name", req.LastName, service.ParsePersonName),
		Email:          optional(p, "email", req.Email, service.ParseEmail),
		Username:       optional(p, "username", req.Username, service.ParseUsername),
		Department:     optional(p, "department", req.Department, service.ParseDepartment),
		Password:       optional(p, "password", req.Password, service.ParseNewPassword),
		IsActive:       req.IsActive,
		ReassignTo:     p.id("reassign_to", req.ReassignTo),
	}
	return in, p.err()
}

func (s *server) updateCollaborator(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseUpdateCollaborator)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Collaborators.Update(r.Context(), callerFrom(r.Context()), pathID(r), in, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toCollaboratorJSON(c))
}

func (s *server) deleteCollaborator(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "reassign_to")
	reassignTo := q.id("reassign_to")
	if err := q.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.cfg.Collaborators.Delete(r.Context(), callerFrom(r.Context()), pathID(r), reassignTo, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pathID is the record id the path names; one that is not a UUID names no
// record, which the service answers with 404 in the contract's order.
func pathID(r *http.Request) uuid.UUID {
	return service.PathID(chi.URLParam(r, "id"))
}
