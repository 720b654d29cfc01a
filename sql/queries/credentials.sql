-- name: SetCollaboratorPassword :one
UPDATE collaborators SET
    password_hash = @password_hash,
    version = version + 1,
    updated_at = @now
WHERE id = @id
RETURNING *;
