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

-- name: GetRefreshTokenForUpdate :one
-- Locks the token, so that two refreshes with one token are one rotation
-- and one reuse, never two rotations.
SELECT rt.session_id, rt.expires_at, rt.rotated_at,
       s.collaborator_id, s.expires_at AS session_expires_at, s.revoked_at AS session_revoked_at,
       c.is_active AS collaborator_is_active, c.deleted_at AS collaborator_deleted_at
FROM refresh_tokens rt
JOIN sessions s ON s.id = rt.session_id
JOIN collaborators c ON c.id = s.collaborator_id
WHERE rt.token_hash = @token_hash
FOR UPDATE OF rt;

-- name: MarkRefreshTokenRotated :exec
UPDATE refresh_tokens SET rotated_at = @now::timestamptz WHERE token_hash = @token_hash;

-- name: ExtendSession :exec
UPDATE sessions SET expires_at = @expires_at WHERE id = @id;

-- name: PruneSessions :execrows
-- Sessions that ended (expired or revoked) before the given instant go, with
-- their refresh tokens; a token of a deleted session is simply unknown.
DELETE FROM sessions WHERE id IN (
    SELECT s.id FROM sessions s
    WHERE s.expires_at <= @before OR s.revoked_at <= @before
    LIMIT 500
    FOR UPDATE SKIP LOCKED);

-- name: PruneRefreshTokens :execrows
DELETE FROM refresh_tokens WHERE token_hash IN (
    SELECT rt.token_hash FROM refresh_tokens rt WHERE rt.expires_at <= @before
    LIMIT 500
    FOR UPDATE SKIP LOCKED);
