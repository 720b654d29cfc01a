-- A prototype, measured and not migrated (BENCHMARKS.md, "Searches"): one
-- GIN index of tokens made of a sort, a bucket of its key and a trigram.
-- The buckets here (the first two characters of a name, the day of an
-- instant) are only right in a collation that sorts by code point; they
-- serve to measure what the index costs client inserts. Run it on a
-- freshly seeded database (`api seed`), then time inserts with
-- bench/insert_client.pgbench as BENCHMARKS.md says.

CREATE FUNCTION search_order_tokens(search text, full_name text, company_name text,
        created_at timestamptz, last_contact_at timestamptz) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(DISTINCT k || t)
    FROM (SELECT substr(search, i, 3) AS t FROM generate_series(1, length(search) - 2) i
          WHERE strpos(substr(search, i, 3), E'\n') = 0) g,
         unnest(ARRAY['f' || left(full_name, 2), 'c' || left(company_name, 2),
                      'd' || (extract(epoch FROM created_at)::bigint / 86400)::text,
                      'l' || (extract(epoch FROM last_contact_at)::bigint / 86400)::text]) k
$$;
CREATE INDEX search_order_tokens_idx ON clients
    USING gin (search_order_tokens(search, full_name, company_name, created_at, last_contact_at));
