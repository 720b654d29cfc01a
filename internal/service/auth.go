package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// AuthService logs collaborators in and out, refreshes and revokes their
// sessions, changes their passwords and authenticates requests.
type AuthService struct {
	Deps
	keys   *tokenKeys
	limits LoginLimits
}

// NewAuthService builds the service. Zero fields of limits take the
// contract's defaults.
func NewAuthService(d Deps, tokens TokenConfig, limits LoginLimits) *AuthService {
	return &AuthService{Deps: d.withDefaults(), keys: newTokenKeys(tokens), limits: limits.withDefaults()}
}

// TokenPair is what a login or a refresh hands out.
type TokenPair struct {
	AccessToken      string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
}

// LoginInput is a login attempt. Login is a username or an email.
type LoginInput struct {
	Login    string
	Password string
	// ClientAddr is the address the attempt came from; throttling counts
	// failures against it.
	ClientAddr netip.Addr
}

var errBadCredentials = Errorf(CodeUnauthenticated, "The username or password is wrong, or the account is not active.")

// Login checks credentials and opens a session. An unknown name, a wrong
// password and an inactive or deleted account get the same answer, cost
// the same bcrypt comparison and are throttled alike: failures count
// against the account the name designates, or against the name itself.
func (a *AuthService) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	row, err := a.Store.GetCollaboratorByLogin(ctx, in.Login)
	known := err == nil
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return TokenPair{}, fromDB(err)
	}
	account := accountOfUnknownName(in.Login)
	if known {
		account = accountOf(row.ID)
	}
	at, err := a.beginAttempt(ctx, account, in.ClientAddr)
	if err != nil {
		return TokenPair{}, err
	}
	defer a.housekeep(ctx)
	if !known {
		a.Passwords.MatchesNobody(in.Password)
		return TokenPair{}, errBadCredentials
	}
	if !a.Passwords.Matches(row.PasswordHash, in.Password) || !row.IsActive || row.DeletedAt != nil {
		return TokenPair{}, errBadCredentials
	}
	if err := a.succeeded(ctx, at); err != nil {
		return TokenPair{}, err
	}
	return a.openSession(ctx, row.ID)
}

// RefreshInput carries a refresh token.
type RefreshInput struct {
	RefreshToken string
}

var errBadRefresh = Errorf(CodeUnauthenticated, "The refresh token is unknown, expired or revoked; log in again.")

// Refresh trades a refresh token for a new pair; the old token dies. A
// token presented after it was rotated means two parties hold it: the
// whole session ends, for the thief and the owner alike. A session refused
// on any request (logged out, collaborator deactivated or deleted) is
// refused here too. Each refresh extends the session by the refresh
// lifetime.
func (a *AuthService) Refresh(ctx context.Context, in RefreshInput) (TokenPair, error) {
	now := a.now()
	presented := refreshDigest(in.RefreshToken)
	next, nextDigest := newRefreshToken()
	expiresAt := now.Add(a.keys.cfg.RefreshTTL)
	var collaboratorID, sessionID uuid.UUID
	refused := true
	err := a.Store.InTx(ctx, func(q *db.Queries) error {
		refused = true
		rt, err := q.GetRefreshTokenForUpdate(ctx, presented)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rt.RotatedAt != nil {
			return q.RevokeSession(ctx, db.RevokeSessionParams{ID: rt.SessionID, Now: now})
		}
		if !rt.ExpiresAt.After(now) || rt.SessionRevokedAt != nil || !rt.SessionExpiresAt.After(now) ||
			!rt.CollaboratorIsActive || rt.CollaboratorDeletedAt != nil {
			return nil
		}
		if err := q.MarkRefreshTokenRotated(ctx, db.MarkRefreshTokenRotatedParams{TokenHash: presented, Now: now}); err != nil {
			return err
		}
		if err := q.CreateRefreshToken(ctx, db.CreateRefreshTokenParams{
			TokenHash: nextDigest, SessionID: rt.SessionID, Now: now, ExpiresAt: expiresAt,
		}); err != nil {
			return err
		}
		if err := q.ExtendSession(ctx, db.ExtendSessionParams{ID: rt.SessionID, ExpiresAt: expiresAt}); err != nil {
			return err
		}
		refused = false
		collaboratorID, sessionID = rt.CollaboratorID, rt.SessionID
		return nil
	})
	if err != nil {
		return TokenPair{}, fromDB(err)
	}
	if refused {
		return TokenPair{}, errBadRefresh
	}
	access, err := a.keys.issueAccess(collaboratorID, sessionID, now)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken: access, ExpiresIn: a.keys.cfg.AccessTTL,
		RefreshToken: next, RefreshExpiresIn: a.keys.cfg.RefreshTTL,
	}, nil
}

// ChangePasswordInput is the caller's current password and the new one.
// NewPassword has passed the policy.
type ChangePasswordInput struct {
	CurrentPassword string
	NewPassword     string
	// ClientAddr is the address of the request; a wrong current password
	// counts as a failed login from it.
	ClientAddr netip.Addr
}

// ChangePassword sets the caller's password and ends every other session
// of theirs; the current one goes on. A wrong current password is a
// validation error on current_password and a failed login, throttled like
// one.
func (a *AuthService) ChangePassword(ctx context.Context, caller Caller, in ChangePasswordInput) error {
	row, err := a.Store.GetCollaborator(ctx, caller.ID)
	if err != nil {
		return fromDB(err)
	}
	at, err := a.beginAttempt(ctx, accountOf(caller.ID), in.ClientAddr)
	if err != nil {
		return err
	}
	if !a.Passwords.Matches(row.PasswordHash, in.CurrentPassword) {
		a.housekeep(ctx)
		return InvalidField("current_password", "is not your current password")
	}
	if err := a.succeeded(ctx, at); err != nil {
		return err
	}
	hash, err := a.Passwords.Hash(in.NewPassword)
	if err != nil {
		return err
	}
	now := a.now()
	err = a.Store.InTx(ctx, func(q *db.Queries) error {
		row, err := q.SetCollaboratorPassword(ctx, db.SetCollaboratorPasswordParams{
			ID: caller.ID, PasswordHash: hash, Now: now,
		})
		if err != nil {
			return err
		}
		keep := caller.SessionID
		if err := q.RevokeSessionsOfCollaborator(ctx, db.RevokeSessionsOfCollaboratorParams{
			CollaboratorID: caller.ID, KeepSessionID: &keep, Now: now,
		}); err != nil {
			return err
		}
		// The hash never enters the audit trail; only the fact of a change.
		return a.appendWrite(ctx, q, &caller, toCollaborator(row), ActionUpdate,
			Changes{"password": {From: "[redacted]", To: "[redacted]"}}, now)
	})
	if err != nil {
		return fromDB(err)
	}
	a.Notifier.Notify("collaborator.updated", caller.ID.String(), caller.ID.String())
	return nil
}

// openSession creates a session and its first token pair.
func (a *AuthService) openSession(ctx context.Context, collaboratorID uuid.UUID) (TokenPair, error) {
	now := a.now()
	sessionID := uuid.New()
	refresh, digest := newRefreshToken()
	err := a.Store.InTx(ctx, func(q *db.Queries) error {
		if err := q.CreateSession(ctx, db.CreateSessionParams{
			ID: sessionID, CollaboratorID: collaboratorID, Now: now,
			ExpiresAt: now.Add(a.keys.cfg.RefreshTTL),
		}); err != nil {
			return err
		}
		return q.CreateRefreshToken(ctx, db.CreateRefreshTokenParams{
			TokenHash: digest, SessionID: sessionID, Now: now, ExpiresAt: now.Add(a.keys.cfg.RefreshTTL),
		})
	})
	if err != nil {
		return TokenPair{}, fromDB(err)
	}
	access, err := a.keys.issueAccess(collaboratorID, sessionID, now)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken: access, ExpiresIn: a.keys.cfg.AccessTTL,
		RefreshToken: refresh, RefreshExpiresIn: a.keys.cfg.RefreshTTL,
	}, nil
}

var errUnauthenticated = Errorf(CodeUnauthenticated, "A valid access token is required.")

// Authenticate turns an access token into the caller, checking in one query
// that the session is open and the collaborator still active, and reading
// the permissions of their current department.
func (a *AuthService) Authenticate(ctx context.Context, token, requestID string) (Caller, error) {
	now := a.now()
	collaboratorID, sessionID, err := a.keys.verifyAccess(token, now)
	if err != nil {
		return Caller{}, errUnauthenticated
	}
	row, err := a.Store.AuthenticateSession(ctx, db.AuthenticateSessionParams{
		SessionID: sessionID, CollaboratorID: collaboratorID, Now: now,
	})
	if errors.Is(err, db.ErrNotFound) {
		return Caller{}, errUnauthenticated
	}
	if err != nil {
		return Caller{}, fromDB(err)
	}
	return Caller{ID: row.ID, SessionID: sessionID, Permissions: permissionsOf(row.Permissions), RequestID: requestID}, nil
}

// permissionsOf types the permission names the database holds.
func permissionsOf(names []string) []Permission {
	perms := make([]Permission, len(names))
	for i, p := range names {
		perms[i] = Permission(p)
	}
	return perms
}

// AuthenticateAndRead is Authenticate for a request that reads one record,
// of the kind getRecord calls what ("client", "contract", "event",
// "collaborator"), by the id that id gives (the path's, or the caller's own
// for /v1/me). The session check and that read go to the database in one
// round trip; the record waits in the returned context for the service
// method that reads it. An id that is not a UUID is not read ahead (it is
// 404 later, after every check that comes first).
func (a *AuthService) AuthenticateAndRead(ctx context.Context, token, requestID, what string, id func(self uuid.UUID) string) (Caller, context.Context, error) {
	now := a.now()
	collaboratorID, sessionID, err := a.keys.verifyAccess(token, now)
	if err != nil {
		return Caller{}, ctx, errUnauthenticated
	}
	fetch := fetchers[what]
	recordID, idErr := ParseID(id(collaboratorID))
	if idErr != nil || fetch == nil {
		caller, err := a.Authenticate(ctx, token, requestID)
		return caller, ctx, err
	}
	var session db.AuthenticateSessionRow
	read, err := checkAndRead(ctx, a.Store, func(q *db.Queries) error {
		var err error
		session, err = q.AuthenticateSession(ctx, db.AuthenticateSessionParams{
			SessionID: sessionID, CollaboratorID: collaboratorID, Now: now,
		})
		return err
	}, what, recordID)
	if errors.Is(err, db.ErrNotFound) {
		return Caller{}, ctx, errUnauthenticated
	}
	if err != nil {
		return Caller{}, ctx, fromDB(err)
	}
	caller := Caller{ID: session.ID, SessionID: sessionID, Permissions: permissionsOf(session.Permissions), RequestID: requestID}
	return caller, read, nil
}

// Logout ends the caller's session: its access and refresh tokens stop
// working at once.
func (a *AuthService) Logout(ctx context.Context, caller Caller) error {
	return fromDB(a.Store.RevokeSession(ctx, db.RevokeSessionParams{ID: caller.SessionID, Now: a.now()}))
}

// BootstrapInput names the first manager.
type BootstrapInput struct {
	Username string
	Email    string
	Password string
}

// EnsureFirstManager creates the first manager when no collaborator exists.
// It reports whether it created one. Replicas starting together serialise
// on an advisory lock, so exactly one manager is created.
func (s *CollaboratorService) EnsureFirstManager(ctx context.Context, in BootstrapInput) (bool, error) {
	created := false
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		n, err := q.CountCollaborators(ctx)
		if err != nil || n > 0 {
			return err
		}
		if in.Password == "" {
			return InvalidField("password", "is required while no collaborator exists (or its _FILE)")
		}
		// Hashing inside the lock happens once, on the very first start.
		manager, err := managerInput(in, 1)
		if err != nil {
			return err
		}
		hash, err := s.prepare(manager)
		if err != nil {
			return err
		}
		if _, err := s.insert(ctx, q, nil, manager, hash); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, fromDB(err)
}

// CreateManager adds a manager from the command line. Employee number 0
// takes the one after the highest ever given.
func (s *CollaboratorService) CreateManager(ctx context.Context, in BootstrapInput, employeeNumber int) (Collaborator, error) {
	next := employeeNumber == 0
	if next {
		employeeNumber = 1 // checked as any valid number; chosen below
	}
	manager, err := managerInput(in, employeeNumber)
	if err != nil {
		return Collaborator{}, err
	}
	hash, err := s.prepare(manager)
	if err != nil {
		return Collaborator{}, err
	}
	var c Collaborator
	err = s.Store.InTx(ctx, func(q *db.Queries) error {
		if next {
			// Two managers created at once do not pick the same number.
			if err := q.LockBootstrap(ctx); err != nil {
				return err
			}
			n, err := q.NextEmployeeNumber(ctx)
			if err != nil {
				return err
			}
			manager.EmployeeNumber = int(n)
		}
		var err error
		c, err = s.insert(ctx, q, nil, manager, hash)
		return err
	})
	return c, fromDB(err)
}

// managerInput parses the first manager's settings (the command line and
// the environment are an edge too), naming every bad one.
func managerInput(in BootstrapInput, employeeNumber int) (CreateCollaboratorInput, error) {
	var fields []FieldError
	parse := func(field, value string, rule func(string) (string, error)) string {
		v, err := rule(value)
		if err != nil {
			fields = append(fields, FieldError{Field: field, Message: err.Error()})
		}
		return v
	}
	manager := CreateCollaboratorInput{
		EmployeeNumber: employeeNumber, FirstName: "First", LastName: "Manager",
		Username:   parse("username", in.Username, ParseUsername),
		Email:      parse("email", in.Email, ParseEmail),
		Password:   parse("password", in.Password, ParseNewPassword),
		Department: DepartmentManagement,
	}
	if employeeNumber < 1 || employeeNumber > MaxEmployeeNumber {
		fields = append(fields, FieldError{Field: "employee_number", Message: fmt.Sprintf("must be between 1 and %d", MaxEmployeeNumber)})
	}
	if len(fields) > 0 {
		return CreateCollaboratorInput{}, Invalid(fields...)
	}
	return manager, nil
}

// MaxEmployeeNumber is the largest employee number.
const MaxEmployeeNumber = 999999
