package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// PersonalAccessToken describes a token; the token itself is only ever in
// a CreatedToken.
type PersonalAccessToken struct {
	ID         uuid.UUID
	OwnerID    uuid.UUID
	Name       string
	Scopes     []Permission // sorted
	Prefix     string
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// CreatedToken is a new token and, this once, its secret.
type CreatedToken struct {
	PersonalAccessToken
	Token string
}

func toPersonalAccessToken(r db.PersonalAccessToken) PersonalAccessToken {
	t := PersonalAccessToken{
		ID: r.ID, OwnerID: r.CollaboratorID, Name: r.Name, Prefix: r.TokenPrefix,
		ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC(),
	}
	for _, s := range r.Scopes {
		t.Scopes = append(t.Scopes, Permission(s))
	}
	slices.Sort(t.Scopes)
	if r.LastUsedAt != nil {
		u := r.LastUsedAt.UTC()
		t.LastUsedAt = &u
	}
	return t
}

// Limits and defaults of personal access tokens.
const (
	MaxLiveTokens          = 50
	DefaultTokenExpiryDays = 90
	MaxTokenExpiryDays     = 365
	// touchInterval is how stale last_used_at may grow before a request
	// writes it again.
	touchInterval = time.Minute
)

// touchDue reports whether a last_used_at is older than touchInterval, and
// the instant the conditional update checks again (so that concurrent
// requests move it once).
func touchDue(lastUsed *time.Time, now time.Time) (stale time.Time, due bool) {
	stale = now.Add(-touchInterval)
	return stale, lastUsed == nil || !lastUsed.After(stale)
}

// TokenService manages personal access tokens and authenticates requests
// made with them.
type TokenService struct {
	Deps
}

// NewTokenService builds the service.
func NewTokenService(d Deps) *TokenService {
	return &TokenService{Deps: d.withDefaults()}
}

// CreateTokenInput is a new token, its values parsed.
type CreateTokenInput struct {
	Name          string
	Scopes        []Permission // sorted, unique, held by the creator
	ExpiresInDays int
}

// ParseScopes reads the scopes of a new token: at least one, none twice,
// each a permission the creator holds now. They come back sorted.
func ParseScopes(held []Permission) func([]string) ([]Permission, error) {
	return func(raw []string) ([]Permission, error) {
		if len(raw) == 0 {
			return nil, valueError("must name at least one permission")
		}
		out := make([]Permission, 0, len(raw))
		var notHeld []string
		for _, s := range raw {
			p := Permission(s)
			if slices.Contains(out, p) {
				return nil, valueError(fmt.Sprintf("names %q twice", s))
			}
			if !slices.Contains(held, p) {
				notHeld = append(notHeld, fmt.Sprintf("%q", s))
			}
			out = append(out, p)
		}
		if len(notHeld) > 0 {
			return nil, valueError("may only name permissions you hold; you do not hold " + strings.Join(notHeld, ", "))
		}
		slices.Sort(out)
		return out, nil
	}
}

var errNeedsSession = Errorf(CodeForbidden,
	"This needs a login session: a personal access token cannot manage tokens or calendar feeds, change a password or log out.")

// Create makes a token for the caller. At most MaxLiveTokens unexpired
// tokens live at once per collaborator (409 limit-reached).
func (s *TokenService) Create(ctx context.Context, caller Caller, in CreateTokenInput) (CreatedToken, error) {
	if caller.ViaToken() {
		return CreatedToken{}, errNeedsSession
	}
	now := s.now()
	secret := newPersonalAccessToken()
	var out CreatedToken
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		// The owner's row is locked, so two creations cannot both pass
		// the count, and a deactivation cannot slip between.
		if _, err := q.GetCollaboratorForUpdate(ctx, caller.ID); err != nil {
			return err
		}
		n, err := q.CountLiveTokensOfCollaborator(ctx, db.CountLiveTokensOfCollaboratorParams{CollaboratorID: caller.ID, Now: now})
		if err != nil {
			return err
		}
		if n >= MaxLiveTokens {
			return Errorf(CodeLimitReached, "You already have %d unexpired tokens; revoke one first.", MaxLiveTokens)
		}
		row, err := q.CreatePersonalAccessToken(ctx, db.CreatePersonalAccessTokenParams{
			ID: uuid.New(), CollaboratorID: caller.ID, Name: in.Name, Scopes: Strings(in.Scopes),
			TokenHash: secretDigest(secret), TokenPrefix: secret[:TokenPrefixLength], CreatedBy: caller.ID,
			Now: now, ExpiresAt: now.AddDate(0, 0, in.ExpiresInDays),
		})
		if err != nil {
			return err
		}
		out = CreatedToken{PersonalAccessToken: toPersonalAccessToken(row), Token: secret}
		return appendAudit(ctx, q, &caller, RecordCollaborator, caller.ID, ActionUpdate,
			Changes{"personal_access_token": {From: nil, To: tokenAuditValue(out.PersonalAccessToken)}}, now)
	})
	if err != nil {
		return CreatedToken{}, fromDB(err)
	}
	s.Notifier.Notify("token.created", caller.ID.String(), out.ID.String())
	return out, nil
}

// tokenAuditValue is what the audit trail keeps of a token: never the
// token nor its digest.
func tokenAuditValue(t PersonalAccessToken) map[string]any {
	return map[string]any{"id": t.ID.String(), "name": t.Name, "token_prefix": t.Prefix, "scopes": t.Scopes}
}

// tokenSorts: newest first is the only order.
var tokenSorts = []string{"-created_at"}

// List pages through the owner's tokens, newest first, expired ones
// included and revoked ones gone. The route gives management
// (collaborator:update) other owners; a collaborator lists their own.
func (s *TokenService) List(ctx context.Context, caller Caller, ownerID uuid.UUID, in PageInput) (Page[PersonalAccessToken], error) {
	if caller.ViaToken() {
		return Page[PersonalAccessToken]{}, errNeedsSession
	}
	lq, err := newListQuery("tokens", in, tokenSorts, ownerID.String())
	if err != nil {
		return Page[PersonalAccessToken]{}, err
	}
	if err := s.ownerExists(ctx, ownerID); err != nil {
		return Page[PersonalAccessToken]{}, err
	}
	return newestFirst(lq, func(after *time.Time, afterID uuid.UUID, limit int32) ([]db.PersonalAccessToken, error) {
		return s.Store.ListTokensOfCollaborator(ctx, db.ListTokensOfCollaboratorParams{
			CollaboratorID: ownerID, AfterCreatedAt: after, AfterID: afterID, RowLimit: limit})
	}, toPersonalAccessToken, func(r db.PersonalAccessToken) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
}

func (s *TokenService) ownerExists(ctx context.Context, id uuid.UUID) error {
	if id == uuid.Nil {
		return errNotFound("collaborator")
	}
	_, err := s.Store.GetCollaborator(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return errNotFound("collaborator")
	}
	return fromDB(err)
}

// Revoke ends one of the owner's tokens for good. A token of another owner,
// or one already revoked, is 404.
func (s *TokenService) Revoke(ctx context.Context, caller Caller, ownerID, tokenID uuid.UUID) (PersonalAccessToken, error) {
	if caller.ViaToken() {
		return PersonalAccessToken{}, errNeedsSession
	}
	if err := s.ownerExists(ctx, ownerID); err != nil {
		return PersonalAccessToken{}, err
	}
	now := s.now()
	var out PersonalAccessToken
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.RevokePersonalAccessToken(ctx, db.RevokePersonalAccessTokenParams{
			Now: now, RevokedBy: &caller.ID, ID: tokenID, CollaboratorID: ownerID,
		})
		if errors.Is(err, db.ErrNotFound) {
			return errNotFound("token of this collaborator")
		}
		if err != nil {
			return err
		}
		out = toPersonalAccessToken(row)
		return appendAudit(ctx, q, &caller, RecordCollaborator, ownerID, ActionUpdate,
			Changes{"personal_access_token": {From: tokenAuditValue(out), To: nil}}, now)
	})
	if err != nil {
		return PersonalAccessToken{}, fromDB(err)
	}
	s.Notifier.Notify("token.revoked", caller.ID.String(), out.ID.String())
	return out, nil
}

var errBadPersonalToken = Errorf(CodeUnauthenticated, "The personal access token is unknown, expired or revoked.")

// Authenticate turns a personal access token into the caller: the token's
// owner, with the token's scopes within the permissions of the owner's
// current department. A malformed token or a bad checksum is refused
// before any database work; a live one is found by its digest.
func (s *TokenService) Authenticate(ctx context.Context, token, requestID string) (Caller, error) {
	if !wellFormedPersonalAccessToken(token) {
		return Caller{}, errBadPersonalToken
	}
	now := s.now()
	row, err := s.Store.AuthenticatePersonalAccessToken(ctx, db.AuthenticatePersonalAccessTokenParams{
		TokenHash: secretDigest(token), Now: now,
	})
	return s.callerOf(ctx, row, err, now, requestID)
}

// AuthenticateAndRead is Authenticate for a request that reads one record
// by the id its path gives (see AuthService.AuthenticateAndRead): the
// token's check and that read share one round trip.
func (s *TokenService) AuthenticateAndRead(ctx context.Context, token, requestID, what, id string) (Caller, context.Context, error) {
	fetch := fetchers[what]
	recordID, idErr := ParseID(id)
	if !wellFormedPersonalAccessToken(token) || idErr != nil || fetch == nil {
		caller, err := s.Authenticate(ctx, token, requestID)
		return caller, ctx, err
	}
	now := s.now()
	var row db.AuthenticatePersonalAccessTokenRow
	read, err := checkAndRead(ctx, s.Store, func(q *db.Queries) error {
		var err error
		row, err = q.AuthenticatePersonalAccessToken(ctx, db.AuthenticatePersonalAccessTokenParams{
			TokenHash: secretDigest(token), Now: now,
		})
		return err
	}, what, recordID)
	caller, err := s.callerOf(ctx, row, err, now, requestID)
	if err != nil {
		return Caller{}, ctx, err
	}
	return caller, read, nil
}

// callerOf is the caller a token's row names, its last use noted at most
// once a minute.
func (s *TokenService) callerOf(ctx context.Context, row db.AuthenticatePersonalAccessTokenRow, err error, now time.Time, requestID string) (Caller, error) {
	if errors.Is(err, db.ErrNotFound) {
		return Caller{}, errBadPersonalToken
	}
	if err != nil {
		return Caller{}, fromDB(err)
	}
	if stale, due := touchDue(row.LastUsedAt, now); due {
		if err := s.Store.TouchPersonalAccessToken(ctx, db.TouchPersonalAccessTokenParams{
			Now: now, ID: row.ID, UsedBefore: &stale,
		}); err != nil {
			return Caller{}, fromDB(err)
		}
	}
	perms := permissionsOf(row.Permissions)
	slices.Sort(perms)
	return Caller{ID: row.CollaboratorID, TokenID: row.ID, Permissions: perms, RequestID: requestID}, nil
}

// endLongLivedCredentials revokes every personal access token of a
// collaborator and removes their calendar feed, inside the transaction
// that deactivates or deletes them.
func endLongLivedCredentials(ctx context.Context, q *db.Queries, caller Caller, id uuid.UUID, now time.Time) error {
	if err := q.RevokeTokensOfCollaborator(ctx, db.RevokeTokensOfCollaboratorParams{
		Now: now, RevokedBy: &caller.ID, CollaboratorID: id,
	}); err != nil {
		return err
	}
	_, err := q.DeleteCalendarFeed(ctx, id)
	return err
}
