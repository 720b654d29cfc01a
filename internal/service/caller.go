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
	Permissions []string // sorted
	// RequestID ties audit rows and logs to the request.
	RequestID string
}

// Can reports whether the caller holds the permission.
func (c Caller) Can(permission string) bool {
	_, ok := slices.BinarySearch(c.Permissions, permission)
	return ok
}

// CanAny reports whether the caller holds one of the permissions.
func (c Caller) CanAny(permissions ...string) bool {
	return slices.ContainsFunc(permissions, c.Can)
}

// The permission names seeded by the first migration.
const (
	PermCollaboratorRead   = "collaborator:read"
	PermCollaboratorCreate = "collaborator:create"
	PermCollaboratorUpdate = "collaborator:update"
	PermCollaboratorDelete = "collaborator:delete"
	PermClientRead         = "client:read"
	PermClientCreate       = "client:create"
	PermClientUpdateOwn    = "client:update_own"
	PermClientReassign     = "client:reassign"
	PermContractRead       = "contract:read"
	PermContractCreate     = "contract:create"
	PermContractUpdate     = "contract:update"
	PermContractUpdateOwn  = "contract:update_own"
	PermEventRead          = "event:read"
	PermEventCreateOwn     = "event:create_own"
	PermEventUpdate        = "event:update"
	PermEventUpdateAssign  = "event:update_assigned"
	PermEventAssignSupport = "event:assign_support"
	PermAuditRead          = "audit:read"
)
