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

-- The lists without q: an index range read in the list's order.

-- name: ListClientsByCreatedDesc :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: ListClientsByFullName :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(after_full_name)::text IS NULL
       OR ((full_name, id) >= (sqlc.narg(after_full_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY full_name, id
LIMIT @row_limit;

-- name: ListClientsByCompanyName :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(after_company_name)::text IS NULL
       OR ((company_name, id) >= (sqlc.narg(after_company_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY company_name, id
LIMIT @row_limit;

-- name: ListClientsByLastContactDesc :many
SELECT * FROM client_details
WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
  AND (sqlc.narg(after_last_contact_at)::timestamptz IS NULL
       OR ((last_contact_at, id) <= (sqlc.narg(after_last_contact_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
ORDER BY last_contact_at DESC, id DESC
LIMIT @row_limit;

-- The lists with q (a term escaped for LIKE) take up to two steps, because
-- neither way to a page is fast for every term. Reading the list's index in
-- order and testing each row is fast when matches are common among the
-- rows read, and reads the whole table when they are rare or lie far from
-- the cursor; reading every match through the trigram index and sorting
-- them is fast when matches are few, and slow when they are thousands.
-- PostgreSQL picks one from estimates that do not see where the matches
-- lie in the order. So the service first tests the next @scan_limit rows
-- in order (ListClientsMatchingBy*, an index-only read: the indexes carry
-- the search text), which is the page when it finds a page of matches or
-- reaches the end of the list; only otherwise does it read every match
-- (ListClientsMatchingAllBy*, through the trigram index).
--
-- The first step returns its matches and, when it gets that far, the last
-- row it may read (position = @scan_limit, matched or not): that row tells
-- the service that the list goes on past what was tested.
--
-- The second step asks the trigram index with @probe, a LIKE pattern of
-- parts of the term in order (so every row holding the term matches it),
-- chosen by the service to leave out the trigrams most rows hold, whose
-- long posting lists cost the index more than they narrow the rows; strpos,
-- which no index serves, then keeps the rows that hold the whole @term.
--
-- SampleClientSearchText is what the service estimates trigrams' shares
-- from, read once every few minutes: the rows from a random id on (ids
-- are random), which is a random sample of rows read through the primary
-- key, a few thousand rows whatever the table's size. A sample of blocks
-- (TABLESAMPLE SYSTEM) would be cheaper but holds runs of clients created
-- together, whose emails share their trigrams.

-- name: ListClientsMatchingByCreatedDesc :many
SELECT sqlc.embed(d), c.position, c.matched
FROM (
    SELECT w.id, w.created_at, w.position, (w.search LIKE '%' || lower(@q::text) || '%')::boolean AS matched
    FROM (
        SELECT id, created_at, search, row_number() OVER (ORDER BY created_at DESC, id DESC) AS position
        FROM clients
        WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
          AND (sqlc.narg(after_created_at)::timestamptz IS NULL
               OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT @scan_limit
    ) w
    WHERE w.search LIKE '%' || lower(@q::text) || '%' OR w.position = @scan_limit
    ORDER BY w.created_at DESC, w.id DESC
    LIMIT @row_limit
) c
JOIN client_details d ON d.id = c.id
ORDER BY c.created_at DESC, c.id DESC;

-- name: ListClientsMatchingAllByCreatedDesc :many
WITH matches AS MATERIALIZED (
    SELECT id, created_at FROM clients
    WHERE search LIKE lower(@probe::text) AND strpos(search, lower(@term::text)) > 0
      AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
      AND (sqlc.narg(after_created_at)::timestamptz IS NULL
           OR ((created_at, id) <= (sqlc.narg(after_created_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
)
SELECT * FROM client_details
WHERE id IN (SELECT id FROM matches ORDER BY created_at DESC, id DESC LIMIT @row_limit)
ORDER BY created_at DESC, id DESC;

-- name: ListClientsMatchingByFullName :many
SELECT sqlc.embed(d), c.position, c.matched
FROM (
    SELECT w.id, w.full_name, w.position, (w.search LIKE '%' || lower(@q::text) || '%')::boolean AS matched
    FROM (
        SELECT id, full_name, search, row_number() OVER (ORDER BY full_name, id) AS position
        FROM clients
        WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
          AND (sqlc.narg(after_full_name)::text IS NULL
               OR ((full_name, id) >= (sqlc.narg(after_full_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
        ORDER BY full_name, id
        LIMIT @scan_limit
    ) w
    WHERE w.search LIKE '%' || lower(@q::text) || '%' OR w.position = @scan_limit
    ORDER BY w.full_name, w.id
    LIMIT @row_limit
) c
JOIN client_details d ON d.id = c.id
ORDER BY c.full_name, c.id;

-- name: ListClientsMatchingAllByFullName :many
WITH matches AS MATERIALIZED (
    SELECT id, full_name FROM clients
    WHERE search LIKE lower(@probe::text) AND strpos(search, lower(@term::text)) > 0
      AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
      AND (sqlc.narg(after_full_name)::text IS NULL
           OR ((full_name, id) >= (sqlc.narg(after_full_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
)
SELECT * FROM client_details
WHERE id IN (SELECT id FROM matches ORDER BY full_name, id LIMIT @row_limit)
ORDER BY full_name, id;

-- name: ListClientsMatchingByCompanyName :many
SELECT sqlc.embed(d), c.position, c.matched
FROM (
    SELECT w.id, w.company_name, w.position, (w.search LIKE '%' || lower(@q::text) || '%')::boolean AS matched
    FROM (
        SELECT id, company_name, search, row_number() OVER (ORDER BY company_name, id) AS position
        FROM clients
        WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
          AND (sqlc.narg(after_company_name)::text IS NULL
               OR ((company_name, id) >= (sqlc.narg(after_company_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
        ORDER BY company_name, id
        LIMIT @scan_limit
    ) w
    WHERE w.search LIKE '%' || lower(@q::text) || '%' OR w.position = @scan_limit
    ORDER BY w.company_name, w.id
    LIMIT @row_limit
) c
JOIN client_details d ON d.id = c.id
ORDER BY c.company_name, c.id;

-- name: ListClientsMatchingAllByCompanyName :many
WITH matches AS MATERIALIZED (
    SELECT id, company_name FROM clients
    WHERE search LIKE lower(@probe::text) AND strpos(search, lower(@term::text)) > 0
      AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
      AND (sqlc.narg(after_company_name)::text IS NULL
           OR ((company_name, id) >= (sqlc.narg(after_company_name)::text, @after_id::uuid) AND id <> @after_id::uuid))
)
SELECT * FROM client_details
WHERE id IN (SELECT id FROM matches ORDER BY company_name, id LIMIT @row_limit)
ORDER BY company_name, id;

-- name: ListClientsMatchingByLastContactDesc :many
SELECT sqlc.embed(d), c.position, c.matched
FROM (
    SELECT w.id, w.last_contact_at, w.position, (w.search LIKE '%' || lower(@q::text) || '%')::boolean AS matched
    FROM (
        SELECT id, last_contact_at, search, row_number() OVER (ORDER BY last_contact_at DESC, id DESC) AS position
        FROM clients
        WHERE (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
          AND (sqlc.narg(after_last_contact_at)::timestamptz IS NULL
               OR ((last_contact_at, id) <= (sqlc.narg(after_last_contact_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
        ORDER BY last_contact_at DESC, id DESC
        LIMIT @scan_limit
    ) w
    WHERE w.search LIKE '%' || lower(@q::text) || '%' OR w.position = @scan_limit
    ORDER BY w.last_contact_at DESC, w.id DESC
    LIMIT @row_limit
) c
JOIN client_details d ON d.id = c.id
ORDER BY c.last_contact_at DESC, c.id DESC;

-- name: ListClientsMatchingAllByLastContactDesc :many
WITH matches AS MATERIALIZED (
    SELECT id, last_contact_at FROM clients
    WHERE search LIKE lower(@probe::text) AND strpos(search, lower(@term::text)) > 0
      AND (sqlc.narg(commercial_id)::uuid IS NULL OR commercial_id = sqlc.narg(commercial_id))
      AND (sqlc.narg(after_last_contact_at)::timestamptz IS NULL
           OR ((last_contact_at, id) <= (sqlc.narg(after_last_contact_at)::timestamptz, @after_id::uuid) AND id <> @after_id::uuid))
)
SELECT * FROM client_details
WHERE id IN (SELECT id FROM matches ORDER BY last_contact_at DESC, id DESC LIMIT @row_limit)
ORDER BY last_contact_at DESC, id DESC;

-- name: SampleClientSearchText :many
WITH from_id AS (SELECT a.search FROM clients a WHERE a.id >= @from_id ORDER BY a.id LIMIT @row_limit),
     before_id AS (SELECT b.search FROM clients b WHERE b.id < @from_id ORDER BY b.id LIMIT @row_limit)
SELECT search FROM from_id
UNION ALL
SELECT search FROM before_id
LIMIT @row_limit;

-- name: EstimateClientRows :one
SELECT reltuples::float8 FROM pg_catalog.pg_class WHERE oid = 'clients'::regclass;

-- The bucket walk (sql/migrations/00012_client_search_buckets.sql): the
-- page of a search by name or company read in order through the buckets
-- that may hold the term, or no row when the walk tested @scan_limit rows
-- first (or found no match). The walk is called in a subquery, which the
-- planner does not run to estimate what it returns (as it would run a
-- function of constants in id = ANY (...)).

-- name: ListClientsInSearchBucketsByFullName :many
SELECT * FROM client_details
WHERE id IN (SELECT unnest(client_search_walk('f', @term::text, sqlc.narg(after_full_name)::text, @after_id::uuid,
                                                @row_limit::integer, @scan_limit::integer)))
ORDER BY full_name, id;

-- name: ListClientsInSearchBucketsByCompanyName :many
SELECT * FROM client_details
WHERE id IN (SELECT unnest(client_search_walk('c', @term::text, sqlc.narg(after_company_name)::text, @after_id::uuid,
                                                @row_limit::integer, @scan_limit::integer)))
ORDER BY company_name, id;

-- name: ClientSearchState :one
SELECT current, current_rows, building FROM client_search_state;

-- A rebuild of the buckets runs these steps, each its own transaction
-- (see the migration).

-- name: BeginClientSearchBuckets :one
SELECT client_search_begin(@rows_per_bucket::integer)::integer AS generation;

-- name: WaitForClientWriters :exec
SELECT client_search_wait_for_writers();

-- name: FillClientSearchBuckets :exec
SELECT client_search_fill(@generation::integer);

-- name: FinishClientSearchBuckets :one
SELECT client_search_finish(@generation::integer)::boolean AS finished;

-- name: DropReplacedClientSearchBuckets :exec
SELECT client_search_drop_replaced();

-- name: AbandonClientSearchBuckets :exec
SELECT client_search_abandon(@generation::integer);
