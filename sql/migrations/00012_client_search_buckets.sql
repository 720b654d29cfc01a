-- +goose Up
-- A search sorted by name or company first tests the next rows in the
-- list's order (sql/queries/clients.sql), which is slow when the term's
-- matches all sort far from the cursor: the rows before them are tested
-- for nothing. So each of the two orders is cut into buckets, runs of
-- about the same number of clients, and for every bucket the database
-- notes which runs of three letters ("pieces") of search text its
-- clients hold. A bucket that lacks one of a term's pieces holds no
-- match, and the walk skips it (client_search_walk).
--
-- A bucket's bounds are a sort key and an id that the database itself
-- compares, so buckets follow the list's order under any collation (a
-- prefix would not: in most collations "Ébert" sorts before "Eve").
-- The notes only grow (a client renamed leaves its old pieces noted), so
-- they may name a bucket with no match, never miss one. The buckets are
-- rebuilt as the table grows, into a new generation while the current
-- one serves (ClientService.RebuildSearchBuckets); client writes go on
-- meanwhile.

-- The one row of client_search_state says which generation searches read
-- (none before the first rebuild) and which one a rebuild is filling.
CREATE TABLE client_search_state (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    current        integer,
    current_rows   bigint NOT NULL DEFAULT 0, -- the clients the current one was built from
    building       integer,
    building_since timestamptz
);
INSERT INTO client_search_state DEFAULT VALUES;

-- Bucket b of an order holds the rows after its bound (the last row of
-- bucket b - 1) up to the bound of bucket b + 1; bucket 0 has none.
CREATE TABLE client_search_bounds (
    generation integer NOT NULL,
    sort       "char" NOT NULL CHECK (sort IN ('f', 'c')), -- f: full_name, c: company_name
    bucket     integer NOT NULL CHECK (bucket > 0),
    key        text NOT NULL,
    id         uuid NOT NULL,
    PRIMARY KEY (generation, sort, bucket)
);
CREATE INDEX client_search_bounds_key_idx ON client_search_bounds (generation, sort, key, id);

CREATE TABLE client_search_pieces (
    generation integer NOT NULL,
    sort       "char" NOT NULL,
    piece      text NOT NULL,
    bucket     integer NOT NULL,
    PRIMARY KEY (generation, sort, piece, bucket)
);

-- The clients written while a rebuild fills its generation, whose pieces
-- it notes before it makes the generation current.
CREATE TABLE client_search_pending (client_id uuid NOT NULL);

-- client_search_pieces_of is every run of three letters of a search text,
-- repeats included. Terms are cut by the same function, so both sides
-- agree on what a letter is. Only letters: the digits and dots of emails
-- would double the pieces a write notes, and a piece that neither side
-- holds only narrows less. (Neither STRICT nor DISTINCT: either would keep
-- PostgreSQL from inlining it, which makes a rebuild several times faster.)
CREATE FUNCTION client_search_pieces_of(search text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr(search, i, 3) FROM generate_series(1, char_length(search) - 2) i
    WHERE substr(search, i, 3) ~ '^[[:alpha:]]{3}$'
$$;

-- client_search_bucket is the bucket of a row of one order: the number of
-- bounds before it.
CREATE FUNCTION client_search_bucket(gen integer, order_sort "char", order_key text, row_id uuid) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT b.bucket FROM client_search_bounds b
                     WHERE b.generation = gen AND b.sort = order_sort AND (b.key, b.id) < (order_key, row_id)
                     ORDER BY b.key DESC, b.id DESC LIMIT 1), 0)
$$;

-- client_search_note notes a client's pieces in a generation.
-- +goose StatementBegin
CREATE FUNCTION client_search_note(gen integer, client clients) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    -- Looked up once here: inside the INSERT, the plan evaluated them
    -- again for every piece.
    by_name integer := client_search_bucket(gen, 'f', client.full_name, client.id);
    by_company integer := client_search_bucket(gen, 'c', client.company_name, client.id);
BEGIN
    -- Most pieces are noted already: testing first is cheaper than
    -- letting each insert conflict. Two writes that note the same new
    -- piece wait for each other; in one order of keys for all, never
    -- each for the other (a deadlock).
    INSERT INTO client_search_pieces (generation, sort, piece, bucket)
    SELECT gen, o.sort, p.piece, o.bucket
    FROM (VALUES ('f'::"char", by_name), ('c'::"char", by_company)) o (sort, bucket),
         (SELECT DISTINCT piece FROM client_search_pieces_of(client.search) piece) p
    WHERE NOT EXISTS (SELECT FROM client_search_pieces n
                      WHERE n.generation = gen AND n.sort = o.sort AND n.piece = p.piece AND n.bucket = o.bucket)
    ORDER BY o.sort, p.piece
    ON CONFLICT DO NOTHING;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION client_search_note_written() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    state client_search_state;
BEGIN
    SELECT * INTO state FROM client_search_state;
    IF state.current IS NOT NULL THEN
        PERFORM client_search_note(state.current, NEW);
    END IF;
    IF state.building IS NOT NULL THEN
        INSERT INTO client_search_pending (client_id) VALUES (NEW.id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER clients_note_search_pieces AFTER INSERT OR UPDATE OF full_name, company_name, email ON clients
    FOR EACH ROW EXECUTE FUNCTION client_search_note_written();

-- A rebuild runs in five steps, each its own transaction, so that client
-- writes wait for none of them but the fourth, and that one briefly:
--   1. client_search_begin: the new generation's bounds; from its commit
--      on, every client write is listed as pending.
--   2. client_search_wait_for_writers: waits for the writes that began
--      before step 1 (they may not be listed), so that step 3 sees them.
--   3. client_search_fill: the pieces of every client step 3 sees.
--   4. client_search_finish: with client writes held, the pieces of the
--      pending clients; then the generation becomes current.
--   5. client_search_drop_replaced: the generation it replaced goes.
-- This holds for writes in READ COMMITTED, where the trigger reads the
-- state as of its own statement (every client write is).

-- client_search_begin starts a generation cut into buckets of
-- rows_per_bucket and returns it, or 0 while another rebuild runs
-- (one that began over an hour ago is taken as dead and replaced).
-- +goose StatementBegin
CREATE FUNCTION client_search_begin(rows_per_bucket integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    step bigint := greatest(rows_per_bucket, 1);
    gen integer;
BEGIN
    SELECT coalesce(greatest(current, building), 0) + 1 INTO gen FROM client_search_state
    WHERE building IS NULL OR building_since < now() - interval '1 hour'
    FOR UPDATE;
    IF gen IS NULL THEN
        RETURN 0;
    END IF;
    -- What a dead rebuild left.
    DELETE FROM client_search_pending;
    DELETE FROM client_search_pieces WHERE generation IS DISTINCT FROM (SELECT current FROM client_search_state);
    DELETE FROM client_search_bounds WHERE generation IS DISTINCT FROM (SELECT current FROM client_search_state);
    -- The bound of bucket b is the last row of bucket b - 1.
    INSERT INTO client_search_bounds (generation, sort, bucket, key, id)
    SELECT gen, 'f', r.n / step, r.full_name, r.id
    FROM (SELECT full_name, id, row_number() OVER (ORDER BY full_name, id) AS n, count(*) OVER () AS total FROM clients) r
    WHERE r.n % step = 0 AND r.n < r.total;
    INSERT INTO client_search_bounds (generation, sort, bucket, key, id)
    SELECT gen, 'c', r.n / step, r.company_name, r.id
    FROM (SELECT company_name, id, row_number() OVER (ORDER BY company_name, id) AS n, count(*) OVER () AS total FROM clients) r
    WHERE r.n % step = 0 AND r.n < r.total;
    UPDATE client_search_state SET building = gen, building_since = now();
    RETURN gen;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION client_search_wait_for_writers() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- SHARE waits for every transaction that has written clients, and is
    -- released at once by the caller's commit.
    LOCK TABLE clients IN SHARE MODE;
END
$$;
-- +goose StatementEnd

-- client_search_fill notes the pieces of every client in gen. A client's
-- bucket is the number of bounds before it in its order, counted in one
-- pass over the clients and the bounds sorted together (a bound sorts
-- after the client it names); a lookup per client would cost ten times
-- more. The pieces are grouped in memory (a spill to disk costs twice the
-- time).
-- +goose StatementBegin
CREATE FUNCTION client_search_fill(gen integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('work_mem', '512MB', true);
    CREATE TEMPORARY TABLE client_search_rows ON COMMIT DROP AS
    SELECT by_name.id, by_name.search, by_name.bucket AS f, by_company.bucket AS c
    FROM (SELECT u.id, u.search, u.bound,
                 count(*) FILTER (WHERE u.bound) OVER (ORDER BY u.key, u.id, u.bound ROWS UNBOUNDED PRECEDING) AS bucket
          FROM (SELECT full_name AS key, id, search, false AS bound FROM clients
                UNION ALL
                SELECT key, id, NULL, true FROM client_search_bounds WHERE generation = gen AND sort = 'f') u) by_name
    JOIN (SELECT u.id, u.bound,
                 count(*) FILTER (WHERE u.bound) OVER (ORDER BY u.key, u.id, u.bound ROWS UNBOUNDED PRECEDING) AS bucket
          FROM (SELECT company_name AS key, id, false AS bound FROM clients
                UNION ALL
                SELECT key, id, true FROM client_search_bounds WHERE generation = gen AND sort = 'c') u) by_company
      ON by_company.id = by_name.id AND NOT by_company.bound
    WHERE NOT by_name.bound;
    CREATE TEMPORARY TABLE client_search_row_pieces ON COMMIT DROP AS
        SELECT r.f, r.c, p FROM client_search_rows r, client_search_pieces_of(r.search) p;
    INSERT INTO client_search_pieces (generation, sort, piece, bucket)
        SELECT gen, 'f', p, f FROM client_search_row_pieces GROUP BY f, p
        ON CONFLICT DO NOTHING;
    INSERT INTO client_search_pieces (generation, sort, piece, bucket)
        SELECT gen, 'c', p, c FROM client_search_row_pieces GROUP BY c, p
        ON CONFLICT DO NOTHING;
    DROP TABLE client_search_row_pieces;
    DROP TABLE client_search_rows;
    -- Without statistics of the new generation, the planner takes it for
    -- empty, and a walk would filter every piece noted instead of looking
    -- the term's up.
    ANALYZE client_search_bounds, client_search_pieces;
END
$$;
-- +goose StatementEnd

-- client_search_finish makes gen current, once the pending clients are
-- noted; it returns false when gen is no longer the one being built (a
-- later rebuild replaced it). The generation it replaces is dropped after
-- (client_search_drop_replaced), without holding writes.
-- +goose StatementBegin
CREATE FUNCTION client_search_finish(gen integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- Writes wait until this commits: none can be left off the list.
    LOCK TABLE clients IN SHARE MODE;
    PERFORM FROM client_search_state WHERE building = gen FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM client_search_note(gen, c)
    FROM clients c WHERE c.id IN (SELECT client_id FROM client_search_pending);
    DELETE FROM client_search_pending;
    UPDATE client_search_state
    SET current = gen, building = NULL, building_since = NULL,
        current_rows = (SELECT count(*) FROM clients);
    RETURN true;
END
$$;
-- +goose StatementEnd

-- client_search_drop_replaced drops every generation but the current one
-- and one being built.
-- +goose StatementBegin
CREATE FUNCTION client_search_drop_replaced() RETURNS void LANGUAGE sql AS $$
    DELETE FROM client_search_pieces p USING client_search_state s
    WHERE p.generation IS DISTINCT FROM s.current AND p.generation IS DISTINCT FROM s.building;
    DELETE FROM client_search_bounds b USING client_search_state s
    WHERE b.generation IS DISTINCT FROM s.current AND b.generation IS DISTINCT FROM s.building;
$$;
-- +goose StatementEnd

-- client_search_abandon stops the rebuild of gen (one that failed), so
-- that client writes are no longer listed for it.
-- +goose StatementBegin
CREATE FUNCTION client_search_abandon(gen integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE client_search_state SET building = NULL, building_since = NULL WHERE building = gen;
    DELETE FROM client_search_pending;
    DELETE FROM client_search_pieces WHERE generation = gen;
    DELETE FROM client_search_bounds WHERE generation = gen;
END
$$;
-- +goose StatementEnd

-- client_search_walk returns, in the order of sort ('f' by full_name, 'c'
-- by company_name), the ids of the first row_limit clients after the
-- cursor whose search text holds term, reading in order only the buckets
-- that hold all its pieces; it returns NULL when it tested scan_limit
-- rows before it had them all (the caller then asks the trigram index).
-- Before the first rebuild there is one bucket, the whole order.
-- +goose StatementBegin
CREATE FUNCTION client_search_walk(order_sort "char", term text, after_key text, after_id uuid,
                                   row_limit integer, scan_limit integer) RETURNS uuid[]
-- Each statement below is meant to read an index range in order, whatever
-- its values, so it is planned once per connection (not again on each of
-- its first five runs), and without the scans a plan that knows no values
-- may prefer on a small table: reading it whole, or a bitmap then a sort.
-- (The cost PostgreSQL gives a scan it is told to avoid would pass the
-- bar for compiling a plan to machine code, which costs more than the
-- walk: jit is off.)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $$
DECLARE
    needle text := lower(term);
    pieces text[] := ARRAY(SELECT DISTINCT p FROM client_search_pieces_of(needle) p);
    gen integer := (SELECT current FROM client_search_state WHERE only_row);
    first_bucket integer := 0;
    page_ids uuid[] := '{}';
    budget integer := scan_limit;
    candidates integer[];
    b integer;
    -- The rows of a bucket: after its lower bound, or the cursor, or
    -- none ('' and the nil id sort before every row); up to its upper
    -- bound, or the end.
    lo_key text;
    lo_id uuid;
    hi_key text;
    hi_id uuid;
    tested integer;
    ids uuid[];
BEGIN
    IF gen IS NULL THEN
        candidates := '{0}';
    ELSE
        IF after_key IS NOT NULL THEN
            first_bucket := client_search_bucket(gen, order_sort, after_key, after_id);
        END IF;
        IF cardinality(pieces) = 0 THEN
            candidates := ARRAY(SELECT first_bucket UNION ALL
                                SELECT a.bucket FROM client_search_bounds a
                                WHERE a.generation = gen AND a.sort = order_sort AND a.bucket > first_bucket
                                ORDER BY 1);
        ELSE
            candidates := ARRAY(SELECT n.bucket FROM client_search_pieces n
                                WHERE n.generation = gen AND n.sort = order_sort
                                  AND n.piece = ANY (pieces) AND n.bucket >= first_bucket
                                GROUP BY n.bucket HAVING count(*) = cardinality(pieces)
                                ORDER BY n.bucket);
        END IF;
    END IF;
    -- The bounds of the buckets read only (a page seldom reads many).
    FOREACH b IN ARRAY candidates LOOP
        -- A bound that is not there leaves NULLs.
        SELECT x.key, x.id INTO lo_key, lo_id FROM client_search_bounds x
        WHERE x.generation = gen AND x.sort = order_sort AND x.bucket = b;
        lo_key := coalesce(lo_key, '');
        lo_id := coalesce(lo_id, '00000000-0000-0000-0000-000000000000');
        SELECT x.key, x.id INTO hi_key, hi_id FROM client_search_bounds x
        WHERE x.generation = gen AND x.sort = order_sort AND x.bucket = b + 1;
        IF after_key IS NOT NULL AND (after_key, after_id) > (lo_key, lo_id) THEN
            lo_key := after_key;
            lo_id := after_id;
        END IF;
        -- One statement per order and per kind of bucket (the last has no
        -- upper bound), so each keeps a plan that reads its index range.
        -- The upper bound is a key and an id, but an index scan stops only
        -- at the first column of a row comparison (before PostgreSQL 18):
        -- the rows up to the bound's key, and those of that key up to its
        -- id, are read as two ranges, each stopping where it should.
        IF order_sort = 'f' AND hi_key IS NOT NULL THEN
            SELECT count(*), coalesce(array_agg(r.id ORDER BY r.full_name, r.id) FILTER (WHERE strpos(r.search, needle) > 0), '{}')
            INTO tested, ids
            FROM (SELECT u.* FROM ((SELECT x.id, x.full_name, x.search FROM clients x
                   WHERE (x.full_name, x.id) > (lo_key, lo_id) AND x.full_name < hi_key
                   ORDER BY x.full_name, x.id LIMIT budget)
                  UNION ALL
                  (SELECT x.id, x.full_name, x.search FROM clients x
                   WHERE x.full_name = hi_key AND x.id <= hi_id
                     AND x.id > CASE WHEN lo_key = hi_key THEN lo_id ELSE '00000000-0000-0000-0000-000000000000' END
                   ORDER BY x.id LIMIT budget)) u
                  ORDER BY u.full_name, u.id LIMIT budget) r;
        ELSIF order_sort = 'f' THEN
            SELECT count(*), coalesce(array_agg(r.id ORDER BY r.full_name, r.id) FILTER (WHERE strpos(r.search, needle) > 0), '{}')
            INTO tested, ids
            FROM (SELECT x.id, x.full_name, x.search FROM clients x
                  WHERE (x.full_name, x.id) > (lo_key, lo_id)
                  ORDER BY x.full_name, x.id LIMIT budget) r;
        ELSIF hi_key IS NOT NULL THEN
            SELECT count(*), coalesce(array_agg(r.id ORDER BY r.company_name, r.id) FILTER (WHERE strpos(r.search, needle) > 0), '{}')
            INTO tested, ids
            FROM (SELECT u.* FROM ((SELECT x.id, x.company_name, x.search FROM clients x
                   WHERE (x.company_name, x.id) > (lo_key, lo_id) AND x.company_name < hi_key
                   ORDER BY x.company_name, x.id LIMIT budget)
                  UNION ALL
                  (SELECT x.id, x.company_name, x.search FROM clients x
                   WHERE x.company_name = hi_key AND x.id <= hi_id
                     AND x.id > CASE WHEN lo_key = hi_key THEN lo_id ELSE '00000000-0000-0000-0000-000000000000' END
                   ORDER BY x.id LIMIT budget)) u
                  ORDER BY u.company_name, u.id LIMIT budget) r;
        ELSE
            SELECT count(*), coalesce(array_agg(r.id ORDER BY r.company_name, r.id) FILTER (WHERE strpos(r.search, needle) > 0), '{}')
            INTO tested, ids
            FROM (SELECT x.id, x.company_name, x.search FROM clients x
                  WHERE (x.company_name, x.id) > (lo_key, lo_id)
                  ORDER BY x.company_name, x.id LIMIT budget) r;
        END IF;
        page_ids := page_ids || ids[1:row_limit - cardinality(page_ids)];
        IF cardinality(page_ids) >= row_limit THEN
            RETURN page_ids;
        END IF;
        IF tested >= budget THEN
            -- Cut short: the bucket may hold more matches.
            RETURN NULL;
        END IF;
        -- An empty bucket still costs a read.
        budget := budget - greatest(tested, 1);
        IF budget <= 0 THEN
            RETURN NULL;
        END IF;
    END LOOP;
    RETURN page_ids;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER clients_note_search_pieces ON clients;
DROP FUNCTION client_search_walk(order_sort "char", term text, after_key text, after_id uuid, row_limit integer, scan_limit integer);
DROP FUNCTION client_search_drop_replaced();
DROP FUNCTION client_search_abandon(integer);
DROP FUNCTION client_search_finish(integer);
DROP FUNCTION client_search_fill(integer);
DROP FUNCTION client_search_wait_for_writers();
DROP FUNCTION client_search_begin(integer);
DROP FUNCTION client_search_note_written();
DROP FUNCTION client_search_note(integer, clients);
DROP FUNCTION client_search_bucket(integer, "char", text, uuid);
DROP FUNCTION client_search_pieces_of(text);
DROP TABLE client_search_pending;
DROP TABLE client_search_pieces;
DROP TABLE client_search_bounds;
DROP TABLE client_search_state;
