-- name: AppendChange :one
INSERT INTO changes (type, record_id, version, actor_id, request_id, data, at)
VALUES (@type, @record_id, @version, @actor_id, @request_id, @data, @at)
RETURNING id;

-- name: GetChange :one
SELECT c.id, c.type, c.record_id, c.version, c.actor_id, c.request_id, c.data, c.at,
       coalesce(a.first_name || ' ' || a.last_name, '')::text AS actor_full_name
FROM changes c
LEFT JOIN collaborators a ON a.id = c.actor_id
WHERE c.id = @id;

-- name: ChangeFeedBounds :one
-- The first position kept is after pruned_through; the head is the last
-- position visible now (or pruned_through when nothing is kept).
SELECT f.pruned_through,
       greatest(f.pruned_through, coalesce((SELECT max(c.position) FROM changes c), 0))::bigint AS head
FROM change_feed f;

-- name: ListChanges :many
SELECT c.id, c.position::bigint AS position, c.type, c.record_id, c.version, c.actor_id,
       c.request_id, c.data, c.at,
       coalesce(a.first_name || ' ' || a.last_name, '')::text AS actor_full_name
FROM changes c
LEFT JOIN collaborators a ON a.id = c.actor_id
WHERE c.position > @after::bigint
  AND (sqlc.narg(types)::text[] IS NULL OR c.type = ANY (sqlc.narg(types)::text[]))
ORDER BY c.position
LIMIT @row_limit;

-- name: PruneChanges :one
-- Removes every change up to the last one written before the cutoff (a
-- prefix of positions), and remembers how far it went.
-- At most @batch changes at a time, so one statement stays short.
WITH cut AS (
    SELECT coalesce(max(k.position), 0)::bigint AS upto
    FROM (SELECT o.position FROM changes o WHERE o.at < @before ORDER BY o.position LIMIT @batch) k
), gone AS (
    DELETE FROM changes d WHERE d.position <= (SELECT upto FROM cut) RETURNING 1
), moved AS (
    UPDATE change_feed SET pruned_through = greatest(pruned_through, (SELECT upto FROM cut))
    RETURNING pruned_through
)
SELECT (SELECT count(*) FROM gone)::bigint AS pruned, (SELECT pruned_through FROM moved)::bigint AS pruned_through;
