package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"epicevents/internal/service"
)

type webhookJSON struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Types          []string  `json:"types"`
	Description    string    `json:"description"`
	IsActive       bool      `json:"is_active"`
	DisabledReason *string   `json:"disabled_reason"`
	Version        int32     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

type createdWebhookJSON struct {
	webhookJSON
	Secret string `json:"secret"`
}

func toWebhookJSON(h service.Webhook) webhookJSON {
	return webhookJSON{
		ID: h.ID.String(), URL: h.URL, Types: service.Strings(h.Types), Description: h.Description, IsActive: h.IsActive,
		DisabledReason: h.DisabledReason, Version: h.Version, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
	}
}

type webhookRequest struct {
	URL         *string   `json:"url"`
	Types       *[]string `json:"types"`
	Description *string   `json:"description"`
	IsActive    *bool     `json:"is_active"`
}

// webhookTypes parses the optional types member.
func webhookTypes(p *fieldParser, raw *[]string) *[]service.ChangeType {
	if raw == nil || p.named["types"] {
		return nil
	}
	v := required(p, "types", raw, service.ParseWebhookTypes)
	return &v
}

func (s *server) parseCreateWebhook(req webhookRequest, found []service.FieldError) (service.CreateWebhookInput, error) {
	p := newFieldParser(found)
	if req.IsActive != nil {
		p.fail("is_active", "cannot be set at creation; a new webhook is active")
	}
	in := service.CreateWebhookInput{
		URL:         required(p, "url", req.URL, service.ParseWebhookURL(s.cfg.Webhooks.Guard())),
		Types:       or(webhookTypes(p, req.Types), []service.ChangeType{}),
		Description: or(optional(p, "description", req.Description, service.Text(0, 500)), ""),
	}
	return in, p.err()
}

func (s *server) parseUpdateWebhook(req webhookRequest, found []service.FieldError) (service.UpdateWebhookInput, error) {
	p := newFieldParser(found)
	in := service.UpdateWebhookInput{
		URL:         optional(p, "url", req.URL, service.ParseWebhookURL(s.cfg.Webhooks.Guard())),
		Types:       webhookTypes(p, req.Types),
		Description: optional(p, "description", req.Description, service.Text(0, 500)),
	}
	if !p.named["is_active"] {
		in.IsActive = req.IsActive
	}
	return in, p.err()
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, s.parseCreateWebhook)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h, err := s.cfg.Webhooks.Create(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+h.ID.String())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusCreated, createdWebhookJSON{webhookJSON: toWebhookJSON(h.Webhook), Secret: h.Secret})
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r)
	page := q.page()
	page.Unreadable = q.found()
	hooks, err := s.cfg.Webhooks.List(r.Context(), callerFrom(r.Context()), page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(hooks.Items, hooks.NextCursor, toWebhookJSON))
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) {
	h, err := s.cfg.Webhooks.Get(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, h.Version, toWebhookJSON(h))
}

func (s *server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, s.parseUpdateWebhook)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h, err := s.cfg.Webhooks.Update(r.Context(), callerFrom(r.Context()), pathID(r), in, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, h.Version, toWebhookJSON(h))
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Webhooks.Delete(r.Context(), callerFrom(r.Context()), pathID(r), parseIfMatch(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type secretJSON struct {
	Secret string `json:"secret"`
}

func (s *server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	secret, err := s.cfg.Webhooks.RotateSecret(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, secretJSON{Secret: secret})
}

// RenderChange renders a change as the feed shows it, for a webhook
// delivery's body.
func RenderChange(c service.FeedChange) ([]byte, error) {
	return json.Marshal(toFeedChangeJSON(c))
}

type deliveryJSON struct {
	ID                 string     `json:"id"`
	ChangeID           *string    `json:"change_id"`
	Type               string     `json:"type"`
	Status             string     `json:"status"`
	Attempts           int32      `json:"attempts"`
	LastResponseStatus *int32     `json:"last_response_status"`
	LastError          *string    `json:"last_error"`
	NextAttemptAt      *time.Time `json:"next_attempt_at"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

func toDeliveryJSON(d service.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID.String(), Type: d.Type, Status: d.Status, Attempts: d.Attempts,
		LastResponseStatus: d.LastResponseStatus, LastError: d.LastError, NextAttemptAt: d.NextAttemptAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.ChangeID != nil {
		id := d.ChangeID.String()
		out.ChangeID = &id
	}
	return out
}

func (s *server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r)
	page := q.page()
	page.Unreadable = q.found()
	deliveries, err := s.cfg.Webhooks.Deliveries(r.Context(), callerFrom(r.Context()), pathID(r), page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(deliveries.Items, deliveries.NextCursor, toDeliveryJSON))
}

func (s *server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Webhooks.Retry(r.Context(), callerFrom(r.Context()), pathID(r), service.PathID(chi.URLParam(r, "delivery_id")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusAccepted, toDeliveryJSON(d))
}

func (s *server) pingWebhook(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Webhooks.Ping(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusAccepted, toDeliveryJSON(d))
}
