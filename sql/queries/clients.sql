-- name: GetClient :one
SELECT * FROM client_details WHERE id = @id;

-- name: LockClient :one
-- Holds the row until the write commits; sent with the read of the record
-- as GET shows it, which then sees the row as locked.
SELECT id FROM clients WHERE id = @id FOR UPDATE;

-- name: CreateClient :exec
-- The id is chosen by the caller, so that the read of the new record can
-- be sent with the insert.
INSERT INTO clients (
    id, full_name, email, phone, company_name, commercial_id,
    first_contact_at, last_contact_at, created_at, updated_at
) VALUES (
    @id, @full_name, @email, @phone, @company_name, @commercial_id,
    @first_contact_at, @last_contact_at, @now, @now
);

-- name: UpdateClient :exec
UPDATE clients SET
    full_name = @full_name,
    email = @email,
    phone = @phone,
    company_name = @company_name,
    commercial_id = @commercial_id,
    first_contact_at = @first_contact_at,
    last_contact_at = @last_contact_at,
    version = version + 1,
    updated_at = @now
WHERE id = @id;

-- name: ListClientsByCreatedDesc :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(q)::text IS NULL
       OR full_name ILIKE '%' || sqlc.narg(q) || '%'
       OR company_name ILIKE '%' || sqlc.narg(q) || '%'
       OR email ILIKE '%' || sqlc.narg(q) || '%')
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: ListClientsByFullName :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(q)::text IS NULL
       OR full_name ILIKE '%' || sqlc.narg(q) || '%'
       OR company_name ILIKE '%' || sqlc.narg(q) || '%'
       OR email ILIKE '%' || sqlc.narg(q) || '%')
  AND (sqlc.narg(after_full_name)::text IS NULL
       OR ((full_name, id) >= (sqlc.narg(after_full_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY full_name, id
LIMIT @row_limit;

-- name: ListClientsByCompanyName :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(q)::text IS NULL
       OR full_name ILIKE '%' || sqlc.narg(q) || '%'
       OR company_name ILIKE '%' || sqlc.narg(q) || '%'
       OR email ILIKE '%' || sqlc.narg(q) || '%')
  AND (sqlc.narg(after_company_name)::text IS NULL
       OR ((company_name, id) >= (sqlc.narg(after_company_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY company_name, id
LIMIT @row_limit;

-- name: ListClientsByLastContactDesc :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(q)::text IS NULL
       OR full_name ILIKE '%' || sqlc.narg(q) || '%'
       OR company_name ILIKE '%' || sqlc.narg(q) || '%'
       OR email ILIKE '%' || sqlc.narg(q) || '%')
  AND (sqlc.narg(after_last_contact_at)::timestamptz IS NULL
       OR ((last_contact_at, id) <= (sqlc.narg(after_last_contact_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY last_contact_at DESC, id DESC
LIMIT @row_limit;
