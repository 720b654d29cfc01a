-- A prototype, measured and not migrated (BENCHMARKS.md, "Searches"):
-- buckets of the name and company orders, and the pieces of search text
-- each bucket holds, so that a search in those orders skips the buckets
-- that cannot hold its term (bench/search_buckets_page.sql reads a page
-- so). Run it on a freshly seeded database (`api seed`).
--
-- A search sorted by name or company is read in the list's order (see
-- sql/queries/clients.sql), which is slow when the term's matches all sort
-- far from the cursor: the rows before them are read for nothing. So the
-- two orders are cut into buckets, runs of about the same number of
-- clients between bounds (a name or company and an id, compared as the
-- list compares them, whatever the collation), and for every bucket the
-- database notes which three-character pieces of search text its clients
-- hold. A bucket that lacks one of a term's pieces holds no match, and a
-- search skips it. The notes only grow (a client renamed leaves its old
-- pieces noted), so they may name a bucket with no match, never miss one.
CREATE TABLE client_search_bounds (
    sort   "char" NOT NULL CHECK (sort IN ('f', 'c')), -- f: full_name, c: company_name
    bucket integer NOT NULL CHECK (bucket > 0),        -- bucket 0 is before the first bound
    key    text NOT NULL,
    id     uuid NOT NULL,
    PRIMARY KEY (sort, bucket)
);
CREATE INDEX client_search_bounds_key_idx ON client_search_bounds (sort, key, id);

CREATE TABLE client_search_pieces (
    sort   "char" NOT NULL,
    piece  text NOT NULL,
    bucket integer NOT NULL,
    PRIMARY KEY (sort, piece, bucket)
);

-- client_search_pieces_of is every run of three letters of a search text,
-- repeats included. A search asks for the pieces of its term through the
-- same function, so both sides cut text alike. Only letters: the digits
-- and dots of emails would double the pieces a write notes, and a piece
-- left out of both sides only narrows less. (Neither STRICT nor DISTINCT:
-- either would keep PostgreSQL from inlining it, which makes it several
-- times faster in a rebuild.)
CREATE FUNCTION client_search_pieces_of(search text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr(search, i, 3) FROM generate_series(1, char_length(search) - 2) i
    WHERE substr(search, i, 3) ~ '^[[:alpha:]]{3}$'
$$;

-- client_search_bucket is the bucket of a row of one order: the number of
-- bounds at or before it.
CREATE FUNCTION client_search_bucket(order_sort "char", order_key text, row_id uuid) RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce((SELECT b.bucket FROM client_search_bounds b
                     WHERE b.sort = order_sort AND (b.key, b.id) <= (order_key, row_id)
                     ORDER BY b.key DESC, b.id DESC LIMIT 1), 0)
$$;

CREATE FUNCTION note_client_search_pieces() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Looked up once here: inside the INSERT below, the plan evaluated
    -- them again for every piece, which cost a client insert 8 ms.
    by_name integer := client_search_bucket('f', NEW.full_name, NEW.id);
    by_company integer := client_search_bucket('c', NEW.company_name, NEW.id);
BEGIN
    -- Most pieces are noted already: testing first is cheaper than
    -- letting each insert conflict.
    INSERT INTO client_search_pieces (sort, piece, bucket)
    SELECT o.sort, p.piece, o.bucket
    FROM (VALUES ('f'::"char", by_name), ('c'::"char", by_company)) o (sort, bucket),
         (SELECT DISTINCT piece FROM client_search_pieces_of(NEW.search) piece) p
    WHERE NOT EXISTS (SELECT FROM client_search_pieces n
                      WHERE n.sort = o.sort AND n.piece = p.piece AND n.bucket = o.bucket)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER clients_note_search_pieces AFTER INSERT OR UPDATE OF full_name, company_name, email ON clients
    FOR EACH ROW EXECUTE FUNCTION note_client_search_pieces();

-- rebuild_client_search_buckets cuts both orders again into buckets of
-- rows_per_bucket clients and notes their pieces afresh; it returns the
-- number of buckets per order. Client writes wait while it runs (a write
-- noted against the old bounds would be missed): 11 s for the 200,000
-- seeded clients.
CREATE FUNCTION rebuild_client_search_buckets(rows_per_bucket integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    step bigint := greatest(rows_per_bucket, 1);
    buckets integer;
BEGIN
    LOCK TABLE clients IN SHARE MODE;
    LOCK TABLE client_search_bounds, client_search_pieces IN EXCLUSIVE MODE;
    DELETE FROM client_search_pieces;
    DELETE FROM client_search_bounds;
    -- The pieces are grouped in memory (a spill to disk costs twice the time).
    PERFORM set_config('work_mem', '512MB', true);
    CREATE TEMPORARY TABLE client_search_rows ON COMMIT DROP AS
        SELECT id, full_name, company_name, search,
               (row_number() OVER (ORDER BY full_name, id) - 1) / step AS f,
               (row_number() OVER (ORDER BY company_name, id) - 1) / step AS c
        FROM clients;
    INSERT INTO client_search_bounds (sort, bucket, key, id)
        SELECT DISTINCT ON (f) 'f', f, full_name, id FROM client_search_rows WHERE f > 0
        ORDER BY f, full_name, id;
    INSERT INTO client_search_bounds (sort, bucket, key, id)
        SELECT DISTINCT ON (c) 'c', c, company_name, id FROM client_search_rows WHERE c > 0
        ORDER BY c, company_name, id;
    CREATE TEMPORARY TABLE client_search_row_pieces ON COMMIT DROP AS
        SELECT r.f, r.c, p FROM client_search_rows r, client_search_pieces_of(r.search) p;
    INSERT INTO client_search_pieces (sort, piece, bucket)
        SELECT 'f', p, f FROM client_search_row_pieces GROUP BY f, p;
    INSERT INTO client_search_pieces (sort, piece, bucket)
        SELECT 'c', p, c FROM client_search_row_pieces GROUP BY c, p;
    DROP TABLE client_search_row_pieces;
    DROP TABLE client_search_rows;
    SELECT count(*) + 1 INTO buckets FROM client_search_bounds WHERE sort = 'f';
    RETURN buckets;
END
$$;

SELECT rebuild_client_search_buckets(500);
ANALYZE client_search_bounds, client_search_pieces;

