package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"epicevents/internal/db"
	"epicevents/internal/dbtest"
	"epicevents/internal/service"
)

// renderJSON stands in for the HTTP layer's rendering, which these tests
// do not read.
func renderJSON(record any) ([]byte, error) { return json.Marshal(record) }

func newCollaborators(t *testing.T) (*service.CollaboratorService, *db.Store) {
	store := db.NewStore(dbtest.New(t))
	return service.NewCollaboratorService(service.Deps{Store: store, Passwords: service.NewPasswords(bcrypt.MinCost), Render: renderJSON}), store
}

func createManager(t *testing.T, svc *service.CollaboratorService, username string, n int) service.Caller {
	t.Helper()
	c, err := svc.CreateManager(context.Background(), service.BootstrapInput{
		Username: username, Email: username + "@epic-events.test", Password: "a-manager-password",
	}, n)
	if err != nil {
		t.Fatal(err)
	}
	return service.Caller{ID: c.ID, Permissions: []service.Permission{service.PermCollaboratorUpdate}, RequestID: "test-" + username}
}

// Two managers deactivating each other at once must not leave none: the
// rule is enforced inside the transaction, so one of them loses.
func TestTwoManagersCannotRemoveEachOther(t *testing.T) {
	t.Parallel()
	svc, store := newCollaborators(t)
	ctx := context.Background()
	for round := range 20 {
		a := createManager(t, svc, fmt.Sprintf("ada%d", round), 2*round+1)
		b := createManager(t, svc, fmt.Sprintf("bob%d", round), 2*round+2)
		// Warm two connections so both updates really run at once.
		c1, _ := store.Pool().Acquire(ctx)
		c2, _ := store.Pool().Acquire(ctx)
		c1.Release()
		c2.Release()
		off := false
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]service.Caller{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.Update(context.Background(), pair[0], pair[1].ID,
					service.UpdateCollaboratorInput{IsActive: &off}, service.IfMatch{})
			}()
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				if service.ErrorCode(err) != service.CodeLastManager {
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
				failed++
			}
		}
		var active int
		if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM collaborators
			WHERE department = 'management' AND is_active AND id IN ($1, $2)`, a.ID, b.ID).Scan(&active); err != nil {
			t.Fatal(err)
		}
		// Retire this pair so the next round starts from two managers again.
		if _, err := store.Pool().Exec(ctx, `UPDATE collaborators SET department = 'support' WHERE id IN ($1, $2)`, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if failed != 1 || active != 1 {
			t.Fatalf("round %d: %d failed, %d managers left; want exactly one of each", round, failed, active)
		}
	}
}

func TestFirstManagerIsCreatedOnce(t *testing.T) {
	t.Parallel()
	svc, store := newCollaborators(t)
	in := service.BootstrapInput{Username: "manager", Email: "manager@epic-events.test", Password: "first-manager-secret"}
	var wg sync.WaitGroup
	created := make([]bool, 4)
	for i := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if created[i], err = svc.EnsureFirstManager(context.Background(), in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, err := store.CountCollaborators(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("collaborators = %d (%v), want 1", n, err)
	}
	count := 0
	for _, c := range created {
		if c {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d starts claimed to create the manager", count)
	}
}

func TestFirstManagerNeedsAPassword(t *testing.T) {
	t.Parallel()
	svc, _ := newCollaborators(t)
	_, err := svc.EnsureFirstManager(context.Background(), service.BootstrapInput{Username: "manager", Email: "m@epic-events.test"})
	if err == nil {
		t.Fatal("no error without a password")
	}
	_, err = svc.EnsureFirstManager(context.Background(), service.BootstrapInput{Username: "manager", Email: "m@epic-events.test", Password: "password1234"})
	if service.ErrorCode(err) != service.CodeValidation {
		t.Fatalf("a common bootstrap password was accepted: %v", err)
	}
}

// The last active manager can be neither deactivated, deleted nor moved
// out of management, whoever asks (here a caller who is not that manager,
// which only a race or a department change can produce).
func TestLastManagerStays(t *testing.T) {
	t.Parallel()
	svc, store := newCollaborators(t)
	ctx := context.Background()
	last := createManager(t, svc, "ada", 1)
	other := service.Caller{ID: uuid.New(), RequestID: "test-other",
		Permissions: []service.Permission{service.PermCollaboratorDelete, service.PermCollaboratorUpdate}}
	off, support := false, service.DepartmentSupport
	_, err := svc.Update(ctx, other, last.ID, service.UpdateCollaboratorInput{IsActive: &off}, service.IfMatch{})
	if service.ErrorCode(err) != service.CodeLastManager {
		t.Fatalf("deactivate: %v", err)
	}
	_, err = svc.Update(ctx, other, last.ID, service.UpdateCollaboratorInput{Department: &support}, service.IfMatch{})
	if service.ErrorCode(err) != service.CodeLastManager {
		t.Fatalf("move: %v", err)
	}
	if err := svc.Delete(ctx, other, last.ID, nil, service.IfMatch{}); service.ErrorCode(err) != service.CodeLastManager {
		t.Fatalf("delete: %v", err)
	}
	var n int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM collaborators
		WHERE id = $1 AND is_active AND deleted_at IS NULL AND department = 'management' AND version = 1`, last.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the last manager changed (%d, %v)", n, err)
	}
	// With a second manager, the first may go.
	bob := createManager(t, svc, "bob", 2)
	bob.Permissions = other.Permissions
	if err := svc.Delete(ctx, bob, last.ID, nil, service.IfMatch{}); err != nil {
		t.Fatalf("delete with another manager left: %v", err)
	}
}

// A leaving commercial's clients never land on a colleague who is leaving
// at the same moment: reassign_to is locked until the hand-over commits,
// so the hand-over waits for the colleague's departure and then refuses.
func TestReassignToCannotLeaveMeanwhile(t *testing.T) {
	t.Parallel()
	svc, store := newCollaborators(t)
	ctx := context.Background()
	manager := createManager(t, svc, "ada", 1)
	manager.Permissions = []service.Permission{service.PermClientCreate, service.PermCollaboratorCreate, service.PermCollaboratorUpdate}
	newCommercial := func(name string, n int) service.Caller {
		pw := "a-commercial-password"
		c, err := svc.Create(ctx, manager, service.CreateCollaboratorInput{EmployeeNumber: n, FirstName: "Com", LastName: "Mercial",
			Email: name + "@epic-events.test", Username: name, Department: service.DepartmentCommercial, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		return service.Caller{ID: c.ID, Permissions: []service.Permission{service.PermClientCreate}, RequestID: "test-" + name}
	}
	bill, anna := newCommercial("bill", 2), newCommercial("anna", 3)
	clients := service.NewClientService(service.Deps{Store: store, Render: renderJSON})
	if _, err := clients.Create(ctx, bill, service.CreateClientInput{FullName: "Kevin", Email: "kevin@x.test", Phone: "123456"}); err != nil {
		t.Fatal(err)
	}

	// Anna's own departure is in flight: her row is locked and changed.
	tx, err := store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE collaborators SET is_active = false WHERE id = $1`, anna.ID); err != nil {
		t.Fatal(err)
	}
	off, target := false, anna.ID
	done := make(chan error, 1)
	go func() {
		_, err := svc.Update(ctx, manager, bill.ID, service.UpdateCollaboratorInput{IsActive: &off, ReassignTo: &target}, service.IfMatch{})
		done <- err
	}()
	// Let the hand-over either finish or queue behind Anna's row lock.
	var result error
	finished := false
	for waiting := false; !waiting && !finished; {
		select {
		case result = <-done:
			finished = true
		default:
			var n int
			if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			waiting = n > 0
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished {
		result = <-done
	}
	if service.ErrorCode(result) != service.CodeValidation {
		t.Fatalf("hand-over to a departing colleague: %v", result)
	}
	var stranded int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM clients c JOIN collaborators m ON m.id = c.commercial_id
		WHERE NOT m.is_active`).Scan(&stranded); err != nil || stranded != 0 {
		t.Fatalf("%d client(s) owned by an inactive commercial (%v)", stranded, err)
	}
}
