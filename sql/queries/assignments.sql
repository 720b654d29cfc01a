-- name: GetCollaboratorForShare :one
-- Locks a collaborator a record is being given to, so that they cannot be
-- deactivated or moved until the write commits.
SELECT * FROM collaborators WHERE id = @id FOR SHARE;

-- name: CountClientsOfCommercial :one
SELECT count(*) FROM clients WHERE commercial_id = @commercial_id;

-- name: CountUpcomingEventsOfSupport :one
SELECT count(*) FROM events WHERE support_id = @support_id::uuid AND end_at > @now;

-- name: MoveClients :many
UPDATE clients SET commercial_id = @to_id, version = version + 1, updated_at = @now
WHERE commercial_id = @from_id
RETURNING id;

-- name: MoveUpcomingEvents :many
UPDATE events SET support_id = @to_id::uuid, version = version + 1, updated_at = @now
WHERE support_id = @from_id::uuid AND end_at > @now
RETURNING id;
