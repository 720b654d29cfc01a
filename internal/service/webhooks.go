package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
	"epicevents/internal/netguard"
	"epicevents/internal/seal"
	"epicevents/internal/webhook"
)

// RecordWebhook is the audit trail's record type of webhooks.
const RecordWebhook = "webhook"

// PermWebhookManage is seeded for management by the webhooks' migration.
const PermWebhookManage Permission = "webhook:manage"

// Limits of webhooks.
const (
	MaxWebhooks      = 20
	MaxWebhookURL    = 2048
	secretsOverlap   = 24 * time.Hour
	DisabledGone     = "gone"
	DisabledManually = "manual"
)

// Webhook is a subscription to the change feed; its secret is only ever
// in a CreatedWebhook or a rotation's answer.
type Webhook struct {
	ID             uuid.UUID
	URL            string
	Types          []ChangeType // sorted; empty is every type
	Description    string
	IsActive       bool
	DisabledReason *string
	Version        int32
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// CreatedWebhook is a new webhook and, this once, its signing secret.
type CreatedWebhook struct {
	Webhook
	Secret string
}

func toWebhook(r db.Webhook) Webhook {
	w := Webhook{
		ID: r.ID, URL: r.Url, Description: r.Description, IsActive: r.IsActive, DisabledReason: r.DisabledReason,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Types: []ChangeType{},
	}
	for _, t := range r.Types {
		w.Types = append(w.Types, ChangeType(t))
	}
	return w
}

// WebhookConfig is what webhooks need beyond the Deps.
type WebhookConfig struct {
	// Keyring seals the signing secrets (SECRETS_KEY).
	Keyring *seal.Keyring
	// Guard decides which targets are refused (WEBHOOK_ALLOWED_NETWORKS).
	Guard *netguard.Guard
	// Sender makes the attempts, through the guard.
	Sender *webhook.Sender
	// Schedule is the retry ladder (WEBHOOK_RETRY_SCHEDULE).
	Schedule webhook.Schedule
	// RenderChange renders a change as the feed shows it: a delivery's
	// body. The HTTP layer owns that rendering.
	RenderChange func(FeedChange) ([]byte, error)
	// Attempted, when set, hears of each attempt's outcome: succeeded,
	// failed (another attempt follows), gave_up or gone.
	Attempted func(outcome string)
}

// WebhookService manages webhooks (webhook:manage, on the route).
type WebhookService struct {
	Deps
	cfg WebhookConfig
}

// NewWebhookService builds the service.
func NewWebhookService(d Deps, cfg WebhookConfig) *WebhookService {
	if cfg.Guard == nil {
		cfg.Guard = netguard.New(nil, nil)
	}
	if cfg.Sender == nil {
		cfg.Sender = webhook.NewSender(cfg.Guard, 0)
	}
	if cfg.Schedule == nil {
		cfg.Schedule = webhook.DefaultSchedule
	}
	return &WebhookService{Deps: d.withDefaults(), cfg: cfg}
}

// ParseWebhookURL reads a target: an https URL without userinfo, at most
// MaxWebhookURL characters; a literal address the guard refuses is
// refused now, and plain http is accepted only to a literal address in a
// network WEBHOOK_ALLOWED_NETWORKS opens.
func ParseWebhookURL(guard *netguard.Guard) func(string) (string, error) {
	return func(s string) (string, error) {
		// Lengths are characters, and a control character (C1 ones
		// included, which the URL parser lets through) is refused as in
		// every other string.
		if _, err := text(s, 1, MaxWebhookURL, false); err != nil {
			return "", err
		}
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
			return "", valueError("must be an absolute https URL")
		}
		if u.User != nil {
			return "", valueError("must not carry a user name or password")
		}
		host := u.Hostname()
		addr, literal := netip.ParseAddr(host)
		if literal == nil {
			addr = addr.Unmap()
			if !guard.Allowed(addr) {
				return "", valueError("address not allowed")
			}
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
		case "http":
			if literal != nil || !guard.InAllowedNetwork(addr) {
				return "", valueError("must be an https URL")
			}
		default:
			return "", valueError("must be an https URL")
		}
		return s, nil
	}
}

// ParseWebhookTypes reads the subscribed types: from the nine, none
// twice; empty is every type. They come back sorted.
func ParseWebhookTypes(raw []string) ([]ChangeType, error) {
	out := make([]ChangeType, 0, len(raw))
	for _, s := range raw {
		t, err := ParseChangeType(s)
		if err != nil {
			return nil, valueError(fmt.Sprintf("%q is not a change type", s))
		}
		if slices.Contains(out, t) {
			return nil, valueError(fmt.Sprintf("names %q twice", s))
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// CreateWebhookInput is a new webhook, its values parsed.
type CreateWebhookInput struct {
	URL         string
	Types       []ChangeType
	Description string
}

// UpdateWebhookInput changes what is not nil.
type UpdateWebhookInput struct {
	URL         *string
	Types       *[]ChangeType
	Description *string
	IsActive    *bool
}

// webhookAuditValues is what the audit trail keeps of a webhook: never a
// secret.
func webhookDiff(d diff, from, to Webhook) Changes {
	d.set("url", from.URL, to.URL)
	d.set("types", strings.Join(Strings(from.Types), ","), strings.Join(Strings(to.Types), ","))
	d.set("description", from.Description, to.Description)
	d.set("is_active", from.IsActive, to.IsActive)
	var fromReason, toReason any
	if from.DisabledReason != nil {
		fromReason = *from.DisabledReason
	}
	if to.DisabledReason != nil {
		toReason = *to.DisabledReason
	}
	d.set("disabled_reason", fromReason, toReason)
	return d.Changes
}

func (s *WebhookService) sealSecret(id uuid.UUID, secret string) ([]byte, error) {
	if s.cfg.Keyring == nil {
		return nil, errors.New("service: webhooks need a keyring (SECRETS_KEY)")
	}
	return s.cfg.Keyring.Seal([]byte(secret), id[:])
}

// Create makes a webhook with a fresh secret. At most MaxWebhooks exist
// (409 limit-reached).
func (s *WebhookService) Create(ctx context.Context, caller Caller, in CreateWebhookInput) (CreatedWebhook, error) {
	now := s.now()
	id := uuid.New()
	secret := webhook.NewSecret()
	sealed, err := s.sealSecret(id, secret)
	if err != nil {
		return CreatedWebhook{}, err
	}
	var out CreatedWebhook
	err = s.Store.InTx(ctx, func(q *db.Queries) error {
		if err := q.LockWebhooks(ctx); err != nil {
			return err
		}
		n, err := q.CountWebhooks(ctx)
		if err != nil {
			return err
		}
		if n >= MaxWebhooks {
			return Errorf(CodeLimitReached, "There are already %d webhooks; delete one first.", MaxWebhooks)
		}
		row, err := q.CreateWebhook(ctx, db.CreateWebhookParams{
			ID: id, Url: in.URL, Types: Strings(in.Types), Description: in.Description,
			SecretSealed: sealed, Now: now,
		})
		if err != nil {
			return err
		}
		out = CreatedWebhook{Webhook: toWebhook(row), Secret: secret}
		return appendAudit(ctx, q, &caller, RecordWebhook, id, ActionCreate, webhookDiff(newDiff(true), Webhook{}, out.Webhook), now)
	})
	if err != nil {
		return CreatedWebhook{}, fromDB(err)
	}
	s.Notifier.Notify("webhook.created", caller.ID.String(), id.String())
	return out, nil
}

// Get reads one webhook.
func (s *WebhookService) Get(ctx context.Context, _ Caller, id uuid.UUID) (Webhook, error) {
	return getRecord(ctx, "webhook", id, s.Store.GetWebhook, toWebhook)
}

// webhookSorts: newest first is the only order.
var webhookSorts = []string{"-created_at"}

// List pages through the webhooks, newest first.
func (s *WebhookService) List(ctx context.Context, _ Caller, in PageInput) (Page[Webhook], error) {
	lq, err := newListQuery("webhooks", in, webhookSorts)
	if err != nil {
		return Page[Webhook]{}, err
	}
	return newestFirst(lq, func(after *time.Time, afterID uuid.UUID, limit int32) ([]db.Webhook, error) {
		return s.Store.ListWebhooks(ctx, db.ListWebhooksParams{AfterCreatedAt: after, AfterID: afterID, RowLimit: limit})
	}, toWebhook, func(r db.Webhook) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
}

// Update changes a webhook. is_active false disables it (manual), true
// enables it again; disabling it or removing a type cancels its pending
// deliveries.
func (s *WebhookService) Update(ctx context.Context, caller Caller, id uuid.UUID, in UpdateWebhookInput, match IfMatch) (Webhook, error) {
	now := s.now()
	var out Webhook
	changed := false
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		row, err := lockWebhook(ctx, q, id, match)
		if err != nil {
			return err
		}
		before := toWebhook(row)
		next := before
		if in.URL != nil {
			next.URL = *in.URL
		}
		if in.Types != nil {
			next.Types = *in.Types
		}
		if in.Description != nil {
			next.Description = *in.Description
		}
		if in.IsActive != nil && *in.IsActive != before.IsActive {
			next.IsActive = *in.IsActive
			next.DisabledReason = nil
			if !next.IsActive {
				reason := DisabledManually
				next.DisabledReason = &reason
			}
		}
		changes := webhookDiff(newDiff(false), before, next)
		if len(changes) == 0 {
			out = before
			return nil
		}
		changed = true
		updated, err := q.UpdateWebhook(ctx, db.UpdateWebhookParams{
			ID: id, Url: next.URL, Types: Strings(next.Types), Description: next.Description,
			IsActive: next.IsActive, DisabledReason: next.DisabledReason, Now: now,
		})
		if err != nil {
			return err
		}
		out = toWebhook(updated)
		if !next.IsActive || in.Types != nil {
			if _, err := q.CancelPendingDeliveries(ctx, db.CancelPendingDeliveriesParams{
				WebhookID: id, Active: next.IsActive, Types: Strings(next.Types), Now: now,
			}); err != nil {
				return err
			}
		}
		return appendAudit(ctx, q, &caller, RecordWebhook, id, ActionUpdate, changes, now)
	})
	if err != nil {
		return Webhook{}, fromDB(err)
	}
	if changed {
		s.Notifier.Notify("webhook.updated", caller.ID.String(), id.String())
	}
	return out, nil
}

// Delete removes a webhook and its deliveries.
func (s *WebhookService) Delete(ctx context.Context, caller Caller, id uuid.UUID, match IfMatch) error {
	now := s.now()
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		if _, err := lockWebhook(ctx, q, id, match); err != nil {
			return err
		}
		if _, err := q.DeleteWebhook(ctx, id); err != nil {
			return err
		}
		return appendAudit(ctx, q, &caller, RecordWebhook, id, ActionDelete, Changes{}, now)
	})
	if err != nil {
		return fromDB(err)
	}
	s.Notifier.Notify("webhook.deleted", caller.ID.String(), id.String())
	return nil
}

// lockWebhook holds a webhook's row until the write commits, after the
// contract's 404 and 412.
func lockWebhook(ctx context.Context, q *db.Queries, id uuid.UUID, match IfMatch) (db.Webhook, error) {
	row, err := q.GetWebhookForUpdate(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return db.Webhook{}, errNotFound("webhook")
	} else if err != nil {
		return db.Webhook{}, err
	}
	return row, match.check(row.Version)
}

// RotateSecret gives the webhook a new secret; the one it replaces keeps
// signing beside it for 24 h (a second rotation drops the oldest).
func (s *WebhookService) RotateSecret(ctx context.Context, caller Caller, id uuid.UUID) (string, error) {
	now := s.now()
	secret := webhook.NewSecret()
	sealed, err := s.sealSecret(id, secret)
	if err != nil {
		return "", err
	}
	err = s.Store.InTx(ctx, func(q *db.Queries) error {
		row, err := lockWebhook(ctx, q, id, IfMatch{})
		if err != nil {
			return err
		}
		until := now.Add(secretsOverlap)
		if _, err := q.RotateWebhookSecret(ctx, db.RotateWebhookSecretParams{
			ID: id, SecretSealed: sealed, PreviousSecretSealed: row.SecretSealed, PreviousSecretUntil: &until, Now: now,
		}); err != nil {
			return err
		}
		return appendAudit(ctx, q, &caller, RecordWebhook, id, ActionUpdate,
			Changes{"secret": {From: nil, To: "rotated"}}, now)
	})
	if err != nil {
		return "", fromDB(err)
	}
	s.Notifier.Notify("webhook.secret_rotated", caller.ID.String(), id.String())
	return secret, nil
}

// SigningSecrets opens the secrets that sign a webhook's messages now:
// its secret, and the previous one while it still signs.
func (s *WebhookService) SigningSecrets(r db.Webhook, now time.Time) ([][]byte, error) {
	if s.cfg.Keyring == nil {
		return nil, errors.New("service: webhooks need a keyring (SECRETS_KEY)")
	}
	open := func(sealed []byte) ([]byte, error) {
		plain, err := s.cfg.Keyring.Open(sealed, r.ID[:])
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", r.ID, err)
		}
		return webhook.SecretBytes(string(plain))
	}
	current, err := open(r.SecretSealed)
	if err != nil {
		return nil, err
	}
	out := [][]byte{current}
	if r.PreviousSecretSealed != nil && r.PreviousSecretUntil != nil && now.Before(*r.PreviousSecretUntil) {
		previous, err := open(r.PreviousSecretSealed)
		if err != nil {
			return nil, err
		}
		out = append(out, previous)
	}
	return out, nil
}

// Guard is the guard targets are checked against.
func (s *WebhookService) Guard() *netguard.Guard { return s.cfg.Guard }

// Reencrypt seals every webhook secret not yet under the current key
// under it (SECRETS_PREVIOUS_KEYS must still open them), in one
// transaction; it returns how many webhooks moved.
func (s *WebhookService) Reencrypt(ctx context.Context) (int, error) {
	if s.cfg.Keyring == nil {
		return 0, errors.New("service: webhooks need a keyring (SECRETS_KEY)")
	}
	moved := 0
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		moved = 0
		rows, err := q.ListWebhooksForUpdate(ctx)
		if err != nil {
			return err
		}
		reseal := func(id uuid.UUID, sealed []byte) ([]byte, error) {
			if sealed == nil || s.cfg.Keyring.SealedUnderCurrent(sealed) {
				return sealed, nil
			}
			plain, err := s.cfg.Keyring.Open(sealed, id[:])
			if err != nil {
				return nil, fmt.Errorf("webhook %s: %w (is its key in SECRETS_PREVIOUS_KEYS?)", id, err)
			}
			return s.cfg.Keyring.Seal(plain, id[:])
		}
		for _, r := range rows {
			current, err := reseal(r.ID, r.SecretSealed)
			if err != nil {
				return err
			}
			previous, err := reseal(r.ID, r.PreviousSecretSealed)
			if err != nil {
				return err
			}
			if string(current) == string(r.SecretSealed) && string(previous) == string(r.PreviousSecretSealed) {
				continue
			}
			if err := q.ResealWebhookSecrets(ctx, db.ResealWebhookSecretsParams{
				ID: r.ID, SecretSealed: current, PreviousSecretSealed: previous,
			}); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	return moved, fromDB(err)
}
