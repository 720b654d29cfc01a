-- name: CountWebhooks :one
SELECT count(*) FROM webhooks;

-- name: LockWebhooks :exec
-- Serialises creations, so two cannot both pass the count.
LOCK TABLE webhooks IN SHARE ROW EXCLUSIVE MODE;

-- name: CreateWebhook :one
INSERT INTO webhooks (id, url, types, description, is_active, secret_sealed, version, created_at, updated_at)
VALUES (@id, @url, @types, @description, true, @secret_sealed, 1, @now, @now)
RETURNING *;

-- name: GetWebhook :one
SELECT * FROM webhooks WHERE id = @id;

-- name: GetWebhookForUpdate :one
SELECT * FROM webhooks WHERE id = @id FOR UPDATE;

-- name: ListWebhooks :many
SELECT * FROM webhooks
WHERE sqlc.narg(after_created_at)::timestamptz IS NULL
   OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: UpdateWebhook :one
UPDATE webhooks SET url = @url, types = @types, description = @description, is_active = @is_active,
    disabled_reason = sqlc.narg(disabled_reason), version = version + 1, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: RotateWebhookSecret :one
UPDATE webhooks SET secret_sealed = @secret_sealed, previous_secret_sealed = sqlc.narg(previous_secret_sealed),
    previous_secret_until = sqlc.narg(previous_secret_until), version = version + 1, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: DeleteWebhook :execrows
DELETE FROM webhooks WHERE id = @id;
