/*
 * The SQL of lrsd, in one place. See sql.h.
 *
 * The writer inserts a batch of rows with one statement: the rows arrive
 * as parallel arrays (binary parameters), are unnested, numbered from
 * statements_seq in array order, and inserted together with their
 * statement_index rows. A row's index keys are the slice [key_lo, key_hi]
 * of the flat key arrays. When some row's object is a StatementRef, the
 * variant with refs also files the row under every key of its target,
 * read from the target's index arrays.
 */
#include "store/sql.h"

#include <stdarg.h>
#include <stdio.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* The group's stored time: the clock (to the millisecond), but never
 * before the previous group's. */
#define WRITER_CLOCK_UPDATE                                                 \
    "UPDATE writer_clock SET stored = greatest(stored,"                     \
    " date_trunc('milliseconds', clock_timestamp()))"

/* $1 store_id, $2 stored, $3-$16 one array element per row, $17-$18 the
 * flat key arrays. */
#define INSERT_INPUT                                                        \
    "WITH input AS ("                                                       \
    " SELECT * FROM unnest($3::uuid[], $4::text[], $5::timestamptz[],"      \
    "  $6::text[], $7::text[], $8::text[], $9::text[], $10::uuid[],"        \
    "  $11::uuid[], $12::uuid[], $13::text[], $14::text[], $15::int4[],"    \
    "  $16::int4[])"                                                        \
    "  WITH ORDINALITY AS t(id, body, ts, actor_key, verb_id, object_type," \
    "   object_id, registration, voids, ref_target, parents, groupings,"    \
    "   key_lo, key_hi, ord)"                                               \
    ")"

#define OWN_KINDS "($17::int2[])[i.key_lo:i.key_hi]"
#define OWN_DIGESTS "($18::uuid[])[i.key_lo:i.key_hi]"

/* The INSERT itself, given the expressions of the two index arrays and
 * what to join input with. */
#define INSERT_ROWS(kinds, digests, join)                                   \
    ", ins AS ("                                                            \
    " INSERT INTO statements (store_id, seq, stored, ts, id, registration," \
    "  voids, ref_target, actor_key, verb_id, object_type, object_id,"      \
    "  context_parents, context_groupings, index_kinds, index_digests,"     \
    "  voided, body)"                                                       \
    " SELECT $1::int4, nextval('statements_seq'), $2::timestamptz, i.ts,"   \
    "  i.id, i.registration, i.voids, i.ref_target, i.actor_key,"           \
    "  i.verb_id, i.object_type, i.object_id,"                              \
    "  CASE WHEN i.parents IS NOT NULL THEN"                                \
    "   ARRAY(SELECT jsonb_array_elements_text(i.parents::jsonb)) END,"     \
    "  CASE WHEN i.groupings IS NOT NULL THEN"                              \
    "   ARRAY(SELECT jsonb_array_elements_text(i.groupings::jsonb)) END,"   \
    "  " kinds ", " digests ","                                             \
    /* The voiding statement may have arrived before its target. "voids   \
     * IS NOT NULL" lets any plan of this (a probe per row, or a hash of   \
     * all voided ids) read the small partial index of voiding statements  \
     * instead of the store's statements. */                               \
    "  i.voids IS NULL AND EXISTS (SELECT 1 FROM statements v"              \
    "   WHERE v.store_id = $1::int4 AND v.voids IS NOT NULL"                \
    "   AND v.voids = i.id),"                                               \
    "  i.body"                                                              \
    " FROM input i" join                                                    \
    " ORDER BY i.ord"                                                       \
    " RETURNING seq, index_kinds, index_digests"                            \
    "), idx AS ("                                                           \
    " INSERT INTO statement_index (store_id, kind, digest, seq)"            \
    " SELECT $1::int4, x.kind, x.digest, ins.seq"                           \
    " FROM ins CROSS JOIN LATERAL"                                          \
    "  unnest(ins.index_kinds, ins.index_digests) AS x(kind, digest)"       \
    ")"                                                                     \
    " SELECT count(*) FROM ins"

static const char insert_statements[] =
    INSERT_INPUT INSERT_ROWS(OWN_KINDS, OWN_DIGESTS, "");

static const char insert_with_refs[] =
    INSERT_INPUT
    ", merged AS ("
    " SELECT i.ord, array_agg(u.kind ORDER BY u.kind, u.digest) AS kinds,"
    "  array_agg(u.digest ORDER BY u.kind, u.digest) AS digests"
    " FROM input i CROSS JOIN LATERAL ("
    "  SELECT * FROM unnest(" OWN_KINDS ", " OWN_DIGESTS ")"
    "  UNION"
    "  SELECT tk.kind, tk.digest FROM statements t"
    "  CROSS JOIN LATERAL unnest(t.index_kinds, t.index_digests)"
    "   AS tk(kind, digest)"
    "  WHERE t.store_id = $1::int4 AND t.id = i.ref_target"
    " ) AS u(kind, digest)"
    " GROUP BY i.ord"
    ")"
    INSERT_ROWS("coalesce(m.kinds, '{}')", "coalesce(m.digests, '{}')",
                " LEFT JOIN merged m ON m.ord = i.ord");

const struct sql_statement sql_statements[SQL_COUNT] = {
    [SQL_BEGIN] = {"begin", SQL_USE_ONCE, "BEGIN"},
    [SQL_COMMIT] = {"commit", SQL_USE_ONCE, "COMMIT"},
    [SQL_ROLLBACK] = {"rollback", SQL_USE_ONCE, "ROLLBACK"},
    /* One request at a time is open, so one savepoint name suffices. */
    [SQL_SAVEPOINT] = {"savepoint", SQL_USE_ONCE, "SAVEPOINT request"},
    [SQL_RELEASE] = {"release", SQL_USE_ONCE, "RELEASE SAVEPOINT request"},
    [SQL_ROLLBACK_TO] = {"rollback_to", SQL_USE_ONCE,
                         "ROLLBACK TO SAVEPOINT request"},

    /* Held until COMMIT: groups of all lrsd processes draw sequence
     * numbers and commit one after another. */
    [SQL_WRITER_LOCK] = {"writer_lock", SQL_USE_WRITE,
                         "SELECT pg_advisory_xact_lock("
                         STR(SQL_LOCK_WRITER) ")"},
    /* The group's stored time (see WRITER_CLOCK_UPDATE). */
    [SQL_WRITER_CLOCK] = {"writer_clock", SQL_USE_WRITE,
                          WRITER_CLOCK_UPDATE
                          " RETURNING (extract(epoch FROM stored)"
                          " * 1000000)::int8"},
    /* The same, and $1 consecutive sequence numbers for COPY: the last
     * is returned. Under the writer lock nobody else draws from the
     * sequence, so the block follows commit order like single draws. */
    [SQL_WRITER_CLOCK_SEQ] = {"writer_clock_seq", SQL_USE_WRITE,
                              "WITH c AS (" WRITER_CLOCK_UPDATE
                              " RETURNING stored)"
                              " SELECT (extract(epoch FROM c.stored)"
                              " * 1000000)::int8,"
                              " setval('statements_seq',"
                              " nextval('statements_seq') + $1::int8 - 1)"
                              " FROM c"},
    /* Which of the new ids ($2, of stores $1) a stored voiding statement
     * already targets: their 1-based positions. */
    [SQL_VOIDED_ALREADY] = {"voided_already", SQL_USE_WRITE,
                            "SELECT n.ord FROM unnest($1::int4[],"
                            " $2::uuid[]) WITH ORDINALITY"
                            " AS n(store_id, id, ord)"
                            " WHERE EXISTS (SELECT 1 FROM statements v"
                            " WHERE v.store_id = n.store_id"
                            " AND v.voids IS NOT NULL AND v.voids = n.id)"},
    /* Rows of statements that neither void nor refer to another
     * (voids and ref_target stay NULL), and their index rows. */
    [SQL_COPY_STATEMENTS] = {"copy_statements", SQL_USE_ONCE,
                             "COPY statements (store_id, voided, seq, stored,"
                             " ts, id, registration, actor_key, verb_id,"
                             " object_type, object_id, context_parents,"
                             " context_groupings, index_kinds, index_digests,"
                             " body) FROM STDIN (FORMAT binary)"},
    [SQL_COPY_INDEX] = {"copy_index", SQL_USE_ONCE,
                        "COPY statement_index (store_id, kind, digest, seq)"
                        " FROM STDIN (FORMAT binary)"},
    [SQL_INSERT_STATEMENTS] = {"insert_statements", SQL_USE_WRITE,
                               insert_statements},
    [SQL_INSERT_WITH_REFS] = {"insert_with_refs", SQL_USE_WRITE,
                              insert_with_refs},
    /* Fails on statements_voiding_never_voided when a target is itself a
     * voiding statement. */
    [SQL_VOID_TARGETS] = {"void_targets", SQL_USE_WRITE,
                          "UPDATE statements SET voided = true"
                          " WHERE store_id = $1::int4"
                          " AND id = ANY($2::uuid[]) AND NOT voided"},
    [SQL_EXISTING_BODIES] = {"existing_bodies", SQL_USE_WRITE,
                             "SELECT id::text, body FROM statements"
                             " WHERE store_id = $1::int4"
                             " AND id = ANY($2::uuid[])"},
    /* Content is named by its hash: what is there already is the same. */
    [SQL_INSERT_ATTACHMENT] = {"insert_attachment", SQL_USE_WRITE,
                               "INSERT INTO attachments (store_id, sha2,"
                               " content_type, content) VALUES ($1::int4,"
                               " $2::text, $3::text, $4::bytea)"
                               " ON CONFLICT DO NOTHING"},
    [SQL_ATTACHMENTS_BY_HASH] = {"attachments_by_hash", SQL_USE_READ,
                                 "SELECT sha2, content_type, content"
                                 " FROM attachments WHERE store_id = $1::int4"
                                 " AND sha2 = ANY($2::text[])"
                                 " ORDER BY sha2"},

    [SQL_STATEMENT_BY_ID] = {"statement_by_id", SQL_USE_READ,
                             "SELECT s.seq, s.body, s.stored,"
                             " s.ts IS NULL, s.voided FROM statements s"
                             " WHERE s.store_id = $1::int4"
                             " AND s.id = $2::uuid"},
    [SQL_CREDENTIAL_BY_KEY] = {"credential_by_key", SQL_USE_READ,
                               "SELECT id, store_id,"
                               " encode(secret_salt, 'hex'),"
                               " encode(secret_hash, 'hex'),"
                               " array_to_json(scopes)::text,"
                               " authority::text FROM credentials"
                               " WHERE key = $1::text"
                               " AND revoked_at IS NULL"},
    [SQL_CREDENTIAL_INSERT] = {"credential_insert", SQL_USE_ONCE,
                               "INSERT INTO credentials (store_id, key,"
                               " secret_salt, secret_hash, scopes, label,"
                               " authority) VALUES ($1::int4, $2::text,"
                               " decode($3::text, 'hex'),"
                               " decode($4::text, 'hex'), $5::text[],"
                               " $6::text, $7::jsonb)"
                               " RETURNING id, (SELECT name FROM stores"
                               " WHERE id = $1::int4)"},

    [SQL_MIGRATIONS_TABLE_EXISTS] = {"migrations_table_exists",
                                     SQL_USE_ONCE,
                                     "SELECT to_regclass('schema_migrations')"
                                     " IS NOT NULL"},
    [SQL_SCHEMA_VERSION] = {"schema_version", SQL_USE_ONCE,
                            "SELECT coalesce(max(version), 0)"
                            " FROM schema_migrations"},
    [SQL_MIGRATE_LOCK] = {"migrate_lock", SQL_USE_ONCE,
                          "SELECT pg_advisory_lock("
                          STR(SQL_LOCK_MIGRATE) ")"},
    [SQL_MIGRATE_UNLOCK] = {"migrate_unlock", SQL_USE_ONCE,
                            "SELECT pg_advisory_unlock("
                            STR(SQL_LOCK_MIGRATE) ")"},
    [SQL_MIGRATION_RECORD] = {"migration_record", SQL_USE_ONCE,
                              "INSERT INTO schema_migrations (version, name)"
                              " VALUES ($1::int4, $2::text)"},
};

/* ---- statement query shapes ---- */

unsigned
sql_shape(int nfilters, bool since, bool until, bool ascending)
{
    return (unsigned)nfilters << SQL_SHAPE_FILTER_SHIFT |
           (since ? SQL_SHAPE_SINCE : 0) | (until ? SQL_SHAPE_UNTIL : 0) |
           (ascending ? SQL_SHAPE_ASC : 0);
}

void
sql_shape_name(unsigned shape, char name[16])
{
    snprintf(name, 16, "query_%u", shape);
}

static void
putf(struct buf *b, const char *fmt, ...)
{
    char part[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(part, sizeof(part), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(part)) {
        b->failed = true;
        return;
    }
    buf_append(b, part, (size_t)n);
}

/* The last seq stored at or before a time ($N), 0 when there is none. */
#define LAST_SEQ_UP_TO                                                      \
    "coalesce((SELECT b.seq FROM statements b WHERE b.store_id = $1::int4"  \
    " AND b.stored <= $%d::timestamptz"                                     \
    " ORDER BY b.stored DESC, b.seq DESC LIMIT 1), 0)"

/* Whether statement row s was filed under the key (kind $K, digest $D):
 * its index arrays hold the kinds and digests of its statement_index rows
 * in parallel. A digest is a hash over the kind and the value, so a
 * digest stands under one kind only and its first position decides;
 * when it is absent, array_position gives NULL and the test is false.
 *
 * coalesce is there for the planner: a comparison it has no statistics
 * for is taken to pass 0.5% of the rows, so a page would seem to need the
 * whole of the first filter's range, the generic plan would cost more
 * than the plans for the values, and the shape would be planned afresh
 * on every run (over 1,000,000 statements it was: 0.2 ms a query). A
 * coalesce is taken to pass half. */
#define ROW_HAS_KEY                                                         \
    " AND coalesce(s.index_kinds[array_position(s.index_digests,"           \
    " $%d::uuid)] = $%d::int2, false)"

/*
 * With filters, the first filter's index range drives the query: its
 * primary-key scan yields seq in order, the statement row is fetched for
 * each, and each further filter is a test of the row's index arrays
 * (ROW_HAS_KEY), which hold the same keys as its statement_index rows.
 * The caller puts the most selective filter first. Testing the row that
 * is fetched anyway for the voided flag, stored and the body costs a
 * fraction of a microsecond, where probing statement_index for each row
 * was a B-tree descent: under a verb+activity query those probes were
 * about a fifth of PostgreSQL's time. The further filters are not joins
 * the planner could reorder either (a generic plan might otherwise
 * merge-join two ranges and read a common key's range, a verb's, down to
 * the last row of the page), so the plan is the same for all values and
 * can be prepared. Without filters the statements primary key is scanned
 * in seq order.
 */
int
sql_shape_text(unsigned shape, struct buf *out)
{
    int nfilters = (int)(shape >> SQL_SHAPE_FILTER_SHIFT);
    bool asc = (shape & SQL_SHAPE_ASC) != 0;
    const char *seq = nfilters > 0 ? "f0.seq" : "s.seq";
    int param = 4 + 2 * nfilters;

    buf_reset(out);
    putf(out, "SELECT s.seq, s.body, s.stored, s.ts IS NULL");
    if (nfilters == 0) {
        putf(out, " FROM statements s WHERE s.store_id = $1::int4");
    } else {
        putf(out, " FROM statement_index f0"
                  " JOIN statements s ON s.store_id = $1::int4"
                  " AND s.seq = f0.seq"
                  " WHERE f0.store_id = $1::int4 AND f0.kind = $4::int2"
                  " AND f0.digest = $5::uuid");
        for (int i = 1; i < nfilters; i++)
            putf(out, ROW_HAS_KEY, 5 + 2 * i, 4 + 2 * i);
    }
    putf(out, " AND %s %c $2::int8 AND NOT s.voided", seq, asc ? '>' : '<');
    /* stored never decreases along seq (see writer_clock), so the
     * statements stored up to a time are a prefix of seq order: its end,
     * found in the stored index, bounds the scan, and a time range costs
     * no more than the page it returns. */
    if (shape & SQL_SHAPE_SINCE) {
        putf(out, " AND %s > " LAST_SEQ_UP_TO, seq, param);
        putf(out, " AND s.stored > $%d::timestamptz", param++);
    }
    if (shape & SQL_SHAPE_UNTIL) {
        putf(out, " AND %s <= " LAST_SEQ_UP_TO, seq, param);
        putf(out, " AND s.stored <= $%d::timestamptz", param++);
    }
    putf(out, " ORDER BY %s %s LIMIT $3::int8", seq, asc ? "ASC" : "DESC");
    buf_append(out, "", 1);
    return out->failed ? -1 : 0;
}
