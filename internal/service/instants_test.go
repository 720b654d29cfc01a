package service

import (
	"testing"
	"time"

	"epicevents/internal/db"
)

// The driver reads timestamptz in the process's local zone; the API shows
// instants in UTC whatever that zone is.
func TestCollaboratorInstantsAreUTC(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2026, 1, 5, 18, 0, 0, 0, tokyo)
	c := toCollaborator(db.Collaborator{CreatedAt: at, UpdatedAt: at, DeletedAt: &at})
	for name, got := range map[string]time.Time{"created_at": c.CreatedAt, "updated_at": c.UpdatedAt, "deleted_at": *c.DeletedAt} {
		if got.Location() != time.UTC || !got.Equal(at) {
			t.Errorf("%s = %v, want %v in UTC", name, got, at.UTC())
		}
	}
}
