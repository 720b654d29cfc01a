package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"epicevents/internal/service"
)

type contractClientJSON struct {
	ID          string `json:"id"`
	FullName    string `json:"full_name"`
	CompanyName string `json:"company_name"`
}

type contractJSON struct {
	ID          string              `json:"id"`
	Client      contractClientJSON  `json:"client"`
	Commercial  collaboratorRefJSON `json:"commercial"`
	TotalAmount string              `json:"total_amount"`
	AmountDue   string              `json:"amount_due"`
	Currency    string              `json:"currency"`
	Signed      bool                `json:"signed"`
	SignedAt    *time.Time          `json:"signed_at"`
	Version     int32               `json:"version"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

func toContractJSON(c service.Contract) contractJSON {
	return contractJSON{
		ID:          c.ID.String(),
		Client:      contractClientJSON{ID: c.Client.ID.String(), FullName: c.Client.FullName, CompanyName: c.Client.CompanyName},
		Commercial:  toCollaboratorRefJSON(c.Commercial),
		TotalAmount: c.TotalAmount.String(), AmountDue: c.AmountDue.String(), Currency: c.Currency,
		Signed: c.Signed, SignedAt: c.SignedAt, Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// Amounts are strings in JSON: a number is refused as a wrong type.
type createContractRequest struct {
	ClientID    *string `json:"client_id"`
	TotalAmount *string `json:"total_amount"`
	AmountDue   *string `json:"amount_due"`
	Currency    *string `json:"currency"`
	Signed      *bool   `json:"signed"`
}

func (s *server) createContract(w http.ResponseWriter, r *http.Request) {
	var req createContractRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Contracts.Create(r.Context(), callerFrom(r.Context()), service.CreateContractInput{
		Unreadable: unreadable,
		ClientID:   req.ClientID, TotalAmount: req.TotalAmount, AmountDue: req.AmountDue,
		Currency: req.Currency, Signed: req.Signed,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/contracts/"+c.ID.String())
	writeResource(w, http.StatusCreated, c.Version, toContractJSON(c))
}

func (s *server) getContract(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Contracts.Get(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toContractJSON(c))
}

type updateContractRequest struct {
	TotalAmount *string `json:"total_amount"`
	AmountDue   *string `json:"amount_due"`
	Signed      *bool   `json:"signed"`
}

func (s *server) updateContract(w http.ResponseWriter, r *http.Request) {
	var req updateContractRequest
	unreadable, err := decodeBody(w, r, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Contracts.Update(r.Context(), callerFrom(r.Context()), chi.URLParam(r, "id"), service.UpdateContractInput{
		Unreadable:  unreadable,
		TotalAmount: req.TotalAmount, AmountDue: req.AmountDue, Signed: req.Signed,
	}, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, http.StatusOK, c.Version, toContractJSON(c))
}

func (s *server) listContracts(w http.ResponseWriter, r *http.Request) {
	q := newQueryReader(r, "client_id", "commercial", "signed", "fully_paid")
	in := service.ListContractsInput{
		PageInput:  q.page(),
		ClientID:   q.nonEmpty("client_id"),
		Commercial: q.nonEmpty("commercial"),
		Signed:     q.boolean("signed"),
		FullyPaid:  q.boolean("fully_paid"),
	}
	in.Unreadable = q.unreadable()
	page, err := s.cfg.Contracts.List(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page.Items, page.NextCursor, toContractJSON))
}
