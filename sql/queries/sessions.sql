-- name: CreateSession :exec
INSERT INTO sessions (id, collaborator_id, created_at, expires_at)
VALUES (@id, @collaborator_id, @now, @expires_at);

-- name: AuthenticateSession :one
-- One query per authenticated request: the session must be open and the
-- collaborator active, and the permissions come from the current department.
SELECT c.id, c.department,
       array(SELECT rp.permission FROM role_permissions rp
             WHERE rp.role = c.department ORDER BY rp.permission)::text[] AS permissions
FROM sessions s
JOIN collaborators c ON c.id = s.collaborator_id
WHERE s.id = @session_id
  AND s.collaborator_id = @collaborator_id
  AND s.revoked_at IS NULL
  AND s.expires_at > @now
  AND c.is_active
  AND c.deleted_at IS NULL;

-- name: RevokeSession :exec
UPDATE sessions SET revoked_at = @now::timestamptz WHERE id = @id AND revoked_at IS NULL;

-- name: RevokeSessionsOfCollaborator :exec
UPDATE sessions SET revoked_at = @now::timestamptz
WHERE collaborator_id = @collaborator_id AND revoked_at IS NULL
  AND id <> coalesce(sqlc.narg(keep_session_id)::uuid, '00000000-0000-0000-0000-000000000000');

-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)
VALUES (@token_hash, @session_id, @now, @expires_at);
