package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

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
		FullName: c.FullName(), Email: c.Email, Username: c.Username, Department: c.Department,
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

func (s *server) createCollaborator(w http.ResponseWriter, r *http.Request) {
	var req createCollaboratorRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Collaborators.Create(r.Context(), callerFrom(r.Context()), service.CreateCollaboratorInput{
		Unreadable:     unreadable,
		EmployeeNumber: req.EmployeeNumber, FirstName: deref(req.FirstName), LastName: deref(req.LastName),
		Email: deref(req.Email), Username: deref(req.Username), Department: deref(req.Department),
		Password: req.Password,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/collaborators/"+c.ID.String())
	writeResource(w, http.StatusCreated, c.Version, toCollaboratorJSON(c))
}

func (s *server) getCollaborator(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Collaborators.Get(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toCollaboratorJSON(c))
}

func (s *server) listCollaborators(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "department", "active", "q")
	in := service.ListCollaboratorsInput{
		PageInput:  q.page(),
		Department: q.nonEmpty("department"),
		Active:     q.boolean("active"),
		Q:          q.str("q"),
	}
	in.Unreadable = q.unreadable()
	page, err := s.cfg.Collaborators.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page.Items, page.NextCursor, toCollaboratorJSON))
}

type updateCollaboratorRequest struct {
	createCollaboratorRequest
	IsActive   *bool   `json:"is_active"`
	ReassignTo *string `json:"reassign_to"`
}

func (s *server) updateCollaborator(w http.ResponseWriter, r *http.Request) {
	var req updateCollaboratorRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch := parseIfMatch(r)
	c, err := s.cfg.Collaborators.Update(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"), service.UpdateCollaboratorInput{
		Unreadable:     unreadable,
		EmployeeNumber: req.EmployeeNumber, FirstName: req.FirstName, LastName: req.LastName,
		Email: req.Email, Username: req.Username, Department: req.Department, Password: req.Password,
		IsActive: req.IsActive, ReassignTo: req.ReassignTo,
	}, ifMatch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toCollaboratorJSON(c))
}

func (s *server) deleteCollaborator(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "reassign_to")
	reassignTo := q.optionalStr("reassign_to")
	if err := q.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.cfg.Collaborators.Delete(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"), reassignTo, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
