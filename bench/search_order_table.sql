-- A prototype, measured and not migrated (BENCHMARKS.md, "Searches"): an
-- index that gives a search term's matches in a list's order. Run it on a
-- freshly seeded database (`api seed`), then time client inserts with
-- bench/insert_client.pgbench as BENCHMARKS.md says.
--
-- A table of (trigram, client, the four sort keys), a B-tree per
-- sort, kept by a trigger. A page of a term's matches in a sort's order is
-- then an index-only read of the rarest trigram's entries from the cursor.
SET max_parallel_workers_per_gather = 0;
CREATE TABLE search_trigram_order AS
SELECT DISTINCT substr(c.search, i, 3) AS trigram, c.id AS client_id,
       c.full_name, c.company_name, c.created_at, c.last_contact_at
FROM clients c, generate_series(1, length(c.search) - 2) i
WHERE strpos(substr(c.search, i, 3), E'\n') = 0;
CREATE INDEX ON search_trigram_order (trigram COLLATE "C", full_name, client_id);
CREATE INDEX ON search_trigram_order (trigram COLLATE "C", company_name, client_id);
CREATE INDEX ON search_trigram_order (trigram COLLATE "C", created_at, client_id);
CREATE INDEX ON search_trigram_order (trigram COLLATE "C", last_contact_at, client_id);
CREATE FUNCTION search_trigram_order_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_trigram_order (trigram, client_id, full_name, company_name, created_at, last_contact_at)
    SELECT DISTINCT substr(NEW.search, i, 3), NEW.id, NEW.full_name, NEW.company_name, NEW.created_at, NEW.last_contact_at
    FROM generate_series(1, length(NEW.search) - 2) i
    WHERE strpos(substr(NEW.search, i, 3), E'\n') = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER search_trigram_order_insert AFTER INSERT ON clients
    FOR EACH ROW EXECUTE FUNCTION search_trigram_order_insert();
VACUUM ANALYZE search_trigram_order;

-- The first page of q=zoé&sort=full_name through it:
EXPLAIN (ANALYZE, BUFFERS)
SELECT c.id, c.full_name
FROM search_trigram_order t JOIN clients c ON c.id = t.client_id
WHERE t.trigram COLLATE "C" = 'zoé' AND strpos(c.search, 'zoé') > 0
ORDER BY t.trigram COLLATE "C", t.full_name, t.client_id
LIMIT 21;

-- To undo it: DROP TRIGGER search_trigram_order_insert ON clients;
-- DROP FUNCTION search_trigram_order_insert(); DROP TABLE search_trigram_order;
