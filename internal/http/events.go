package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

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

const maxAttendees = 100000

func parseCreateEvent(req createEventRequest, found []service.FieldError) (service.CreateEventInput, error) {
	p := newFieldParser(found)
	in := service.CreateEventInput{
		ContractID: required(p, "contract_id", req.ContractID, service.ParseID),
		Name:       required(p, "name", req.Name, service.Text(1, 200)),
		StartAt:    required(p, "start_at", req.StartAt, service.ParseInstant),
		EndAt:      required(p, "end_at", req.EndAt, service.ParseInstant),
		Location:   required(p, "location", req.Location, service.MultilineText(500)),
		Attendees:  p.requiredInt("attendees", req.Attendees, 0, maxAttendees),
		Timezone:   or(optional(p, "timezone", req.Timezone, service.ParseTimezone), service.DefaultTimezone),
		Notes:      or(optional(p, "notes", req.Notes, service.MultilineText(5000)), ""),
	}
	return in, p.err()
}

func (s *server) createEvent(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseCreateEvent)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.cfg.Events.Create(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/events/"+e.ID.String())
	writeResource(w, r, http.StatusCreated, e.Version, toEventJSON(e))
}

func (s *server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Events.Get(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, e.Version, toEventJSON(e))
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

func parseUpdateEvent(req updateEventRequest, found []service.FieldError) (service.UpdateEventInput, error) {
	p := newFieldParser(found)
	in := service.UpdateEventInput{
		Name:         optional(p, "name", req.Name, service.Text(1, 200)),
		StartAt:      optional(p, "start_at", req.StartAt, service.ParseInstant),
		EndAt:        optional(p, "end_at", req.EndAt, service.ParseInstant),
		Location:     optional(p, "location", req.Location, service.MultilineText(500)),
		Attendees:    p.intIn("attendees", req.Attendees, 0, maxAttendees),
		Timezone:     optional(p, "timezone", req.Timezone, service.ParseTimezone),
		Notes:        optional(p, "notes", req.Notes, service.MultilineText(5000)),
		SupportIDSet: req.SupportID.Set,
		SupportID:    p.id("support_id", req.SupportID.Value),
	}
	return in, p.err()
}

func (s *server) updateEvent(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseUpdateEvent)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.cfg.Events.Update(r.Context(), callerFrom(r.Context()), pathID(r), in, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, e.Version, toEventJSON(e))
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	caller := callerFrom(r.Context())
	q := newQueryReader(r, "contract_id", "client_id", "commercial", "support", "starts_after", "starts_before")
	in := service.ListEventsInput{
		PageInput:    q.page(),
		ContractID:   q.id("contract_id"),
		ClientID:     q.id("client_id"),
		Commercial:   q.collaborator("commercial", caller, false).ID,
		Support:      q.collaborator("support", caller, true),
		StartsAfter:  q.instant("starts_after"),
		StartsBefore: q.instant("starts_before"),
	}
	in.Unreadable = q.found()
	page, err := s.cfg.Events.List(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(page.Items, page.NextCursor, toEventJSON))
}
