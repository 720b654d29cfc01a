-- name: CountLiveTokensOfCollaborator :one
SELECT count(*) FROM personal_access_tokens
WHERE collaborator_id = @collaborator_id AND revoked_at IS NULL AND expires_at > @now;

-- name: CreatePersonalAccessToken :one
INSERT INTO personal_access_tokens (
    id, collaborator_id, name, scopes, token_hash, token_prefix, created_by, created_at, expires_at
) VALUES (
    @id, @collaborator_id, @name, @scopes, @token_hash, @token_prefix, @created_by, @now, @expires_at
)
RETURNING *;

-- name: ListTokensOfCollaborator :many
-- Newest first; revoked tokens are gone from the list, expired ones stay.
SELECT * FROM personal_access_tokens
WHERE collaborator_id = @collaborator_id AND revoked_at IS NULL
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: RevokePersonalAccessToken :one
UPDATE personal_access_tokens SET revoked_at = @now::timestamptz, revoked_by = @revoked_by
WHERE id = @id AND collaborator_id = @collaborator_id AND revoked_at IS NULL
RETURNING *;

-- name: RevokeTokensOfCollaborator :exec
UPDATE personal_access_tokens SET revoked_at = @now::timestamptz, revoked_by = @revoked_by
WHERE collaborator_id = @collaborator_id AND revoked_at IS NULL;

-- name: AuthenticatePersonalAccessToken :one
-- One query per request made with a token: the token must be live, its
-- owner active, and what it may do is its scopes within the permissions of
-- the owner's current department.
SELECT t.id, t.collaborator_id, t.last_used_at,
       array(SELECT rp.permission FROM role_permissions rp
             WHERE rp.role = c.department AND rp.permission = ANY (t.scopes))::text[] AS permissions
FROM personal_access_tokens t
JOIN collaborators c ON c.id = t.collaborator_id
WHERE t.token_hash = @token_hash
  AND t.revoked_at IS NULL
  AND t.expires_at > @now
  AND c.is_active
  AND c.deleted_at IS NULL;

-- name: TouchPersonalAccessToken :exec
-- At most one write a minute per token, however many requests it serves.
UPDATE personal_access_tokens SET last_used_at = @now::timestamptz
WHERE id = @id AND (last_used_at IS NULL OR last_used_at <= @used_before);
