-- The PostgreSQL ceiling of a statement write, as a pgbench script.
--
-- One transaction inserts :batch statements exactly as lrsd stores them:
-- the statements row and one statement_index row per index key, into the
-- same tables and indexes (the ceiling database is made by `lrsd
-- migrate`). The rows are copies of rows lrsd itself stored from the
-- same generated statements (bench_src, see bench/run), given a new id,
-- the next sequence number and the current time, so sizes, keys and
-- index fan-out are lrsd's own. It is one statement (no BEGIN/COMMIT
-- round trips), runs prepared, and does none of the work lrsd adds
-- around the rows: no advisory lock, no clock query, no voiding checks,
-- no JSON over the wire. Variables: pool (rows in bench_src), batch.
\set first random(1, :pool - :batch + 1)
\set last :first + :batch - 1
WITH src AS (
    SELECT * FROM bench_src WHERE n BETWEEN :first AND :last
), ins AS (
    INSERT INTO statements (store_id, seq, stored, ts, id, registration,
        voids, ref_target, actor_key, verb_id, object_type, object_id,
        context_parents, context_groupings, index_kinds, index_digests,
        voided, body)
    SELECT 1, nextval('statements_seq'),
        date_trunc('milliseconds', clock_timestamp()), ts,
        gen_random_uuid(), registration, voids, ref_target, actor_key,
        verb_id, object_type, object_id, context_parents, context_groupings,
        index_kinds, index_digests, false, body
    FROM src ORDER BY n
    RETURNING seq, index_kinds, index_digests
)
INSERT INTO statement_index (store_id, kind, digest, seq)
SELECT 1, x.kind, x.digest, ins.seq
FROM ins CROSS JOIN LATERAL unnest(ins.index_kinds, ins.index_digests)
    AS x(kind, digest);
