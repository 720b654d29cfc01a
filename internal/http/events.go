package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"epicevents/internal/service"
)

type eventClientJSON struct {
	ID       string `json:"id"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
}

type eventJSON struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	ContractID string               `json:"contract_id"`
	Client     eventClientJSON      `json:"client"`
	Support    *collaboratorRefJSON `json:"support"`
	StartAt    time.Time            `json:"start_at"`
	EndAt      time.Time            `json:"end_at"`
	Timezone   string               `json:"timezone"`
	Location   string               `json:"location"`
	Attendees  int                  `json:"attendees"`
	Notes      string               `json:"notes"`
	Version    int32                `json:"version"`
	CreatedAt  time.Time            `json:"created_at"`
	UpdatedAt  time.Time            `json:"updated_at"`
}

func toEventJSON(e service.Event) eventJSON {
	out := eventJSON{
		ID: e.ID.String(), Name: e.Name, ContractID: e.ContractID.String(),
		Client:  eventClientJSON{ID: e.Client.ID.String(), FullName: e.Client.FullName, Email: e.Client.Email, Phone: e.Client.Phone},
		StartAt: e.StartAt, EndAt: e.EndAt, Timezone: e.Timezone, Location: e.Location,
		Attendees: e.Attendees, Notes: e.Notes, Version: e.Version, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
	if e.Support != nil {
		ref := toCollaboratorRefJSON(*e.Support)
		out.Support = &ref
	}
	return out
}

type eventRequest struct {
	Name      *string `json:"name"`
	StartAt   *string `json:"start_at"`
	EndAt     *string `json:"end_at"`
	Location  *string `json:"location"`
	Attendees *int    `json:"attendees"`
	Timezone  *string `json:"timezone"`
	Notes     *string `json:"notes"`
}

type createEventRequest struct {
	eventRequest
	ContractID *string `json:"contract_id"`
}

func (s *server) createEvent(w http.ResponseWriter, r *http.Request) {
	var req createEventRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.cfg.Events.Create(r.Context(), callerFrom(r.Context()), service.CreateEventInput{
		Unreadable: unreadable,
		ContractID: req.ContractID, Name: deref(req.Name), StartAt: req.StartAt, EndAt: req.EndAt,
		Location: req.Location, Attendees: req.Attendees, Timezone: req.Timezone, Notes: req.Notes,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/events/"+e.ID.String())
	writeResource(w, http.StatusCreated, e.Version, toEventJSON(e))
}

func (s *server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Events.Get(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, e.Version, toEventJSON(e))
}

// nullableString tells an absent member (Set false) from null (Value nil).
type nullableString struct {
	Set   bool
	Value *string
}

func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(bytes.TrimSpace(b)) == "null" {
		n.Value = nil
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

type updateEventRequest struct {
	eventRequest
	SupportID nullableString `json:"support_id"`
}

func (s *server) updateEvent(w http.ResponseWriter, r *http.Request) {
	var req updateEventRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.cfg.Events.Update(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"), service.UpdateEventInput{
		Unreadable: unreadable,
		Name:       req.Name, StartAt: req.StartAt, EndAt: req.EndAt, Location: req.Location,
		Attendees: req.Attendees, Timezone: req.Timezone, Notes: req.Notes,
		SupportIDSet: req.SupportID.Set, SupportID: req.SupportID.Value,
	}, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, e.Version, toEventJSON(e))
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "contract_id", "client_id", "commercial", "support", "starts_after", "starts_before")
	in := service.ListEventsInput{
		PageInput:    q.page(),
		ContractID:   q.nonEmpty("contract_id"),
		ClientID:     q.nonEmpty("client_id"),
		Commercial:   q.nonEmpty("commercial"),
		Support:      q.nonEmpty("support"),
		StartsAfter:  q.instant("starts_after"),
		StartsBefore: q.instant("starts_before"),
	}
	in.Unreadable = q.unreadable()
	page, err := s.cfg.Events.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page.Items, page.NextCursor, toEventJSON))
}
