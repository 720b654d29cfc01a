-- name: GetEvent :one
SELECT * FROM event_details WHERE id = @id;

-- name: LockEvent :one
-- Holds the row until the write commits; sent with the read of the record
-- as GET shows it, which then sees the row as locked.
SELECT id FROM events WHERE id = @id FOR UPDATE;

-- name: CreateEvent :exec
-- The id is chosen by the caller (see CreateClient).
INSERT INTO events (
    id, contract_id, name, start_at, end_at, timezone, location, attendees, notes,
    created_at, updated_at
) VALUES (
    @id, @contract_id, @name, @start_at, @end_at, @timezone, @location, @attendees, @notes,
    @now, @now
);

-- name: UpdateEvent :exec
UPDATE events SET
    name = @name,
    support_id = sqlc.narg(support_id),
    start_at = @start_at,
    end_at = @end_at,
    timezone = @timezone,
    location = @location,
    attendees = @attendees,
    notes = @notes,
    version = version + 1,
    updated_at = @now
WHERE id = @id;

-- name: ListEventsByStart :many
SELECT * FROM event_details
WHERE (sqlc.narg(contract_id)::uuid IS NULL OR contract_id = sqlc.narg(contract_id))
  AND (sqlc.narg(client_id)::uuid IS NULL OR client_id = sqlc.narg(client_id))
  AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (NOT @without_support::boolean OR support_id IS NULL)
  AND (sqlc.narg(support_id)::uuid IS NULL OR support_id = sqlc.narg(support_id))
  AND (sqlc.narg(starts_after)::timestamptz IS NULL OR start_at >= sqlc.narg(starts_after))
  AND (sqlc.narg(starts_before)::timestamptz IS NULL OR start_at < sqlc.narg(starts_before))
  AND (sqlc.narg(after_start_at)::timestamptz IS NULL
       OR ((start_at, id) >= (sqlc.narg(after_start_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY start_at, id
LIMIT @row_limit;

-- name: ListEventsByStartDesc :many
SELECT * FROM event_details
WHERE (sqlc.narg(contract_id)::uuid IS NULL OR contract_id = sqlc.narg(contract_id))
  AND (sqlc.narg(client_id)::uuid IS NULL OR client_id = sqlc.narg(client_id))
  AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (NOT @without_support::boolean OR support_id IS NULL)
  AND (sqlc.narg(support_id)::uuid IS NULL OR support_id = sqlc.narg(support_id))
  AND (sqlc.narg(starts_after)::timestamptz IS NULL OR start_at >= sqlc.narg(starts_after))
  AND (sqlc.narg(starts_before)::timestamptz IS NULL OR start_at < sqlc.narg(starts_before))
  AND (sqlc.narg(after_start_at)::timestamptz IS NULL
       OR ((start_at, id) <= (sqlc.narg(after_start_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY start_at DESC, id DESC
LIMIT @row_limit;

-- name: LockClientOfContract :exec
-- Held while an event is created for the contract, so that the client
-- cannot change commercial between the ownership check and the commit.
SELECT 1 FROM clients c
WHERE c.id = (SELECT k.client_id FROM contracts k WHERE k.id = @contract_id)
FOR SHARE OF c;
