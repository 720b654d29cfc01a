package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// LoginLimits are the login throttling rules. A zero field takes its
// default.
type LoginLimits struct {
	// LockoutThreshold consecutive failures of one account from one address
	// lock that pair for LockoutBase, doubling at each further failure up to
	// LockoutMax.
	LockoutThreshold int
	LockoutBase      time.Duration
	LockoutMax       time.Duration
	// AccountLimit and AddressLimit cap the failures of an account (from
	// every address) and of an address (on every account) per Window.
	AccountLimit int
	AddressLimit int
	Window       time.Duration
}

// DefaultLoginLimits are the contract's defaults.
var DefaultLoginLimits = LoginLimits{
	LockoutThreshold: 5,
	LockoutBase:      time.Minute,
	LockoutMax:       15 * time.Minute,
	AccountLimit:     50,
	AddressLimit:     100,
	Window:           15 * time.Minute,
}

func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	if l.LockoutThreshold <= 0 {
		l.LockoutThreshold = d.LockoutThreshold
	}
	if l.LockoutBase <= 0 {
		l.LockoutBase = d.LockoutBase
	}
	if l.LockoutMax <= 0 {
		l.LockoutMax = d.LockoutMax
	}
	l.LockoutMax = max(l.LockoutMax, l.LockoutBase)
	if l.AccountLimit <= 0 {
		l.AccountLimit = d.AccountLimit
	}
	if l.AddressLimit <= 0 {
		l.AddressLimit = d.AddressLimit
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return l
}

// lockoutFor is how long a pair with this many consecutive failures is
// refused: nothing below the threshold, then base, doubling, capped.
func (l LoginLimits) lockoutFor(failures int) time.Duration {
	if failures < l.LockoutThreshold {
		return 0
	}
	d := l.LockoutBase
	for i := l.LockoutThreshold; i < failures && d < l.LockoutMax; i++ {
		d *= 2
	}
	return min(d, l.LockoutMax)
}

// pairMemory is how long a pair's consecutive failures are remembered once
// it falls quiet (and its lock has lifted); it bounds the table under a
// spray of names.
const pairMemory = 24 * time.Hour

// accountOf names the account a login attempt counts against: the
// collaborator, or, when the name designates nobody, the name itself (as a
// digest, so that a password typed into the name field is never stored).
func accountOf(collaboratorID uuid.UUID) string {
	return "collaborator:" + collaboratorID.String()
}

func accountOfUnknownName(name string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(name)))
	return "name:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// addressKey is the address an attempt counts against. An IPv6 client
// usually holds a whole /64, so the /64 counts as one address.
func addressKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// attempt is a login or password check in progress. It is recorded as a
// failure before the password is compared, so that concurrent guesses
// cannot all pass under a limit; a success takes the record back.
type attempt struct {
	account, address string
	failureID        int64
}

// beginAttempt refuses the attempt with rate-limited when a limit holds,
// and otherwise records it as a failure.
func (a *AuthService) beginAttempt(ctx context.Context, account string, addr netip.Addr) (attempt, error) {
	at := attempt{account: account, address: addressKey(addr)}
	now := a.now()
	l := a.limits
	since := now.Add(-l.Window)
	var wait time.Duration
	err := a.Store.InTx(ctx, func(q *db.Queries) error {
		wait = 0 // a retried transaction starts over
		if err := q.LockLoginAccount(ctx, at.account); err != nil {
			return err
		}
		if err := q.LockLoginAddress(ctx, at.address); err != nil {
			return err
		}
		failures := 0
		pair, err := q.GetLoginLockout(ctx, db.GetLoginLockoutParams{Account: at.account, Address: at.address})
		switch {
		case err == nil:
			failures = int(pair.Failures)
			if pair.LockedUntil != nil && pair.LockedUntil.After(now) {
				wait = max(wait, pair.LockedUntil.Sub(now))
			}
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
		reached, err := q.NthRecentLoginFailureOfAccount(ctx, db.NthRecentLoginFailureOfAccountParams{
			Account: at.account, Since: since, Skip: int32(l.AccountLimit - 1)})
		if err := waitForLimit(&wait, reached, err, l.Window, now); err != nil {
			return err
		}
		reached, err = q.NthRecentLoginFailureOfAddress(ctx, db.NthRecentLoginFailureOfAddressParams{
			Address: at.address, Since: since, Skip: int32(l.AddressLimit - 1)})
		if err := waitForLimit(&wait, reached, err, l.Window, now); err != nil {
			return err
		}
		if wait > 0 {
			return nil
		}
		at.failureID, err = q.InsertLoginFailure(ctx, db.InsertLoginFailureParams{Account: at.account, Address: at.address, Now: now})
		if err != nil {
			return err
		}
		failures++
		var lockedUntil *time.Time
		if d := l.lockoutFor(failures); d > 0 {
			until := now.Add(d)
			lockedUntil = &until
		}
		return q.PutLoginLockout(ctx, db.PutLoginLockoutParams{
			Account: at.account, Address: at.address, Failures: int32(min(failures, 1<<30)),
			Now: now, LockedUntil: lockedUntil})
	})
	if err != nil {
		return attempt{}, fromDB(err)
	}
	if wait > 0 {
		return attempt{}, &Error{Code: CodeRateLimited, RetryAfter: wait,
			Detail: "Too many failed attempts; wait before trying again."}
	}
	return at, nil
}

// waitForLimit raises wait to how long a window limit still holds, given
// the failure that reached it (none when err is not-found).
func waitForLimit(wait *time.Duration, reachedAt time.Time, err error, window time.Duration, now time.Time) error {
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	*wait = max(*wait, reachedAt.Add(window).Sub(now))
	return nil
}

// succeeded takes back the failure recorded for the attempt and resets the
// pair's consecutive failures.
func (a *AuthService) succeeded(ctx context.Context, at attempt) error {
	return fromDB(a.Store.InTx(ctx, func(q *db.Queries) error {
		if err := q.DeleteLoginFailure(ctx, at.failureID); err != nil {
			return err
		}
		return q.DeleteLoginLockout(ctx, db.DeleteLoginLockoutParams{Account: at.account, Address: at.address})
	}))
}

// housekeep deletes throttling records and sessions nobody needs any
// more, in small batches. It is best effort: a failure here must not fail
// a login, and the next login tries again.
func (a *AuthService) housekeep(ctx context.Context) {
	now := a.now()
	_, _ = a.Store.PruneLoginFailures(ctx, now.Add(-a.limits.Window))
	_, _ = a.Store.PruneLoginLockouts(ctx, db.PruneLoginLockoutsParams{Before: now.Add(-pairMemory), Now: now})
	_, _ = a.Store.PruneRefreshTokens(ctx, now)
	_, _ = a.Store.PruneSessions(ctx, now.Add(-endedSessionMemory))
}

// endedSessionMemory keeps ended sessions a day, for whoever looks into
// one, before they are deleted.
const endedSessionMemory = 24 * time.Hour
