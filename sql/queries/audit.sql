-- name: CreateAuditEntry :exec
INSERT INTO audit_entries (record_type, record_id, action, actor_id, changes, request_id, at)
VALUES (@record_type, @record_id, @action, @actor_id, @changes, @request_id, @at);

-- name: ListAuditEntries :many
SELECT a.id, a.seq, a.action, a.actor_id, a.changes, a.request_id, a.at,
       coalesce(c.first_name || ' ' || c.last_name, '')::text AS actor_full_name
FROM audit_entries a
LEFT JOIN collaborators c ON c.id = a.actor_id
WHERE a.record_type = @record_type AND a.record_id = @record_id
  AND (sqlc.narg(after_seq)::bigint IS NULL OR a.seq < sqlc.narg(after_seq))
ORDER BY a.seq DESC
LIMIT @row_limit;
