-- name: GetCalendarFeed :one
SELECT * FROM calendar_feeds WHERE collaborator_id = @collaborator_id;

-- name: ReplaceCalendarFeed :one
-- A second feed replaces the first, whose URL dies with its hash.
INSERT INTO calendar_feeds (collaborator_id, token_hash, created_at)
VALUES (@collaborator_id, @token_hash, @now)
ON CONFLICT (collaborator_id) DO UPDATE
    SET token_hash = excluded.token_hash, created_at = excluded.created_at, last_used_at = NULL
RETURNING *;

-- name: DeleteCalendarFeed :execrows
DELETE FROM calendar_feeds WHERE collaborator_id = @collaborator_id;

-- name: OpenCalendarFeed :one
-- The feed of a live collaborator, with the permissions of their current
-- department, which say which events it shows.
SELECT f.collaborator_id, f.last_used_at,
       array(SELECT rp.permission FROM role_permissions rp WHERE rp.role = c.department)::text[] AS permissions
FROM calendar_feeds f
JOIN collaborators c ON c.id = f.collaborator_id
WHERE f.token_hash = @token_hash AND c.is_active AND c.deleted_at IS NULL;

-- name: TouchCalendarFeed :exec
UPDATE calendar_feeds SET last_used_at = @now::timestamptz
WHERE collaborator_id = @collaborator_id
  AND (last_used_at IS NULL OR last_used_at <= @used_before);

-- name: CalendarEvents :many
-- The events a feed shows, soonest first: every event, or those the owner
-- supports, or those of the owner's clients (the union when several apply).
SELECT * FROM event_details
WHERE start_at >= @starts_from AND start_at < @starts_until
  AND (@every_event::boolean
       OR (@assigned::boolean AND support_id = @collaborator_id)
       OR (@own_clients::boolean AND commercial_id = @collaborator_id))
ORDER BY start_at, id
LIMIT @row_limit;
