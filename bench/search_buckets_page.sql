-- A prototype page read over bench/search_buckets.sql: the first :limit
-- clients in :col order (full_name or company_name; :sort is 'f' or 'c')
-- whose search text holds :'term', reading in order only the buckets that
-- hold every piece of the term. For psql:
--   psql -v term=zoé -v col=full_name -v sort=f -v limit=21 -f bench/search_buckets_page.sql
-- A term without a piece (shorter than three characters) reads every bucket.
WITH term AS (SELECT p FROM client_search_pieces_of(lower(:'term')) p),
candidates AS (
    SELECT n.bucket FROM client_search_pieces n
    WHERE n.sort = :'sort' AND n.piece IN (SELECT p FROM term)
    GROUP BY n.bucket HAVING count(*) = (SELECT count(DISTINCT p) FROM term)
    UNION ALL
    SELECT b.bucket FROM (SELECT 0 AS bucket UNION ALL SELECT bucket FROM client_search_bounds WHERE sort = :'sort') b
    WHERE NOT EXISTS (SELECT FROM term)
),
ranges AS (
    SELECT c.bucket,
           coalesce(lo.key, '') AS lo_key, coalesce(lo.id, '00000000-0000-0000-0000-000000000000') AS lo_id,
           hi.key AS hi_key, hi.id AS hi_id
    FROM candidates c
    LEFT JOIN client_search_bounds lo ON lo.sort = :'sort' AND lo.bucket = c.bucket
    LEFT JOIN client_search_bounds hi ON hi.sort = :'sort' AND hi.bucket = c.bucket + 1
)
SELECT m.id, m.:col
FROM (SELECT * FROM ranges ORDER BY bucket) r
CROSS JOIN LATERAL (
    (SELECT id, :col FROM clients
     WHERE (:col, id) >= (r.lo_key, r.lo_id) AND (:col, id) < (r.hi_key, r.hi_id)
       AND strpos(search, lower(:'term')) > 0
     ORDER BY :col, id LIMIT :limit)
    UNION ALL
    (SELECT id, :col FROM clients
     WHERE r.hi_key IS NULL AND (:col, id) >= (r.lo_key, r.lo_id)
       AND strpos(search, lower(:'term')) > 0
     ORDER BY :col, id LIMIT :limit)) m
ORDER BY r.bucket, m.:col, m.id
LIMIT :limit;
