-- name: ClaimIdempotencyKey :one
-- Claims the key for a new request, taking over a row whose 24 h are over
-- or whose request was abandoned without an answer. Returns no row when the
-- key is live.
INSERT INTO idempotency_keys (collaborator_id, key, fingerprint, created_at)
VALUES (@collaborator_id, @key, @fingerprint, @now)
ON CONFLICT (collaborator_id, key) DO UPDATE
SET fingerprint = excluded.fingerprint, created_at = excluded.created_at,
    status = NULL, content_type = '', location = '', etag = '', body = ''
WHERE idempotency_keys.created_at <= @expired_before
   OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at <= @abandoned_before)
RETURNING created_at;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE collaborator_id = @collaborator_id AND key = @key;

-- name: CompleteIdempotencyKey :exec
UPDATE idempotency_keys
SET status = @status, content_type = @content_type, location = @location, etag = @etag, body = @body
WHERE collaborator_id = @collaborator_id AND key = @key AND created_at = @created_at;

-- name: ReleaseIdempotencyKey :exec
DELETE FROM idempotency_keys
WHERE collaborator_id = @collaborator_id AND key = @key AND created_at = @created_at AND status IS NULL;

-- name: DeleteExpiredIdempotencyKeys :exec
DELETE FROM idempotency_keys WHERE created_at <= @expired_before;
