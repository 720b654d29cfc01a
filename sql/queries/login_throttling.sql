-- name: LockLoginAccount :exec
-- Attempts on one account queue here, then on their address (always in
-- this order), so that concurrent attempts cannot all slip under a limit.
SELECT pg_advisory_xact_lock(7243002, hashtext(@account::text));

-- name: LockLoginAddress :exec
SELECT pg_advisory_xact_lock(7243003, hashtext(@address::text));

-- name: GetLoginLockout :one
SELECT * FROM login_lockouts WHERE account = @account AND address = @address;

-- name: NthRecentLoginFailureOfAccount :one
-- The time of the (skip+1)-th newest failure of the account in the window:
-- when it exists the limit is reached, and it lifts when that one leaves.
SELECT at FROM login_failures
WHERE account = @account AND at > @since
ORDER BY at DESC
OFFSET @skip LIMIT 1;

-- name: NthRecentLoginFailureOfAddress :one
SELECT at FROM login_failures
WHERE address = @address AND at > @since
ORDER BY at DESC
OFFSET @skip LIMIT 1;

-- name: InsertLoginFailure :one
INSERT INTO login_failures (account, address, at) VALUES (@account, @address, @now)
RETURNING id;

-- name: DeleteLoginFailure :exec
DELETE FROM login_failures WHERE id = @id;

-- name: PutLoginLockout :exec
INSERT INTO login_lockouts (account, address, failures, last_failure_at, locked_until)
VALUES (@account, @address, @failures, @now, sqlc.narg(locked_until))
ON CONFLICT (account, address) DO UPDATE SET
    failures = excluded.failures,
    last_failure_at = excluded.last_failure_at,
    locked_until = excluded.locked_until;

-- name: DeleteLoginLockout :exec
DELETE FROM login_lockouts WHERE account = @account AND address = @address;

-- name: PruneLoginFailures :execrows
-- Housekeeping in small batches; rows another replica is pruning are skipped.
DELETE FROM login_failures WHERE id IN (
    SELECT f.id FROM login_failures f WHERE f.at <= @before
    ORDER BY f.at LIMIT 500
    FOR UPDATE SKIP LOCKED);

-- name: PruneLoginLockouts :execrows
DELETE FROM login_lockouts WHERE (account, address) IN (
    SELECT l.account, l.address FROM login_lockouts l
    WHERE l.last_failure_at <= @before AND (l.locked_until IS NULL OR l.locked_until <= @now::timestamptz)
    LIMIT 500
    FOR UPDATE SKIP LOCKED);
