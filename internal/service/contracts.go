package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// ClientRef is the summary of a client embedded in contracts and events.
type ClientRef struct {
	ID          uuid.UUID
	FullName    string
	CompanyName string
	Email       string
	Phone       string
}

// Contract is what a client pays for. Its commercial is the client's.
type Contract struct {
	ID          uuid.UUID
	Client      ClientRef
	Commercial  CollaboratorRef
	TotalAmount Money
	AmountDue   Money
	Currency    string
	Signed      bool
	SignedAt    *time.Time
	Version     int32
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func toContract(r db.ContractDetail) Contract {
	c := Contract{
		ID:          r.ID,
		Client:      ClientRef{ID: r.ClientID, FullName: r.ClientFullName, CompanyName: r.ClientCompanyName},
		Commercial:  CollaboratorRef{ID: r.CommercialID, FullName: r.CommercialFullName},
		TotalAmount: mustMoney(r.TotalAmount), AmountDue: mustMoney(r.AmountDue), Currency: r.Currency,
		Signed: r.Signed, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.SignedAt != nil {
		t := r.SignedAt.UTC()
		c.SignedAt = &t
	}
	return c
}

// ContractService manages contracts.
type ContractService struct {
	Deps
}

// NewContractService builds the service.
func NewContractService(d Deps) *ContractService {
	return &ContractService{Deps: d.withDefaults()}
}

// CreateContractInput is a new contract; AmountDue defaults to the total.
type CreateContractInput struct {
	ClientID    uuid.UUID
	TotalAmount Money
	AmountDue   *Money
	Currency    string
	Signed      bool
}

// AmountsProblem checks 0 <= amount_due <= total_amount (both are
// non-negative by their form), a rule of one request's values.
func AmountsProblem(total, due Money) error {
	if due > total {
		return valueError("must not exceed total_amount")
	}
	return nil
}

// Create adds a contract for any client (contract:create, on the route).
func (s *ContractService) Create(ctx context.Context, caller Caller, in CreateContractInput) (Contract, error) {
	total, due := in.TotalAmount, in.TotalAmount
	assign(&due, in.AmountDue)
	if err := AmountsProblem(total, due); err != nil {
		return Contract{}, InvalidField("amount_due", err.Error())
	}
	currency, signed := in.Currency, in.Signed
	if currency == "" {
		currency = DefaultCurrency
	}
	now := s.now()
	var signedAt *time.Time
	if signed {
		signedAt = &now
	}
	var out Contract
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		clientID := in.ClientID
		if _, err := q.GetClient(ctx, clientID); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return InvalidField("client_id", "names no client")
			}
			return err
		}
		id := uuid.New()
		row, err := inOneTrip(ctx, q,
			func(q *db.Queries) error {
				return q.CreateContract(ctx, db.CreateContractParams{
					ID: id, ClientID: clientID, TotalAmount: total.String(), AmountDue: due.String(),
					Currency: currency, Signed: signed, SignedAt: signedAt, Now: now,
				})
			},
			func(q *db.Queries) (db.ContractDetail, error) { return q.GetContract(ctx, id) })
		if err != nil {
			return err
		}
		out = toContract(row)
		return s.appendWrite(ctx, q, &caller, out, ActionCreate, contractChanges(Contract{}, out, true), now)
	})
	if err != nil {
		return Contract{}, fromDB(err)
	}
	if out.Signed {
		s.Notifier.Notify("contract.signed", caller.ID.String(), out.ID.String())
	}
	return out, nil
}

func contractChanges(from, to Contract, creation bool) Changes {
	ch := newDiff(creation)
	if creation {
		ch.set("client_id", nil, to.Client.ID.String())
		ch.set("currency", nil, to.Currency)
	}
	ch.set("total_amount", from.TotalAmount.String(), to.TotalAmount.String())
	ch.set("amount_due", from.AmountDue.String(), to.AmountDue.String())
	ch.set("signed", from.Signed, to.Signed)
	var fromSigned, toSigned any
	if from.SignedAt != nil {
		fromSigned = formatInstant(*from.SignedAt)
	}
	if to.SignedAt != nil {
		toSigned = formatInstant(*to.SignedAt)
	}
	ch.set("signed_at", fromSigned, toSigned)
	return ch.Changes
}

// Get returns a contract.
func (s *ContractService) Get(ctx context.Context, _ Caller, id uuid.UUID) (Contract, error) {
	return getRecord(ctx, "contract", id, s.Store.GetContract, toContract)
}

// UpdateContractInput changes amounts or signs; nil means unchanged.
type UpdateContractInput struct {
	TotalAmount *Money
	AmountDue   *Money
	Signed      *bool
}

// Update changes a contract (contract:update, or contract:update_own for
// the contracts of one's own clients), in the contract's order: 422, 404,
// 403, 412, then the signature rules (409).
func (s *ContractService) Update(ctx context.Context, caller Caller, uid uuid.UUID, in UpdateContractInput, ifMatch IfMatch) (Contract, error) {
	if in.TotalAmount != nil && in.AmountDue != nil {
		if err := AmountsProblem(*in.TotalAmount, *in.AmountDue); err != nil {
			return Contract{}, InvalidField("amount_due", err.Error())
		}
	}
	before, out, err := updateRecord(ctx, s.Deps, caller, ifMatch, recordUpdate[Contract]{
		what: "contract",
		lock: func(q *db.Queries) (Contract, error) {
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error { _, err := q.LockContract(ctx, uid); return err },
				func(q *db.Queries) (db.ContractDetail, error) { return q.GetContract(ctx, uid) })
			return convert(row, err, toContract)
		},
		next: func(cur Contract, now time.Time) (Contract, error) {
			next := cur
			assign(&next.TotalAmount, in.TotalAmount)
			assign(&next.AmountDue, in.AmountDue)
			if next.AmountDue > next.TotalAmount {
				field := "amount_due"
				if in.AmountDue == nil {
					field = "total_amount"
				}
				return next, InvalidField(field, "amount_due must not exceed total_amount")
			}
			if in.Signed != nil {
				next.Signed = *in.Signed
				if next.Signed && !cur.Signed {
					next.SignedAt = &now
				}
			}
			return next, nil
		},
		authorize: func(cur, _ Contract) error {
			if !caller.Can(PermContractUpdate) &&
				!(caller.Can(PermContractUpdateOwn) && cur.Commercial.ID == caller.ID) {
				return Errorf(CodeForbidden, "Only the client's own commercial or management may change this contract.")
			}
			return nil
		},
		version: func(c Contract) int32 { return c.Version },
		changes: func(from, to Contract) Changes { return contractChanges(from, to, false) },
		rules: func(_ *db.Queries, cur, next Contract, _ Changes, _ time.Time) error {
			switch {
			case cur.Signed && !next.Signed:
				return Errorf(CodeContractSigned, "A signed contract cannot be unsigned.")
			case cur.Signed && next.TotalAmount != cur.TotalAmount:
				return Errorf(CodeContractSigned, "The total amount of a signed contract cannot change.")
			}
			return nil
		},
		write: func(q *db.Queries, _, next Contract, now time.Time) (Contract, error) {
			row, err := inOneTrip(ctx, q,
				func(q *db.Queries) error {
					return q.UpdateContract(ctx, db.UpdateContractParams{
						ID: uid, TotalAmount: next.TotalAmount.String(), AmountDue: next.AmountDue.String(),
						Signed: next.Signed, SignedAt: next.SignedAt, Now: now,
					})
				},
				func(q *db.Queries) (db.ContractDetail, error) { return q.GetContract(ctx, uid) })
			return convert(row, err, toContract)
		},
	})
	if err != nil {
		return Contract{}, err
	}
	if !before.Signed && out.Signed {
		s.Notifier.Notify("contract.signed", caller.ID.String(), out.ID.String())
	}
	return out, nil
}

// ListContractsInput filters and pages the contract list.
type ListContractsInput struct {
	PageInput
	ClientID   *uuid.UUID
	Commercial *uuid.UUID
	Signed     *bool
	FullyPaid  *bool
}

// Sorts of the contract list, the default first.
var contractSorts = []string{"-created_at", "-amount_due"}

// List pages through contracts.
func (s *ContractService) List(ctx context.Context, _ Caller, in ListContractsInput) (Page[Contract], error) {
	clientID, commercial := in.ClientID, in.Commercial
	lq, err := newListQuery("contracts", in.PageInput, contractSorts,
		idString(clientID), idString(commercial), boolFilter(in.Signed), boolFilter(in.FullyPaid))
	if err != nil {
		return Page[Contract]{}, err
	}
	var afterID uuid.UUID
	if lq.after != nil {
		afterID = lq.after.ID
	}
	var rows []db.ContractDetail
	switch lq.sort {
	case "-created_at":
		var after *time.Time
		if after, err = afterInstant(lq); err != nil {
			return Page[Contract]{}, err
		}
		rows, err = s.Store.ListContractsByCreatedDesc(ctx, db.ListContractsByCreatedDescParams{
			ClientID: clientID, CommercialID: commercial, Signed: in.Signed, FullyPaid: in.FullyPaid,
			AfterCreatedAt: after, AfterID: afterID, RowLimit: lq.fetchLimit()})
	case "-amount_due":
		var after *string
		if lq.after != nil {
			m, perr := ParseMoney(lq.after.Key)
			if perr != nil {
				return Page[Contract]{}, errBadCursor
			}
			key := m.String()
			after = &key
		}
		rows, err = s.Store.ListContractsByAmountDueDesc(ctx, db.ListContractsByAmountDueDescParams{
			ClientID: clientID, CommercialID: commercial, Signed: in.Signed, FullyPaid: in.FullyPaid,
			AfterAmountDue: after, AfterID: afterID, RowLimit: lq.fetchLimit()})
	}
	if err != nil {
		return Page[Contract]{}, fromDB(err)
	}
	return paginate(lq, rows, toContract, func(r db.ContractDetail) (string, uuid.UUID) {
		if lq.sort == "-amount_due" {
			return r.AmountDue, r.ID
		}
		return formatInstant(r.CreatedAt), r.ID
	}), nil
}
