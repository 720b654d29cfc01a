package service

import (
	"slices"

	"github.com/google/uuid"
)

// Caller is the authenticated collaborator behind a request, as the
// database sees them now (not as their token said).
type Caller struct {
	ID          uuid.UUID
	SessionID   uuid.UUID
	Permissions []Permission // sorted
	// TokenID is the personal access token the request came with (its
	// SessionID is then nil); nil for a login session.
	TokenID uuid.UUID
	// RequestID ties audit rows and logs to the request.
	RequestID string
}

// ViaToken reports whether the caller came with a personal access token
// rather than a login session.
func (c Caller) ViaToken() bool { return c.TokenID != uuid.Nil }

// Can reports whether the caller holds the permission.
func (c Caller) Can(permission Permission) bool {
	_, ok := slices.BinarySearch(c.Permissions, permission)
	return ok
}

// CanAny reports whether the caller holds one of the permissions.
func (c Caller) CanAny(permissions ...Permission) bool {
	return slices.ContainsFunc(permissions, c.Can)
}

// Permission names what a department may do; the names are data, seeded
// by the first migration with the roles that hold them.
type Permission string

// The permission names seeded by the first migration.
const (
	PermCollaboratorRead   Permission = "collaborator:read"
	PermCollaboratorCreate Permission = "collaborator:create"
	PermCollaboratorUpdate Permission = "collaborator:update"
	PermCollaboratorDelete Permission = "collaborator:delete"
	PermClientRead         Permission = "client:read"
	PermClientCreate       Permission = "client:create"
	PermClientUpdateOwn    Permission = "client:update_own"
	PermClientReassign     Permission = "client:reassign"
	PermContractRead       Permission = "contract:read"
	PermContractCreate     Permission = "contract:create"
	PermContractUpdate     Permission = "contract:update"
	PermContractUpdateOwn  Permission = "contract:update_own"
	PermEventRead          Permission = "event:read"
	PermEventCreateOwn     Permission = "event:create_own"
	PermEventUpdate        Permission = "event:update"
	PermEventUpdateAssign  Permission = "event:update_assigned"
	PermEventAssignSupport Permission = "event:assign_support"
	PermAuditRead          Permission = "audit:read"
	// Seeded by the change feed's migration, for every department.
	PermChangeRead Permission = "change:read"
)
