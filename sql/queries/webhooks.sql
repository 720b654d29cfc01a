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

-- name: SubscribedWebhooks :many
-- The active webhooks a change of this type goes to. FOR SHARE makes a
-- concurrent disable wait for this fan-out's deliveries (and cancel them),
-- or this fan-out wait for the disable and see the webhook inactive.
SELECT id FROM webhooks
WHERE is_active AND (cardinality(types) = 0 OR @type::text = ANY (types))
ORDER BY id
FOR SHARE;

-- name: CreateDelivery :one
-- At most one delivery of a change per webhook, however often the
-- fan-out runs.
INSERT INTO webhook_deliveries (id, webhook_id, change_id, message_id, type, body, status, next_attempt_at, created_at, updated_at)
VALUES (@id, @webhook_id, sqlc.narg(change_id), @message_id, @type, @body, 'pending', @now::timestamptz, @now::timestamptz, @now::timestamptz)
ON CONFLICT (webhook_id, change_id) DO NOTHING
RETURNING *;

-- name: GetDeliveryForUpdate :one
SELECT * FROM webhook_deliveries WHERE id = @id AND webhook_id = @webhook_id FOR UPDATE;

-- name: GetDeliveryByIDForUpdate :one
SELECT * FROM webhook_deliveries WHERE id = @id FOR UPDATE;

-- name: StartDeliveryAttempt :exec
UPDATE webhook_deliveries SET in_flight = true, updated_at = @now WHERE id = @id;

-- name: FinishDeliveryAttempt :one
-- A delivery cancelled while its attempt was in flight stays cancelled:
-- the attempt is counted and its answer kept, but nothing is scheduled.
UPDATE webhook_deliveries SET
    status = CASE WHEN status = 'cancelled' THEN status ELSE @status::text END,
    attempts = attempts + 1, in_flight = false,
    last_response_status = sqlc.narg(last_response_status), last_error = sqlc.narg(last_error),
    next_attempt_at = CASE WHEN status = 'cancelled' THEN NULL ELSE sqlc.narg(next_attempt_at)::timestamptz END,
    updated_at = @now
WHERE id = @id
RETURNING *;

-- name: CancelDelivery :exec
UPDATE webhook_deliveries SET status = 'cancelled', in_flight = false, next_attempt_at = NULL, updated_at = @now
WHERE id = @id;

-- name: RequeueDelivery :one
UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = @now::timestamptz, updated_at = @now::timestamptz
WHERE id = @id
RETURNING *;

-- name: CancelPendingDeliveries :execrows
-- Disabling a webhook cancels every pending delivery; removing types
-- cancels those of the types no longer subscribed (pings stay).
UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = @now
WHERE webhook_id = @webhook_id AND status IN ('pending', 'failed')
  AND (NOT @active::boolean
       OR (cardinality(@types::text[]) > 0 AND type <> 'ping' AND NOT (type = ANY (@types::text[]))));

-- name: DisableWebhookGone :one
UPDATE webhooks SET is_active = false, disabled_reason = 'gone', version = version + 1, updated_at = @now
WHERE id = @id AND is_active
RETURNING *;

-- name: TakePing :one
-- At most one ping a minute per webhook: the row is only updated when the
-- last one is older than @since.
UPDATE webhooks SET last_ping_at = @now::timestamptz
WHERE id = @id AND (last_ping_at IS NULL OR last_ping_at <= @since::timestamptz)
RETURNING *;

-- name: ListDeliveries :many
SELECT * FROM webhook_deliveries
WHERE webhook_id = @webhook_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: PruneDeliveries :execrows
DELETE FROM webhook_deliveries WHERE created_at < @before;

-- name: ListWebhooksForUpdate :many
SELECT * FROM webhooks ORDER BY id FOR UPDATE;

-- name: ResealWebhookSecrets :exec
-- Moves the sealed secrets to the current key; the secrets themselves and
-- the webhook's version do not change.
UPDATE webhooks SET secret_sealed = @secret_sealed, previous_secret_sealed = sqlc.narg(previous_secret_sealed)
WHERE id = @id;
