-- name: CountCollaborators :one
SELECT count(*) FROM collaborators;

-- name: CreateCollaborator :one
INSERT INTO collaborators (
    employee_number, first_name, last_name, email, username, department,
    password_hash, created_at, updated_at
) VALUES (
    @employee_number, @first_name, @last_name, @email, @username, @department,
    @password_hash, @now, @now
)
RETURNING *;

-- name: GetCollaborator :one
SELECT * FROM collaborators WHERE id = @id;

-- name: GetCollaboratorForUpdate :one
SELECT * FROM collaborators WHERE id = @id FOR UPDATE;

-- name: GetCollaboratorByLogin :one
-- Login takes a username or an email, both matched case-insensitively.
SELECT * FROM collaborators
WHERE lower(username) = lower(@login) OR lower(email) = lower(@login)
ORDER BY lower(username) = lower(@login) DESC
LIMIT 1;

-- name: UpdateCollaborator :one
UPDATE collaborators SET
    employee_number = @employee_number,
    first_name = @first_name,
    last_name = @last_name,
    email = @email,
    username = @username,
    department = @department,
    password_hash = @password_hash,
    is_active = @is_active,
    deleted_at = @deleted_at,
    version = version + 1,
    updated_at = @now
WHERE id = @id
RETURNING *;

-- name: LockActiveManagers :many
-- Taken inside the transaction that would remove a manager, so that two
-- managers removing each other at once cannot leave none.
SELECT id FROM collaborators
WHERE department = 'management' AND is_active AND deleted_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: ListCollaboratorsByLastName :many
SELECT * FROM collaborators
WHERE deleted_at IS NULL
  AND (sqlc.narg(department)::text IS NULL OR department = sqlc.narg(department))
  AND (sqlc.narg(active)::boolean IS NULL OR is_active = sqlc.narg(active))
  AND (sqlc.narg(q)::text IS NULL OR search LIKE '%' || lower(sqlc.narg(q)) || '%')
  AND (sqlc.narg(after_last_name)::text IS NULL
       OR ((last_name, id) >= (sqlc.narg(after_last_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY last_name, id
LIMIT @row_limit;

-- name: ListCollaboratorsByCreatedDesc :many
SELECT * FROM collaborators
WHERE deleted_at IS NULL
  AND (sqlc.narg(department)::text IS NULL OR department = sqlc.narg(department))
  AND (sqlc.narg(active)::boolean IS NULL OR is_active = sqlc.narg(active))
  AND (sqlc.narg(q)::text IS NULL OR search LIKE '%' || lower(sqlc.narg(q)) || '%')
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: PermissionsOfRole :many
SELECT permission FROM role_permissions WHERE role = @role ORDER BY permission;

-- name: LockBootstrap :exec
-- Serialises replicas that would each create the first manager.
SELECT pg_advisory_xact_lock(7243001);

-- name: NextEmployeeNumber :one
-- The number after the highest one ever given (deleted collaborators keep theirs).
SELECT (coalesce(max(employee_number), 0) + 1)::integer AS next FROM collaborators;
