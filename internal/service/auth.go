package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// AuthService logs collaborators in and out and authenticates requests.
type AuthService struct {
	Deps
	keys *tokenKeys
}

// NewAuthService builds the service.
func NewAuthService(d Deps, tokens TokenConfig) *AuthService {
	return &AuthService{Deps: d.withDefaults(), keys: newTokenKeys(tokens)}
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
	Login    string `field:"username" validate:"required"`
	Password string `validate:"required"`
	// ClientAddr is the address the attempt came from.
	ClientAddr string `validate:"-"`
}

var errBadCredentials = Errorf(CodeUnauthenticated, "The username or password is wrong, or the account is not active.")

// Login checks credentials and opens a session. An unknown name, a wrong
// password and an inactive or deleted account get the same answer and cost
// the same bcrypt comparison.
func (a *AuthService) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	if err := check(in); err != nil {
		return TokenPair{}, err
	}
	row, err := a.Store.GetCollaboratorByLogin(ctx, in.Login)
	err = db.Classify(err)
	switch {
	case errors.Is(err, db.ErrNotFound):
		a.Passwords.MatchesNobody(in.Password)
		return TokenPair{}, errBadCredentials
	case err != nil:
		return TokenPair{}, fromDB(err)
	}
	if !a.Passwords.Matches(row.PasswordHash, in.Password) || !row.IsActive || row.DeletedAt != nil {
		return TokenPair{}, errBadCredentials
	}
	return a.openSession(ctx, row.ID)
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
	err = db.Classify(err)
	if errors.Is(err, db.ErrNotFound) {
		return Caller{}, errUnauthenticated
	}
	if err != nil {
		return Caller{}, fromDB(err)
	}
	return Caller{ID: row.ID, SessionID: sessionID, Permissions: row.Permissions, RequestID: requestID}, nil
}

// Logout ends the caller's session: its access and refresh tokens stop
// working at once.
func (a *AuthService) Logout(ctx context.Context, caller Caller) error {
	return fromDB(db.Classify(a.Store.RevokeSession(ctx, db.RevokeSessionParams{ID: caller.SessionID, Now: a.now()})))
}

// BootstrapInput names the first manager.
type BootstrapInput struct {
	Username string `validate:"required,username"`
	Email    string `validate:"required,max=254,email"`
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
			return errors.New("no collaborator exists yet: set BOOTSTRAP_MANAGER_PASSWORD (or BOOTSTRAP_MANAGER_PASSWORD_FILE) for the first manager")
		}
		c, err := s.createIn(ctx, q, nil, managerInput(in, 1))
		if err != nil {
			return err
		}
		created = c.ID != uuid.Nil
		return nil
	})
	return created, fromDB(err)
}

// CreateManager adds a manager from the command line.
func (s *CollaboratorService) CreateManager(ctx context.Context, in BootstrapInput, employeeNumber int) (Collaborator, error) {
	var c Collaborator
	err := s.Store.InTx(ctx, func(q *db.Queries) error {
		var err error
		c, err = s.createIn(ctx, q, nil, managerInput(in, employeeNumber))
		return err
	})
	return c, fromDB(err)
}

func managerInput(in BootstrapInput, employeeNumber int) CreateCollaboratorInput {
	password := in.Password
	return CreateCollaboratorInput{
		EmployeeNumber: &employeeNumber, FirstName: "First", LastName: "Manager",
		Email: in.Email, Username: in.Username, Department: DepartmentManagement, Password: &password,
	}
}
