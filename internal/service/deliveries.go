package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"epicevents/internal/db"
	"epicevents/internal/webhook"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryFailed    = "failed" // another attempt is scheduled
	DeliverySucceeded = "succeeded"
	DeliveryGaveUp    = "gave_up"
	DeliveryCancelled = "cancelled"
	// PingType is the type of a ping's delivery; it cannot be subscribed.
	PingType = "ping"
	// pingInterval is how often a webhook may be pinged.
	pingInterval = time.Minute
	// DeliveryRetention is how long the delivery log is kept.
	DeliveryRetention = 30 * 24 * time.Hour
)

// Delivery is one message to one webhook and its attempts so far.
type Delivery struct {
	ID                 uuid.UUID
	ChangeID           *uuid.UUID // nil for a ping
	Type               string
	Status             string
	Attempts           int32
	LastResponseStatus *int32
	LastError          *string
	NextAttemptAt      *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func toDelivery(r db.WebhookDelivery) Delivery {
	d := Delivery{ID: r.ID, ChangeID: r.ChangeID, Type: r.Type, Status: r.Status, Attempts: r.Attempts,
		LastResponseStatus: r.LastResponseStatus, LastError: r.LastError,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.NextAttemptAt != nil {
		t := r.NextAttemptAt.UTC()
		d.NextAttemptAt = &t
	}
	return d
}

// FanOutArgs is the job every committed change enqueues, in its write's
// transaction: it creates the change's deliveries.
type FanOutArgs struct {
	ChangeID uuid.UUID `json:"change_id"`
}

// Kind names the job in the queue.
func (FanOutArgs) Kind() string { return "webhook_fan_out" }

// DeliverArgs is one attempt of a delivery. Attempt is the number of
// attempts the delivery had when the job was enqueued: a job that finds
// another number is stale (a manual retry came first) and does nothing.
type DeliverArgs struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	Attempt    int32     `json:"attempt"`
}

// Kind names the job in the queue.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// enqueueFanOut inserts the fan-out job of a change in the write's own
// transaction: committed, it is delivered even across restarts; rolled
// back, never.
func (d Deps) enqueueFanOut(ctx context.Context, q *db.Queries, changeID uuid.UUID) error {
	if d.Jobs == nil {
		return nil
	}
	tx := q.Tx()
	if tx == nil {
		return errors.New("service: a change written outside a transaction cannot enqueue its deliveries")
	}
	_, err := d.Jobs.InsertTx(ctx, tx, FanOutArgs{ChangeID: changeID}, nil)
	return err
}

// enqueueAttempt inserts an attempt of a delivery, at once or at a later
// instant, in q's transaction.
func (s *WebhookService) enqueueAttempt(ctx context.Context, q *db.Queries, d db.WebhookDelivery, at time.Time) error {
	if s.Jobs == nil {
		return errors.New("service: webhooks need the job queue")
	}
	var opts *river.InsertOpts
	if !at.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: at}
	}
	_, err := s.Jobs.InsertTx(ctx, q.Tx(), DeliverArgs{DeliveryID: d.ID, Attempt: d.Attempts}, opts)
	return err
}

// FanOut creates a delivery of the change for each active webhook
// subscribed to its type, and enqueues its first attempt; a change
// already fanned out (the job ran twice) gets no second delivery.
func (s *WebhookService) FanOut(ctx context.Context, changeID uuid.UUID) error {
	row, err := s.Store.GetChange(ctx, changeID)
	if errors.Is(err, db.ErrNotFound) {
		return nil // pruned before it could be delivered
	} else if err != nil {
		return err
	}
	change := FeedChange{ID: row.ID, Type: ChangeType(row.Type), RecordID: row.RecordID, Version: row.Version,
		At: row.At.UTC(), RequestID: row.RequestID, Data: row.Data}
	if row.ActorID != nil {
		change.Actor = &CollaboratorRef{ID: *row.ActorID, FullName: row.ActorFullName}
	}
	if s.cfg.RenderChange == nil {
		return errors.New("service: webhooks need WebhookConfig.RenderChange")
	}
	body, err := s.cfg.RenderChange(change)
	if err != nil {
		return err
	}
	now := s.now()
	return s.Store.InTx(ctx, func(q *db.Queries) error {
		hooks, err := q.SubscribedWebhooks(ctx, row.Type)
		if err != nil {
			return err
		}
		for _, id := range hooks {
			d, err := q.CreateDelivery(ctx, db.CreateDeliveryParams{
				ID: uuid.New(), WebhookID: id, ChangeID: &row.ID, MessageID: row.ID, Type: row.Type, Body: body, Now: now,
			})
			if errors.Is(err, db.ErrNotFound) {
				continue // delivered already
			} else if err != nil {
				return err
			}
			if err := s.enqueueAttempt(ctx, q, d, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Attempt makes one attempt of a delivery with the webhook's URL and
// secrets as they are now, and records its outcome: succeeded; failed
// with the next attempt scheduled on the ladder (Retry-After as a
// minimum); gave_up past the ladder; a 410 disables the webhook (gone).
func (s *WebhookService) Attempt(ctx context.Context, args DeliverArgs) error {
	var d db.WebhookDelivery
	var h db.Webhook
	skip := false
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		var err error
		d, err = q.GetDeliveryByIDForUpdate(ctx, args.DeliveryID)
		if errors.Is(err, db.ErrNotFound) {
			skip = true // its webhook was deleted
			return nil
		} else if err != nil {
			return err
		}
		if d.Attempts != args.Attempt || (d.Status != DeliveryPending && d.Status != DeliveryFailed) {
			skip = true
			return nil
		}
		if h, err = q.GetWebhook(ctx, d.WebhookID); err != nil {
			return err
		}
		if !h.IsActive {
			skip = true
			return q.CancelDelivery(ctx, db.CancelDeliveryParams{ID: d.ID, Now: s.now()})
		}
		return q.StartDeliveryAttempt(ctx, db.StartDeliveryAttemptParams{ID: d.ID, Now: s.now()})
	})
	if err != nil || skip {
		return fromDB(err)
	}
	secrets, err := s.SigningSecrets(h, s.now())
	if err != nil {
		return err
	}
	a := s.cfg.Sender.Send(ctx, h.Url, d.MessageID.String(), time.Now(), d.Body, secrets...)
	gone := false
	outcomeStatus := ""
	err = s.Store.InTx(ctx, func(q *db.Queries) error {
		now := s.now()
		p := db.FinishDeliveryAttemptParams{ID: d.ID, Now: now}
		if a.Status != 0 {
			status := int32(a.Status)
			p.LastResponseStatus = &status
		}
		if a.Error != "" {
			p.LastError = &a.Error
		}
		switch a.Outcome {
		case webhook.Succeeded:
			p.Status = DeliverySucceeded
		case webhook.Gone:
			p.Status = DeliveryGaveUp
		default:
			wait, ok := s.cfg.Schedule.Next(int(d.Attempts)+1, a.RetryAfter)
			if !ok {
				p.Status = DeliveryGaveUp
				break
			}
			p.Status = DeliveryFailed
			next := now.Add(wait)
			p.NextAttemptAt = &next
		}
		// A 410 takes the webhook's row before the delivery's, in the order
		// a PATCH of the webhook takes them, so the two cannot deadlock.
		var disabled *db.Webhook
		if a.Outcome == webhook.Gone {
			row, err := q.DisableWebhookGone(ctx, db.DisableWebhookGoneParams{ID: h.ID, Now: now})
			if err == nil {
				disabled = &row
			} else if !errors.Is(err, db.ErrNotFound) { // not found: disabled already
				return err
			}
		}
		// A delivery cancelled meanwhile stays so.
		finished, err := q.FinishDeliveryAttempt(ctx, p)
		if err != nil {
			return err
		}
		outcomeStatus = finished.Status
		if finished.Status == DeliveryFailed {
			if err := s.enqueueAttempt(ctx, q, finished, time.Now().Add(finished.NextAttemptAt.Sub(now))); err != nil {
				return err
			}
		}
		if disabled == nil {
			return nil
		}
		gone = true
		if err := appendAudit(ctx, q, nil, RecordWebhook, h.ID, ActionUpdate,
			webhookDiff(newDiff(false), toWebhook(h), toWebhook(*disabled)), now); err != nil {
			return err
		}
		// After the finish, so that this delivery stays gave_up.
		_, err = q.CancelPendingDeliveries(ctx, db.CancelPendingDeliveriesParams{
			WebhookID: h.ID, Active: false, Types: []string{}, Now: now})
		return err
	})
	if err != nil {
		return fromDB(err)
	}
	if s.cfg.Attempted != nil {
		outcome := outcomeStatus
		if a.Outcome == webhook.Gone {
			outcome = "gone"
		}
		s.cfg.Attempted(outcome)
	}
	if gone {
		s.Notifier.Notify("webhook.disabled_gone", "", h.ID.String())
	}
	return nil
}

// QueueLag is how long the oldest webhook job ready to run has waited;
// zero when none waits (or the queue cannot be read).
func (s *WebhookService) QueueLag(ctx context.Context) time.Duration {
	if s.Jobs == nil {
		return 0
	}
	res, err := s.Jobs.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1))
	if err != nil || len(res.Jobs) == 0 {
		return 0
	}
	return max(0, time.Since(res.Jobs[0].ScheduledAt))
}

// Ping sends a ping to the webhook now: at most once a minute per webhook
// (429 otherwise).
func (s *WebhookService) Ping(ctx context.Context, _ Caller, id uuid.UUID) (Delivery, error) {
	now := s.now()
	var out Delivery
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		if _, err := q.TakePing(ctx, db.TakePingParams{ID: id, Now: now, Since: now.Add(-pingInterval)}); errors.Is(err, db.ErrNotFound) {
			h, err := q.GetWebhook(ctx, id)
			if errors.Is(err, db.ErrNotFound) {
				return errNotFound("webhook")
			} else if err != nil {
				return err
			}
			wait := time.Second
			if h.LastPingAt != nil {
				wait = max(wait, h.LastPingAt.Add(pingInterval).Sub(now))
			}
			return &Error{Code: CodeRateLimited, Detail: "A webhook may be pinged once a minute.", RetryAfter: wait}
		} else if err != nil {
			return err
		}
		messageID := uuid.New()
		body, err := json.Marshal(struct {
			ID   string    `json:"id"`
			Type string    `json:"type"`
			At   time.Time `json:"at"`
		}{messageID.String(), PingType, now})
		if err != nil {
			return err
		}
		d, err := q.CreateDelivery(ctx, db.CreateDeliveryParams{
			ID: uuid.New(), WebhookID: id, MessageID: messageID, Type: PingType, Body: body, Now: now,
		})
		if err != nil {
			return err
		}
		out = toDelivery(d)
		return s.enqueueAttempt(ctx, q, d, time.Time{})
	})
	return out, fromDB(err)
}

// Retry makes one more attempt of a delivery now, with the same
// webhook-id; 409 while an attempt is in flight.
func (s *WebhookService) Retry(ctx context.Context, _ Caller, webhookID, deliveryID uuid.UUID) (Delivery, error) {
	now := s.now()
	var out Delivery
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		d, err := q.GetDeliveryForUpdate(ctx, db.GetDeliveryForUpdateParams{ID: deliveryID, WebhookID: webhookID})
		if errors.Is(err, db.ErrNotFound) {
			return errNotFound("delivery")
		} else if err != nil {
			return err
		}
		if d.InFlight {
			return Errorf(CodeDeliveryInFlight, "An attempt of this delivery is in flight; retry once it ends.")
		}
		d, err = q.RequeueDelivery(ctx, db.RequeueDeliveryParams{ID: d.ID, Now: now})
		if err != nil {
			return err
		}
		out = toDelivery(d)
		return s.enqueueAttempt(ctx, q, d, time.Time{})
	})
	return out, fromDB(err)
}

// deliverySorts: newest first is the only order.
var deliverySorts = []string{"-created_at"}

// Deliveries pages through a webhook's delivery log, newest first.
func (s *WebhookService) Deliveries(ctx context.Context, _ Caller, webhookID uuid.UUID, in PageInput) (Page[Delivery], error) {
	lq, err := newListQuery("deliveries", in, deliverySorts, webhookID.String())
	if err != nil {
		return Page[Delivery]{}, err
	}
	if _, err := s.Get(ctx, Caller{}, webhookID); err != nil {
		return Page[Delivery]{}, err
	}
	return newestFirst(lq, func(after *time.Time, afterID uuid.UUID, limit int32) ([]db.WebhookDelivery, error) {
		return s.Store.ListDeliveries(ctx, db.ListDeliveriesParams{
			WebhookID: webhookID, AfterCreatedAt: after, AfterID: afterID, RowLimit: limit})
	}, toDelivery, func(r db.WebhookDelivery) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
}

// PruneDeliveries removes deliveries older than DeliveryRetention.
func (s *WebhookService) PruneDeliveries(ctx context.Context) (int64, error) {
	n, err := s.Store.PruneDeliveries(ctx, s.now().Add(-DeliveryRetention))
	return n, fromDB(err)
}

type fanOutWorker struct {
	river.WorkerDefaults[FanOutArgs]
	svc func() *WebhookService
}

func (w *fanOutWorker) Work(ctx context.Context, job *river.Job[FanOutArgs]) error {
	return w.svc().FanOut(ctx, job.Args.ChangeID)
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	svc func() *WebhookService
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.svc().Attempt(ctx, job.Args)
}

// Timeout leaves an attempt its 10 s and the bookkeeping around it.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return webhook.AttemptTimeout + 20*time.Second
}

// AddWebhookWorkers registers the queue's workers of webhooks; svc gives
// the service once it is built (it needs the queue's client, which needs
// the workers).
func AddWebhookWorkers(workers *river.Workers, svc func() *WebhookService) error {
	if err := river.AddWorkerSafely(workers, &fanOutWorker{svc: svc}); err != nil {
		return fmt.Errorf("webhook workers: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &deliverWorker{svc: svc}); err != nil {
		return fmt.Errorf("webhook workers: %w", err)
	}
	return nil
}
