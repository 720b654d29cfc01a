package http

import (
	"net/http"
	"time"

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

func parseCreateContract(req createContractRequest, found []service.FieldError) (service.CreateContractInput, error) {
	p := newFieldParser(found)
	in := service.CreateContractInput{
		ClientID:    required(p, "client_id", req.ClientID, service.ParseID),
		TotalAmount: required(p, "total_amount", req.TotalAmount, service.ParseMoney),
		AmountDue:   optional(p, "amount_due", req.AmountDue, service.ParseMoney),
		Currency:    or(optional(p, "currency", req.Currency, service.ParseCurrency), service.DefaultCurrency),
		Signed:      or(req.Signed, false),
	}
	checkAmounts(p, &in.TotalAmount, in.AmountDue)
	return in, p.err()
}

// checkAmounts applies 0 <= amount_due <= total_amount when a request
// gives both.
func checkAmounts(p *fieldParser, total, due *service.Money) {
	if total == nil || due == nil || p.named["total_amount"] || p.named["amount_due"] {
		return
	}
	if err := service.AmountsProblem(*total, *due); err != nil {
		p.fail("amount_due", err.Error())
	}
}

func (s *server) createContract(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseCreateContract)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Contracts.Create(r.Context(), callerFrom(r.Context()), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/contracts/"+c.ID.String())
	writeResource(w, r, http.StatusCreated, c.Version, toContractJSON(c))
}

func (s *server) getContract(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Contracts.Get(r.Context(), callerFrom(r.Context()), pathID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toContractJSON(c))
}

type updateContractRequest struct {
	TotalAmount *string `json:"total_amount"`
	AmountDue   *string `json:"amount_due"`
	Signed      *bool   `json:"signed"`
}

func parseUpdateContract(req updateContractRequest, found []service.FieldError) (service.UpdateContractInput, error) {
	p := newFieldParser(found)
	in := service.UpdateContractInput{
		TotalAmount: optional(p, "total_amount", req.TotalAmount, service.ParseMoney),
		AmountDue:   optional(p, "amount_due", req.AmountDue, service.ParseMoney),
		Signed:      req.Signed,
	}
	checkAmounts(p, in.TotalAmount, in.AmountDue)
	return in, p.err()
}

func (s *server) updateContract(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(w, r, parseUpdateContract)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Contracts.Update(r.Context(), callerFrom(r.Context()), pathID(r), in, parseIfMatch(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeResource(w, r, http.StatusOK, c.Version, toContractJSON(c))
}

func (s *server) listContracts(w http.ResponseWriter, r *http.Request) {
	caller := callerFrom(r.Context())
	q := newQueryReader(r, "client_id", "commercial", "signed", "fully_paid")
	in := service.ListContractsInput{
		PageInput:  q.page(),
		ClientID:   q.id("client_id"),
		Commercial: q.collaborator("commercial", caller, false).ID,
		Signed:     q.boolean("signed"),
		FullyPaid:  q.boolean("fully_paid"),
	}
	in.Unreadable = q.found()
	page, err := s.cfg.Contracts.List(r.Context(), caller, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeCacheable(w, r, http.StatusOK, newList(page.Items, page.NextCursor, toContractJSON))
}
