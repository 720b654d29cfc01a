-- name: GetContract :one
SELECT * FROM contract_details WHERE id = @id;

-- name: LockContract :one
-- Holds the row until the write commits; sent with the read of the record
-- as GET shows it, which then sees the row as locked.
SELECT id FROM contracts WHERE id = @id FOR UPDATE;

-- name: CreateContract :exec
-- The id is chosen by the caller (see CreateClient).
INSERT INTO contracts (
    id, client_id, total_amount, amount_due, currency, signed, signed_at, created_at, updated_at
) VALUES (
    @id, @client_id, @total_amount, @amount_due, @currency, @signed, sqlc.narg(signed_at), @now, @now
);

-- name: UpdateContract :exec
UPDATE contracts SET
    total_amount = @total_amount,
    amount_due = @amount_due,
    signed = @signed,
    signed_at = sqlc.narg(signed_at),
    version = version + 1,
    updated_at = @now
WHERE id = @id;

-- name: ListContractsByCreatedDesc :many
SELECT * FROM contract_details
WHERE (sqlc.narg(client_id)::uuid IS NULL OR client_id = sqlc.narg(client_id))
  AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(signed)::boolean IS NULL OR signed = sqlc.narg(signed))
  AND (sqlc.narg(fully_paid)::boolean IS NULL OR (amount_due = 0) = sqlc.narg(fully_paid))
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: ListContractsByAmountDueDesc :many
-- The keyset condition is "(amount_due, id) <= cursor, but not the cursor's
-- row" rather than "(amount_due, id) < cursor": the planner estimates a row
-- comparison by its first column alone, so "<" among the many zero amounts
-- ("amount_due < 0") looks like an empty range and the wrong index is
-- chosen, while "<=" is estimated right. The other lists do the same.
SELECT * FROM contract_details
WHERE (sqlc.narg(client_id)::uuid IS NULL OR client_id = sqlc.narg(client_id))
  AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(signed)::boolean IS NULL OR signed = sqlc.narg(signed))
  AND (sqlc.narg(fully_paid)::boolean IS NULL OR (amount_due = 0) = sqlc.narg(fully_paid))
  AND (sqlc.narg(after_amount_due)::numeric IS NULL
       OR ((amount_due, id) <= (sqlc.narg(after_amount_due)::numeric, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY amount_due DESC, id DESC
LIMIT @row_limit;
