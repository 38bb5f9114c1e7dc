/*
 * The statement writer (group commit). See writer.h.
 *
 * One thread owns one connection in libpq pipeline mode. It takes every
 * queued request (up to max_group statements) and commits them in one
 * transaction:
 *
 *   BEGIN; advisory lock; read the clock      -- one round trip
 *   per request: INSERT ...; [UPDATE voided]  -- all sent at once
 *   COMMIT                                    -- one more round trip
 *
 * The advisory lock is held until COMMIT, so the sequence numbers drawn
 * by the inserts follow commit order across lrsd processes, and the clock
 * read after it (truncated to ms) is every statement's "stored".
 *
 * A larger group of plain statements (none voids or refers to another,
 * no attachments) is loaded with COPY instead:
 *
 *   BEGIN; advisory lock; clock and a block of sequence numbers; which
 *   new ids a stored voiding statement targets  -- one round trip
 *   COPY statements; COPY statement_index       -- two round trips each
 *   COMMIT                                      -- one round trip
 *
 * COPY writes rows in bulk (several to a WAL record) and the index rows
 * go in sorted by key, so neighbouring insertions land on pages already
 * at hand: PostgreSQL does about half the work of the INSERT for the same
 * rows. COPY cannot be pipelined, hence the extra round trips, which only
 * pay off from COPY_MIN_ROWS rows on.
 *
 * Everything that can go wrong with one request makes PostgreSQL raise an
 * error: an id that exists (unique violation), voiding a voiding
 * statement (check constraint statements_voiding_never_voided). So the
 * first attempt uses no savepoints at all. If it fails, the transaction
 * is rolled back and the group redone carefully: each request under a
 * savepoint, and a request that fails is rolled back to it and resolved
 * on its own (an existing id is compared with the stored statement:
 * equal means accepted with nothing stored, different means 409) while
 * the others go on. Callbacks run only after COMMIT.
 */
#include "store/writer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/pgbuf.h"
#include "store/pool.h"
#include "store/sql.h"
#include "xapi/compare.h"

/* The rows of a request in the order they are inserted, cut into chunks
 * so that a row whose StatementRef targets another row of the same
 * request is inserted by a later statement than its target (one INSERT
 * cannot see the rows it inserts itself). Usually one chunk. */
struct plan {
    struct xapi_row **rows;   /* nrows pointers into the request, owned */
    size_t nrows;
    size_t *chunk_end;        /* exclusive end of each chunk, owned */
    size_t nchunks;
    size_t nvoids;            /* rows that void a statement */
};

struct request {
    struct request *next;
    int store_id;
    struct xapi_row *rows;    /* borrowed until done is called */
    size_t nrows;
    const struct store_attachment *atts; /* borrowed, likewise */
    size_t natts;
    store_done_fn done;
    void *arg;
    struct lrs_error err;     /* the outcome; status 0 = committed */
    bool settled;             /* outcome known (careful mode) */
    struct plan plan;
};

struct writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct request *head;     /* queue, guarded by mu */
    struct request *tail;
    bool stopping;            /* guarded by mu */
    int64_t busy_since_us;    /* group in flight since; 0 when idle (mu) */
    int64_t busy_stored_us;   /* its stored time; 0 until known (mu) */

    /* Used by the writer thread only. */
    char *conninfo;
    int statement_timeout_ms;
    size_t max_group;
    PGconn *pg;
    struct request **group;   /* max_group slots */
};

/* Groups of at least this many plain statements are loaded with COPY. */
#define COPY_MIN_ROWS 16

/* What the writer sent down the pipeline, in order, so that results can
 * be matched to requests. */
struct sent {
    size_t request;           /* index in the group, or SIZE_MAX */
    const char *what;         /* operation name for logs */
    PGresult **keep;          /* receives the result's rows, or NULL */
};

struct pipeline {
    struct sent *items;
    size_t count;
    size_t cap;
    bool failed;              /* out of memory */
};

/* The first failure in a pipeline's results. */
struct failure {
    size_t request;           /* group index, SIZE_MAX if none/not one */
    bool lost;                /* the connection is gone */
    char sqlstate[6];
    char constraint[64];
    struct lrs_error err;
};

/* ---- connection ---- */

static void
drop_connection(struct writer *w)
{
    if (w->pg != NULL)
        PQfinish(w->pg);
    w->pg = NULL;
}

static int
ensure_connected(struct writer *w, struct lrs_error *err)
{
    if (w->pg != NULL && PQstatus(w->pg) == CONNECTION_OK)
        return 0;
    drop_connection(w);
    if (pool_connect(w->conninfo, w->statement_timeout_ms, &w->pg, err) != 0)
        return -1;
    if (pool_prepare(w->pg, SQL_USE_WRITE, err) != 0 ||
        PQenterPipelineMode(w->pg) != 1) {
        if (err->status == 0)
            lrs_error_set(err, 500, "database error");
        drop_connection(w);
        return -1;
    }
    return 0;
}

/* ---- sending ---- */

static bool
pipeline_note(struct pipeline *p, size_t request, const char *what)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct sent *items = realloc(p->items, cap * sizeof(*items));

        if (items == NULL) {
            p->failed = true;
            return false;
        }
        p->items = items;
        p->cap = cap;
    }
    p->items[p->count].request = request;
    p->items[p->count].what = what;
    p->items[p->count].keep = NULL;
    p->count++;
    return true;
}

/* The rows of the command noted last go to *slot (the caller clears
 * them). */
static void
pipeline_keep(struct pipeline *p, PGresult **slot)
{
    if (p->count > 0)
        p->items[p->count - 1].keep = slot;
}

static bool
send_plain(struct writer *w, struct pipeline *p, size_t request,
           enum sql_id id)
{
    if (!pipeline_note(p, request, sql_statements[id].name))
        return false;
    return PQsendQueryParams(w->pg, sql_statements[id].text, 0, NULL, NULL,
                             NULL, NULL, 0) == 1;
}

static bool
send_prepared(struct writer *w, struct pipeline *p, size_t request,
              enum sql_id id, int nparams, const char *const *values,
              const int *lengths)
{
    int formats[20];

    for (int i = 0; i < nparams; i++)
        formats[i] = 1;
    if (!pipeline_note(p, request, sql_statements[id].name))
        return false;
    return PQsendQueryPrepared(w->pg, sql_statements[id].name, nparams,
                               values, lengths, formats, 0) == 1;
}

/* The parameters $3 to $18 of an INSERT, as binary arrays: one element
 * per row, then the flat index key arrays that key_lo/key_hi slice. */
enum column {
    COL_ID, COL_BODY, COL_TS, COL_ACTOR, COL_VERB, COL_OBJECT_TYPE,
    COL_OBJECT_ID, COL_REGISTRATION, COL_VOIDS, COL_REF_TARGET, COL_PARENTS,
    COL_GROUPINGS, COL_KEY_LO, COL_KEY_HI, COL_KEY_KIND, COL_KEY_DIGEST,
    COL_COUNT
};

static const uint32_t column_oid[COL_COUNT] = {
    PGBUF_OID_UUID, PGBUF_OID_TEXT, PGBUF_OID_TIMESTAMPTZ, PGBUF_OID_TEXT,
    PGBUF_OID_TEXT, PGBUF_OID_TEXT, PGBUF_OID_TEXT, PGBUF_OID_UUID,
    PGBUF_OID_UUID, PGBUF_OID_UUID, PGBUF_OID_TEXT, PGBUF_OID_TEXT,
    PGBUF_OID_INT4, PGBUF_OID_INT4, PGBUF_OID_INT2, PGBUF_OID_UUID,
};

/* A JSON array of strings, or NULL when there are none. */
static void
add_string_list(struct pgarray *a, char **items, size_t n,
                struct buf *scratch)
{
    if (n == 0) {
        pgarray_add_null(a);
        return;
    }
    buf_reset(scratch);
    buf_append(scratch, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_append(scratch, ",", 1);
        pgbuf_put_json_string(scratch, items[i]);
    }
    buf_append(scratch, "]", 1);
    if (scratch->failed)
        a->buf.failed = true;
    else
        pgarray_add_text(a, scratch->data, scratch->len);
}

/* Adds a row; *nkeys counts the keys added so far (1-based slices). */
static void
add_row(struct pgarray *col, const struct xapi_row *row, int32_t *nkeys,
        struct buf *scratch)
{
    pgarray_add_uuid_or_null(&col[COL_ID], row->id);
    pgarray_add_text(&col[COL_BODY], row->body, row->body_len);
    if (row->has_timestamp)
        pgarray_add_timestamptz(&col[COL_TS], row->timestamp_us);
    else
        pgarray_add_null(&col[COL_TS]);
    pgarray_add_text_or_null(&col[COL_ACTOR], row->actor_key);
    pgarray_add_text_or_null(&col[COL_VERB], row->verb_id);
    pgarray_add_text_or_null(&col[COL_OBJECT_TYPE], row->object_type);
    pgarray_add_text_or_null(&col[COL_OBJECT_ID], row->object_id);
    pgarray_add_uuid_or_null(&col[COL_REGISTRATION], row->registration);
    pgarray_add_uuid_or_null(&col[COL_VOIDS], row->voids);
    pgarray_add_uuid_or_null(&col[COL_REF_TARGET], row->ref_target);
    add_string_list(&col[COL_PARENTS], row->parents, row->nparents, scratch);
    add_string_list(&col[COL_GROUPINGS], row->groupings, row->ngroupings,
                    scratch);
    pgarray_add_int32(&col[COL_KEY_LO], *nkeys + 1);
    for (size_t k = 0; k < row->nkeys; k++) {
        pgarray_add_int16(&col[COL_KEY_KIND], (int16_t)row->keys[k].kind);
        pgarray_add_bytes16(&col[COL_KEY_DIGEST], row->keys[k].digest);
    }
    *nkeys += (int32_t)row->nkeys;
    pgarray_add_int32(&col[COL_KEY_HI], *nkeys);
}

static bool
send_insert(struct writer *w, struct pipeline *p, size_t request,
            int store_id, int64_t stored_us, struct xapi_row **rows,
            size_t n)
{
    struct pgarray col[COL_COUNT];
    const char *values[2 + COL_COUNT];
    int lengths[2 + COL_COUNT];
    struct buf head, scratch;
    enum sql_id sql = SQL_INSERT_STATEMENTS;
    int32_t nkeys = 0;
    bool ok = true;

    buf_init(&head);
    buf_init(&scratch);
    pgbuf_put_int32(&head, store_id);
    pgbuf_put_int64(&head, stored_us - PG_EPOCH_OFFSET_US);
    for (int c = 0; c < COL_COUNT; c++)
        pgarray_begin(&col[c], column_oid[c]);
    for (size_t i = 0; i < n; i++) {
        add_row(col, rows[i], &nkeys, &scratch);
        if (rows[i]->ref_target[0] != '\0')
            sql = SQL_INSERT_WITH_REFS;
    }
    for (int c = 0; c < COL_COUNT; c++) {
        if (pgarray_finish(&col[c]) != 0 || col[c].buf.len > INT32_MAX)
            ok = false;
        values[2 + c] = col[c].buf.data;
        lengths[2 + c] = (int)col[c].buf.len;
    }
    values[0] = head.data;
    lengths[0] = 4;
    values[1] = head.data + 4;
    lengths[1] = 8;
    if (ok && !head.failed && !scratch.failed) {
        ok = send_prepared(w, p, request, sql, 2 + COL_COUNT, values,
                           lengths);
    } else {
        p->failed = true;
        ok = false;
    }
    for (int c = 0; c < COL_COUNT; c++)
        pgarray_free(&col[c]);
    buf_free(&head);
    buf_free(&scratch);
    return ok;
}

/* Sends an operation that takes ($1 store_id, $2 uuid[]), the uuids being
 * the ids (voids=false) or void targets (voids=true) of the rows. */
static bool
send_by_ids(struct writer *w, struct pipeline *p, size_t request,
            enum sql_id id, int store_id, struct xapi_row **rows, size_t n,
            bool voids)
{
    struct pgarray ids;
    struct buf head;
    const char *values[2];
    int lengths[2];
    bool ok = false;

    buf_init(&head);
    pgbuf_put_int32(&head, store_id);
    pgarray_begin(&ids, PGBUF_OID_UUID);
    for (size_t i = 0; i < n; i++) {
        const char *text = voids ? rows[i]->voids : rows[i]->id;

        if (text[0] != '\0')
            pgarray_add_uuid_or_null(&ids, text);
    }
    if (pgarray_finish(&ids) == 0 && !head.failed) {
        values[0] = head.data;
        lengths[0] = 4;
        values[1] = ids.buf.data;
        lengths[1] = (int)ids.buf.len;
        ok = send_prepared(w, p, request, id, 2, values, lengths);
    } else {
        p->failed = true;
    }
    pgarray_free(&ids);
    buf_free(&head);
    return ok;
}

/* Sends the statements that store planned rows of one store. */
static bool
send_rows(struct writer *w, struct pipeline *p, size_t index, int store_id,
          const struct plan *plan, int64_t stored_us)
{
    size_t start = 0;

    for (size_t c = 0; c < plan->nchunks; c++) {
        if (!send_insert(w, p, index, store_id, stored_us,
                         plan->rows + start, plan->chunk_end[c] - start))
            return false;
        start = plan->chunk_end[c];
    }
    return plan->nvoids == 0 ||
           send_by_ids(w, p, index, SQL_VOID_TARGETS, store_id, plan->rows,
                       plan->nrows, true);
}

/* Sends the attachment contents of a request. */
static bool
send_attachments(struct writer *w, struct pipeline *p, size_t index,
                 const struct request *req)
{
    for (size_t i = 0; i < req->natts; i++) {
        const struct store_attachment *a = &req->atts[i];
        struct buf store_id;
        const char *values[4];
        int lengths[4];
        bool ok;

        if (a->len > INT32_MAX) {
            p->failed = true;
            return false;
        }
        buf_init(&store_id);
        pgbuf_put_int32(&store_id, req->store_id);
        values[0] = store_id.data;
        lengths[0] = 4;
        values[1] = a->sha2;
        lengths[1] = (int)strlen(a->sha2);
        values[2] = a->content_type;
        lengths[2] = (int)strlen(a->content_type);
        values[3] = (const char *)a->data;
        lengths[3] = (int)a->len;
        ok = !store_id.failed &&
             send_prepared(w, p, index, SQL_INSERT_ATTACHMENT, 4, values,
                           lengths);
        if (store_id.failed)
            p->failed = true;
        buf_free(&store_id);
        if (!ok)
            return false;
    }
    return true;
}

/* Sends one request's planned rows and its attachments under a
 * savepoint. */
static bool
send_request(struct writer *w, struct pipeline *p, size_t index,
             const struct request *req, const struct plan *plan,
             int64_t stored_us)
{
    return send_plain(w, p, index, SQL_SAVEPOINT) &&
           send_rows(w, p, index, req->store_id, plan, stored_us) &&
           send_attachments(w, p, index, req) &&
           send_plain(w, p, index, SQL_RELEASE);
}

/* ---- reading ---- */

/* The next command's result (its terminating NULL consumed), a
 * PGRES_PIPELINE_SYNC result, or NULL when the connection failed. */
static PGresult *
take_result(PGconn *pg)
{
    PGresult *res = PQgetResult(pg);
    PGresult *extra;

    if (res == NULL || PQresultStatus(res) == PGRES_PIPELINE_SYNC)
        return res;
    for (int guard = 0; guard < 8; guard++) {
        extra = PQgetResult(pg);
        if (extra == NULL)
            break;
        PQclear(extra);
    }
    return res;
}

static void
note_failure(struct writer *w, struct failure *f, const struct sent *s,
             PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint =
        PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    bool expected;

    f->request = s->request;
    snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", state ? state : "");
    snprintf(f->constraint, sizeof(f->constraint), "%s",
             constraint ? constraint : "");
    /* Conflicts and voiding a voiding statement are the client's doing;
     * they are resolved, not logged as failures. */
    expected = strcmp(f->sqlstate, "23505") == 0 ||
               strcmp(f->constraint, SQL_CONSTRAINT_VOIDING) == 0;
    if (expected)
        lrs_error_set(&f->err, 500, "database error");
    else
        pool_report(w->pg, res, s->what, &f->err);
    if (PQstatus(w->pg) != CONNECTION_OK)
        f->lost = true;
}

/*
 * Reads the results of everything sent, then the sync. Returns 0 when
 * every command succeeded; otherwise -1 with f describing the first
 * failure (later commands were skipped by the server). rows, when not
 * NULL, receives the last result with tuples (the caller clears it).
 */
static int
read_pipeline(struct writer *w, const struct pipeline *p, struct failure *f,
              PGresult **rows)
{
    PGresult *res;
    bool failed = false;

    memset(f, 0, sizeof(*f));
    f->request = SIZE_MAX;
    for (size_t i = 0; i < p->count; i++) {
        ExecStatusType st;

        res = take_result(w->pg);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK && p->items[i].keep != NULL) {
            PQclear(*p->items[i].keep);
            *p->items[i].keep = res;
            continue;
        }
        if (st == PGRES_TUPLES_OK && rows != NULL) {
            PQclear(*rows);
            *rows = res;
            continue;
        }
        if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            failed = true;
            if (res == NULL || st == PGRES_PIPELINE_SYNC) {
                f->lost = true;
                pool_report(w->pg, res, p->items[i].what, &f->err);
            } else {
                note_failure(w, f, &p->items[i], res);
            }
        }
        PQclear(res);
        if (f->lost)
            return -1;
    }
    res = take_result(w->pg);
    if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        f->lost = true;
        if (!failed)
            pool_report(w->pg, res, "sync", &f->err);
        failed = true;
    }
    PQclear(res);
    return failed ? -1 : 0;
}

static void
pipeline_clear(struct pipeline *p)
{
    p->count = 0;
    p->failed = false;
}

/* Sends a sync and reads every result. A send that fails means the
 * connection is gone. */
static int
flush_pipeline(struct writer *w, struct pipeline *p, bool send_ok,
               struct failure *f, PGresult **rows)
{
    /* Out of memory half-way through sending leaves commands without a
     * sync: the connection is treated as lost and dropped, which also
     * rolls the transaction back. */
    if (!send_ok || p->failed || PQpipelineSync(w->pg) != 1) {
        memset(f, 0, sizeof(*f));
        f->request = SIZE_MAX;
        f->lost = true;
        if (p->failed)
            lrs_error_set(&f->err, 500, "out of memory");
        else
            pool_report(w->pg, NULL, "send", &f->err);
        return -1;
    }
    return read_pipeline(w, p, f, rows);
}

/* ---- planning ---- */

static void
plan_free(struct plan *plan)
{
    free(plan->rows);
    free(plan->chunk_end);
    memset(plan, 0, sizeof(*plan));
}

struct by_id {
    const char *id;
    size_t index;
};

static int
compare_by_id(const void *a, const void *b)
{
    return strcmp(((const struct by_id *)a)->id,
                  ((const struct by_id *)b)->id);
}

struct ranked {
    size_t level;
    size_t index;
};

static int
compare_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* target[i]: the index of the row that row i's StatementRef targets
 * within rows, or SIZE_MAX. Returns false when memory runs out. */
static bool
find_targets(struct xapi_row **rows, size_t n, size_t *target)
{
    struct by_id *sorted = malloc(n * sizeof(*sorted));

    if (sorted == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        sorted[i].id = rows[i]->id;
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof(*sorted), compare_by_id);
    for (size_t i = 0; i < n; i++) {
        struct by_id key = {rows[i]->ref_target, 0};
        struct by_id *hit = NULL;

        if (rows[i]->ref_target[0] != '\0')
            hit = bsearch(&key, sorted, n, sizeof(*sorted), compare_by_id);
        target[i] = hit != NULL && hit->index != i ? hit->index : SIZE_MAX;
    }
    free(sorted);
    return true;
}

/* Orders rows so that a StatementRef's target within the request comes
 * in an earlier chunk: a row's level is the length of its chain of
 * in-request targets (capped at n, which also ends reference cycles). */
static int
plan_chunks(struct plan *plan)
{
    size_t n = plan->nrows;
    size_t *target = malloc(n * sizeof(*target));
    struct ranked *rank = malloc(n * sizeof(*rank));
    struct xapi_row **ordered = malloc(n * sizeof(*ordered));
    int rc = -1;

    if (target == NULL || rank == NULL || ordered == NULL ||
        !find_targets(plan->rows, n, target))
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t level = 0;

        for (size_t j = target[i]; j != SIZE_MAX && level < n; j = target[j])
            level++;
        rank[i].level = level;
        rank[i].index = i;
    }
    qsort(rank, n, sizeof(*rank), compare_ranked);
    plan->nchunks = 0;
    for (size_t i = 0; i < n; i++) {
        ordered[i] = plan->rows[rank[i].index];
        if (i > 0 && rank[i].level != rank[i - 1].level)
            plan->chunk_end[plan->nchunks++] = i;
    }
    plan->chunk_end[plan->nchunks++] = n;
    memcpy(plan->rows, ordered, n * sizeof(*ordered));
    rc = 0;
out:
    free(target);
    free(rank);
    free(ordered);
    return rc;
}

/* Plans the rows picked[0..n) (pointers into a request). */
static int
plan_build(struct plan *plan, struct xapi_row **picked, size_t n)
{
    bool refs = false;

    memset(plan, 0, sizeof(*plan));
    plan->rows = malloc((n ? n : 1) * sizeof(*plan->rows));
    plan->chunk_end = malloc((n ? n : 1) * sizeof(*plan->chunk_end));
    if (plan->rows == NULL || plan->chunk_end == NULL) {
        plan_free(plan);
        return -1;
    }
    plan->nrows = n;
    for (size_t i = 0; i < n; i++) {
        plan->rows[i] = picked[i];
        if (picked[i]->voids[0] != '\0')
            plan->nvoids++;
        if (picked[i]->ref_target[0] != '\0')
            refs = true;
    }
    if (n == 0)
        return 0;
    if (!refs) {
        plan->chunk_end[0] = n;
        plan->nchunks = 1;
        return 0;
    }
    if (plan_chunks(plan) != 0) {
        plan_free(plan);
        return -1;
    }
    return 0;
}

static int
plan_request(struct request *req)
{
    struct xapi_row **all = malloc(req->nrows * sizeof(*all));
    int rc;

    if (all == NULL)
        return -1;
    for (size_t i = 0; i < req->nrows; i++)
        all[i] = &req->rows[i];
    rc = plan_build(&req->plan, all, req->nrows);
    free(all);
    return rc;
}

/* ---- outcomes ---- */

static void
settle(struct request *req, const struct lrs_error *err)
{
    req->settled = true;
    if (err != NULL)
        req->err = *err;
    else
        lrs_error_clear(&req->err);
}

static void
fail_open(struct request **group, size_t n, const struct lrs_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!group[i]->settled || group[i]->err.status == 0)
            settle(group[i], err);
    }
}

/* The path of row i of a request in messages. */
static void
row_path(const struct request *req, size_t i, char *out, size_t size)
{
    if (req->nrows == 1)
        snprintf(out, size, "statement");
    else
        snprintf(out, size, "statements[%zu]", i);
}

/* The client-facing error for a request whose statement failed with f
 * (not a unique violation: those are resolved by resolve_conflict). */
static void
failure_error(const struct failure *f, struct lrs_error *err)
{
    if (strcmp(f->constraint, SQL_CONSTRAINT_VOIDING) == 0)
        lrs_error_set(err, 400, "statement.object.id: a voiding statement "
                      "cannot target another voiding statement");
    else
        *err = f->err;
}

/* ---- conflict resolution ---- */

static json_t *
parse_body(const char *text, size_t len)
{
    json_error_t jerr;

    return json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
}

/* Decides, for an existing or repeated id, whether the statements are the
 * same. Returns 1 same, 0 different, -1 when a body does not parse. */
static int
same_statement(const char *a, size_t alen, const char *b, size_t blen)
{
    json_t *x = parse_body(a, alen);
    json_t *y = parse_body(b, blen);
    int rc = -1;

    if (x != NULL && y != NULL)
        rc = xapi_statements_equal(x, y) ? 1 : 0;
    json_decref(x);
    json_decref(y);
    return rc;
}

static int
report_difference(const struct request *req, size_t i, int same,
                  struct lrs_error *err)
{
    char path[48];

    if (same < 0) {
        log_error("event=stored_body_unreadable id=%s", req->rows[i].id);
        return lrs_error_set(err, 500, "database error");
    }
    row_path(req, i, path, sizeof(path));
    return lrs_error_set(err, 409, "%s.id: a different statement with id "
                         "%s is already stored", path, req->rows[i].id);
}

/* Marks in keep[] the rows of req that are new: not in existing (id,
 * body) and not a repeat of an earlier row of the request. Returns 0, or
 * -1 with err (409 when an id's statements differ). */
static int
pick_new_rows(const struct request *req, const PGresult *existing,
              bool *keep, struct lrs_error *err)
{
    int nexisting = PQntuples(existing);

    for (size_t i = 0; i < req->nrows; i++) {
        const struct xapi_row *row = &req->rows[i];
        int same = 1;

        keep[i] = true;
        for (int e = 0; e < nexisting && keep[i]; e++) {
            if (strcmp(PQgetvalue(existing, e, 0), row->id) != 0)
                continue;
            same = same_statement(PQgetvalue(existing, e, 1),
                                  (size_t)PQgetlength(existing, e, 1),
                                  row->body, row->body_len);
            keep[i] = false;
        }
        for (size_t j = 0; j < i && keep[i]; j++) {
            if (!keep[j] || strcmp(req->rows[j].id, row->id) != 0)
                continue;
            same = same_statement(req->rows[j].body, req->rows[j].body_len,
                                  row->body, row->body_len);
            keep[i] = false;
        }
        if (same != 1)
            return report_difference(req, i, same, err);
    }
    return 0;
}

/* Stores the rows of picked under a savepoint; on failure rolls back to
 * it. Returns 0, or -1 with err (lost set when the connection died). */
static int __attribute__((warn_unused_result))
store_picked(struct writer *w, struct request *req, size_t index,
             struct xapi_row **picked, size_t n, int64_t stored_us,
             bool *lost, struct lrs_error *err)
{
    struct pipeline p = {0};
    struct failure f;
    struct plan plan;
    bool ok;
    int rc = -1;

    if (plan_build(&plan, picked, n) != 0)
        return lrs_error_set(err, 500, "out of memory");
    ok = send_request(w, &p, index, req, &plan, stored_us);
    if (flush_pipeline(w, &p, ok, &f, NULL) == 0) {
        rc = 0;
        goto out;
    }
    *lost = f.lost;
    if (strcmp(f.sqlstate, "23505") == 0)
        lrs_error_set(err, 500, "database error");
    else
        failure_error(&f, err);
    if (f.lost)
        goto out;
    pipeline_clear(&p);
    ok = send_plain(w, &p, index, SQL_ROLLBACK_TO);
    if (flush_pipeline(w, &p, ok, &f, NULL) != 0) {
        *lost = true;
        *err = f.err;
    }
out:
    plan_free(&plan);
    free(p.items);
    return rc;
}

/*
 * Resolves a request that hit a unique violation (its savepoint already
 * rolled back): compares each existing id's stored statement with the
 * request's, then stores only the new rows. Settles the request. Returns
 * -1 only when the connection is lost.
 */
static int
resolve_conflict(struct writer *w, struct request *req, size_t index,
                 int64_t stored_us)
{
    struct xapi_row **picked = malloc(req->nrows * sizeof(*picked));
    bool *keep = calloc(req->nrows, sizeof(*keep));
    struct pipeline p = {0};
    PGresult *existing = NULL;
    struct lrs_error err = {0};
    struct failure f;
    bool lost = false;
    size_t n = 0;

    if (picked == NULL || keep == NULL) {
        lrs_error_set(&err, 500, "out of memory");
        goto out;
    }
    if (flush_pipeline(w, &p, send_by_ids(w, &p, index, SQL_EXISTING_BODIES,
                                          req->store_id, req->plan.rows,
                                          req->plan.nrows, false),
                       &f, &existing) != 0) {
        lost = f.lost;
        err = f.err;
        goto out;
    }
    if (pick_new_rows(req, existing, keep, &err) != 0)
        goto out;
    for (size_t i = 0; i < req->nrows; i++) {
        if (keep[i])
            picked[n++] = &req->rows[i];
    }
    if (n > 0 &&
        store_picked(w, req, index, picked, n, stored_us, &lost, &err) != 0)
        goto out;
out:
    settle(req, &err);
    PQclear(existing);
    free(p.items);
    free(picked);
    free(keep);
    return lost ? -1 : 0;
}

/* ---- the group transaction ---- */

/* BEGIN, take the writer lock, read the clock: the group's stored time
 * in *stored_us. */
static int
begin_group(struct writer *w, int64_t *stored_us, struct lrs_error *err)
{
    struct pipeline p = {0};
    PGresult *clock = NULL;
    struct failure f;
    bool ok;
    int rc = -1;

    ok = send_plain(w, &p, SIZE_MAX, SQL_BEGIN) &&
         send_prepared(w, &p, SIZE_MAX, SQL_WRITER_LOCK, 0, NULL, NULL) &&
         send_prepared(w, &p, SIZE_MAX, SQL_WRITER_CLOCK, 0, NULL, NULL);
    if (flush_pipeline(w, &p, ok, &f, &clock) != 0) {
        *err = f.err;
    } else if (clock == NULL || PQntuples(clock) != 1) {
        lrs_error_set(err, 500, "database error");
    } else {
        *stored_us = strtoll(PQgetvalue(clock, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear(clock);
    free(p.items);
    return rc;
}

/* Reads the outcome of COMMIT (or anything else) sent last. */
static int
finish_group(struct writer *w, struct pipeline *p, bool ok,
             struct lrs_error *err)
{
    struct failure f;

    if (flush_pipeline(w, p, ok, &f, NULL) == 0)
        return 0;
    *err = f.err;
    return -1;
}

/* Plans the rows of every open request of store_id, in group order. */
static int
plan_store(struct request **group, size_t n, int store_id, struct plan *plan)
{
    struct xapi_row **picked;
    size_t total = 0, k = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (!group[i]->settled && group[i]->store_id == store_id)
            total += group[i]->nrows;
    }
    picked = malloc((total ? total : 1) * sizeof(*picked));
    if (picked == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (group[i]->settled || group[i]->store_id != store_id)
            continue;
        for (size_t r = 0; r < group[i]->nrows; r++)
            picked[k++] = &group[i]->rows[r];
    }
    rc = plan_build(plan, picked, total);
    free(picked);
    return rc;
}

/* Sends the rows of all open requests, one batch per store. */
static bool
send_merged(struct writer *w, struct pipeline *p, struct request **group,
            size_t n, int64_t stored_us)
{
    bool ok = true;

    for (size_t i = 0; i < n && ok; i++) {
        struct plan plan;
        bool seen = group[i]->settled;

        for (size_t j = 0; j < i && !seen; j++)
            seen = !group[j]->settled &&
                   group[j]->store_id == group[i]->store_id;
        if (seen)
            continue;
        if (plan_store(group, n, group[i]->store_id, &plan) != 0) {
            p->failed = true;
            return false;
        }
        ok = send_rows(w, p, i, group[i]->store_id, &plan, stored_us);
        plan_free(&plan);
    }
    for (size_t i = 0; i < n && ok; i++) {
        if (!group[i]->settled)
            ok = send_attachments(w, p, i, group[i]);
    }
    return ok;
}

/*
 * The first attempt: the rows of all requests merged into one INSERT per
 * store (usually one), and COMMIT, in one pipeline, without savepoints.
 * Returns 0 when committed, 1 when a statement failed (the transaction
 * is rolled back; redo carefully), -1 with err when the group failed as
 * a whole.
 */
static int
run_fast(struct writer *w, struct request **group, size_t n,
         int64_t stored_us, struct lrs_error *err)
{
    struct pipeline p = {0};
    struct failure f;
    bool ok;
    int rc = -1;

    ok = send_merged(w, &p, group, n, stored_us) &&
         send_plain(w, &p, SIZE_MAX, SQL_COMMIT);
    if (flush_pipeline(w, &p, ok, &f, NULL) == 0) {
        rc = 0;
    } else if (f.lost) {
        *err = f.err;
    } else {
        pipeline_clear(&p);
        ok = send_plain(w, &p, SIZE_MAX, SQL_ROLLBACK);
        rc = finish_group(w, &p, ok, err) == 0 ? 1 : -1;
    }
    free(p.items);
    return rc;
}

/* ---- the COPY path ---- */

/* Publishes the stored time of the group in flight (see
 * writer_consistent_through_us). */
static void
note_stored(struct writer *w, int64_t stored_us)
{
    pthread_mutex_lock(&w->mu);
    if (w->busy_stored_us == 0 || stored_us < w->busy_stored_us)
        w->busy_stored_us = stored_us;
    pthread_mutex_unlock(&w->mu);
}


/* One statement_index row. */
struct index_entry {
    int32_t store_id;
    int16_t kind;
    unsigned char digest[16];
    int64_t seq;
};

static int
compare_entries(const void *a, const void *b)
{
    const struct index_entry *x = a, *y = b;
    int c;

    if (x->store_id != y->store_id)
        return x->store_id < y->store_id ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    c = memcmp(x->digest, y->digest, sizeof(x->digest));
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The number of rows of the group when COPY can store all of them: no
 * row voids a statement or refers to one (those need the INSERT's
 * lookups and ordering) and no request has attachments. Otherwise 0. */
static size_t
copyable_rows(struct request **group, size_t n)
{
    size_t rows = 0;

    for (size_t i = 0; i < n; i++) {
        if (group[i]->natts > 0)
            return 0;
        for (size_t r = 0; r < group[i]->nrows; r++) {
            const struct xapi_row *row = &group[i]->rows[r];

            if (row->voids[0] != '\0' || row->ref_target[0] != '\0')
                return 0;
        }
        rows += group[i]->nrows;
    }
    return rows;
}

/* Sends the query of which of the group's ids a stored voiding statement
 * targets, its rows to *hits. */
static bool
send_voided_already(struct writer *w, struct pipeline *p,
                    struct request **group, size_t n, PGresult **hits)
{
    struct pgarray stores, ids;
    const char *values[2];
    int lengths[2];
    bool ok = false;

    pgarray_begin(&stores, PGBUF_OID_INT4);
    pgarray_begin(&ids, PGBUF_OID_UUID);
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < group[i]->nrows; r++) {
            pgarray_add_int32(&stores, group[i]->store_id);
            pgarray_add_uuid_or_null(&ids, group[i]->rows[r].id);
        }
    }
    if (pgarray_finish(&stores) == 0 && pgarray_finish(&ids) == 0 &&
        stores.buf.len <= INT32_MAX && ids.buf.len <= INT32_MAX) {
        values[0] = stores.buf.data;
        lengths[0] = (int)stores.buf.len;
        values[1] = ids.buf.data;
        lengths[1] = (int)ids.buf.len;
        ok = send_prepared(w, p, SIZE_MAX, SQL_VOIDED_ALREADY, 2, values,
                           lengths);
        pipeline_keep(p, hits);
    } else {
        p->failed = true;
    }
    pgarray_free(&stores);
    pgarray_free(&ids);
    return ok;
}

/* What the transaction's beginning returns for a COPY group. */
struct copy_begin {
    struct buf count;       /* the $1 of SQL_WRITER_CLOCK_SEQ */
    PGresult *clock;          /* stored time, last sequence number */
    PGresult *hits;           /* rows voided already */
};

/* Sends BEGIN, the writer lock, the clock with nrows sequence numbers,
 * and the query for the rows that are voided already, then a sync. */
static bool
send_begin_copy(struct writer *w, struct pipeline *p, struct request **group,
                size_t n, size_t nrows, struct copy_begin *b)
{
    const char *values[1];
    int lengths[1];
    bool ok;

    pgbuf_put_int64(&b->count, (int64_t)nrows);
    values[0] = b->count.data;
    lengths[0] = 8;
    ok = !b->count.failed && send_plain(w, p, SIZE_MAX, SQL_BEGIN) &&
         send_prepared(w, p, SIZE_MAX, SQL_WRITER_LOCK, 0, NULL, NULL) &&
         send_prepared(w, p, SIZE_MAX, SQL_WRITER_CLOCK_SEQ, 1, values,
                       lengths);
    pipeline_keep(p, &b->clock);
    ok = ok && send_voided_already(w, p, group, n, &b->hits);
    if (b->count.failed)
        p->failed = true;
    return ok && !p->failed && PQpipelineSync(w->pg) == 1;
}

/* Reads what send_begin_copy sent: the group's stored time, its first
 * sequence number, and voided[k] set for the k-th row of the group (in
 * request and row order) when a stored voiding statement targets it. */
static int
read_begin_copy(struct writer *w, const struct pipeline *p, size_t nrows,
                struct copy_begin *b, int64_t *stored_us, int64_t *first_seq,
                bool *voided, struct lrs_error *err)
{
    struct failure f;

    if (read_pipeline(w, p, &f, NULL) != 0) {
        *err = f.err;
        return -1;
    }
    if (b->clock == NULL || PQntuples(b->clock) != 1 || b->hits == NULL)
        return lrs_error_set(err, 500, "database error");
    *stored_us = strtoll(PQgetvalue(b->clock, 0, 0), NULL, 10);
    *first_seq = strtoll(PQgetvalue(b->clock, 0, 1), NULL, 10) -
                 (int64_t)nrows + 1;
    for (int t = 0; t < PQntuples(b->hits); t++) {
        long long ord = strtoll(PQgetvalue(b->hits, t, 0), NULL, 10);

        if (ord >= 1 && (size_t)ord <= nrows)
            voided[ord - 1] = true;
    }
    return 0;
}

/* A text[] of items, or NULL when there are none. */
static void
field_string_list(struct buf *b, struct pgarray *scratch, char **items,
                  size_t n)
{
    if (n == 0) {
        pgfield_null(b);
        return;
    }
    pgarray_restart(scratch, PGBUF_OID_TEXT);
    for (size_t i = 0; i < n; i++)
        pgarray_add_text(scratch, items[i], strlen(items[i]));
    if (pgarray_finish(scratch) != 0)
        b->failed = true;
    else
        pgfield_array(b, scratch);
}

/* Scratch arrays for the array columns of a row. */
struct copy_scratch {
    struct pgarray list, kinds, digests;
};

/*
 * The COPY data is built while the transaction begins, before the
 * sequence numbers, the stored time and the voided flags are known: row
 * k is written with seq k, stored 0 and voided false, and patch_copy_data
 * puts the real values in place. The offsets follow from the fixed-size
 * fields that lead each tuple: the field count (2 bytes), then a length
 * (4 bytes) and a value per field.
 */
#define ROW_VOIDED_AT (2 + 4 + 4 + 4)            /* after store_id */
#define ROW_SEQ_AT (ROW_VOIDED_AT + 1 + 4)
#define ROW_STORED_AT (ROW_SEQ_AT + 8 + 4)
#define INDEX_SEQ_AT (2 + 4 + 4 + 4 + 2 + 4 + 16 + 4)
#define INDEX_TUPLE_SIZE (INDEX_SEQ_AT + 8)
#define COPY_HEADER_SIZE 19

/* The COPY data of a group. */
struct copy_data {
    struct buf rows;        /* SQL_COPY_STATEMENTS */
    struct buf index;       /* SQL_COPY_INDEX, sorted by key */
    size_t *row_at;           /* where each row's tuple starts in rows */
    size_t nrows;
    size_t nindex;            /* tuples in index */
};

/* Appends a row as a tuple of SQL_COPY_STATEMENTS's columns: the row at
 * position pos of the group, with the placeholders above. */
static void
copy_row(struct buf *b, struct copy_scratch *sc, int store_id,
         const struct xapi_row *row, size_t pos)
{
    pgcopy_tuple(b, 16);
    pgfield_int32(b, store_id);
    pgfield_bool(b, false);                 /* voided */
    pgfield_int64(b, (int64_t)pos);         /* seq */
    pgfield_int64(b, 0);                    /* stored (a timestamptz) */
    if (row->has_timestamp)
        pgfield_timestamptz(b, row->timestamp_us);
    else
        pgfield_null(b);
    pgfield_uuid_or_null(b, row->id);
    pgfield_uuid_or_null(b, row->registration);
    pgfield_text_or_null(b, row->actor_key);
    pgfield_text_or_null(b, row->verb_id);
    pgfield_text_or_null(b, row->object_type);
    pgfield_text_or_null(b, row->object_id);
    field_string_list(b, &sc->list, row->parents, row->nparents);
    field_string_list(b, &sc->list, row->groupings, row->ngroupings);
    pgarray_restart(&sc->kinds, PGBUF_OID_INT2);
    pgarray_restart(&sc->digests, PGBUF_OID_UUID);
    for (size_t k = 0; k < row->nkeys; k++) {
        pgarray_add_int16(&sc->kinds, (int16_t)row->keys[k].kind);
        pgarray_add_bytes16(&sc->digests, row->keys[k].digest);
    }
    if (pgarray_finish(&sc->kinds) != 0 ||
        pgarray_finish(&sc->digests) != 0)
        b->failed = true;
    pgfield_array(b, &sc->kinds);
    pgfield_array(b, &sc->digests);
    pgfield_text(b, row->body, row->body_len);
}

static void
copy_data_free(struct copy_data *d)
{
    buf_free(&d->rows);
    buf_free(&d->index);
    free(d->row_at);
    memset(d, 0, sizeof(*d));
}

/* Builds the COPY data of the group's rows and of their index rows. */
static int
build_copy_data(struct request **group, size_t n, size_t nrows,
                struct copy_data *d)
{
    struct copy_scratch sc;
    struct index_entry *entries;
    size_t nentries = 0, k = 0;

    memset(d, 0, sizeof(*d));
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < group[i]->nrows; r++)
            nentries += group[i]->rows[r].nkeys;
    }
    entries = malloc((nentries ? nentries : 1) * sizeof(*entries));
    d->row_at = malloc((nrows ? nrows : 1) * sizeof(*d->row_at));
    if (entries == NULL || d->row_at == NULL) {
        free(entries);
        return -1;
    }
    d->nrows = nrows;
    pgarray_begin(&sc.list, PGBUF_OID_TEXT);
    pgarray_begin(&sc.kinds, PGBUF_OID_INT2);
    pgarray_begin(&sc.digests, PGBUF_OID_UUID);
    pgcopy_begin(&d->rows);
    nentries = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < group[i]->nrows && k < nrows; r++, k++) {
            const struct xapi_row *row = &group[i]->rows[r];

            d->row_at[k] = d->rows.len;
            copy_row(&d->rows, &sc, group[i]->store_id, row, k);
            for (size_t x = 0; x < row->nkeys; x++) {
                struct index_entry *e = &entries[nentries++];

                e->store_id = group[i]->store_id;
                e->kind = (int16_t)row->keys[x].kind;
                memcpy(e->digest, row->keys[x].digest, sizeof(e->digest));
                e->seq = (int64_t)k;
            }
        }
    }
    pgcopy_end(&d->rows);
    qsort(entries, nentries, sizeof(*entries), compare_entries);
    pgcopy_begin(&d->index);
    for (size_t e = 0; e < nentries; e++) {
        pgcopy_tuple(&d->index, 4);
        pgfield_int32(&d->index, entries[e].store_id);
        pgfield_int16(&d->index, entries[e].kind);
        pgfield_bytes16(&d->index, entries[e].digest);
        pgfield_int64(&d->index, entries[e].seq);
    }
    pgcopy_end(&d->index);
    d->nindex = nentries;
    pgarray_free(&sc.list);
    pgarray_free(&sc.kinds);
    pgarray_free(&sc.digests);
    free(entries);
    return d->rows.failed || d->index.failed || k != nrows ? -1 : 0;
}

/* Puts the group's sequence numbers, stored time and voided flags in
 * place of the placeholders. */
static void
patch_copy_data(struct copy_data *d, int64_t first_seq, int64_t stored_us,
                const bool *voided)
{
    int64_t stored = stored_us - PG_EPOCH_OFFSET_US;

    for (size_t k = 0; k < d->nrows; k++) {
        size_t at = d->row_at[k];

        d->rows.data[at + ROW_VOIDED_AT] = voided[k] ? 1 : 0;
        pgbuf_patch_int64(&d->rows, at + ROW_SEQ_AT, first_seq + (int64_t)k);
        pgbuf_patch_int64(&d->rows, at + ROW_STORED_AT, stored);
    }
    for (size_t e = 0; e < d->nindex; e++) {
        size_t at = COPY_HEADER_SIZE + e * INDEX_TUPLE_SIZE + INDEX_SEQ_AT;

        pgbuf_patch_int64(&d->index, at,
                          first_seq + pgbuf_read_int64(&d->index, at));
    }
}

/* Runs one COPY ... FROM STDIN with data, outside pipeline mode. Returns
 * 0, or -1 with f describing the failure. */
static int
copy_in(struct writer *w, enum sql_id id, const struct buf *data,
        struct failure *f)
{
    /* PQputCopyData takes an int; a MiB at a time is plenty. */
    const size_t chunk = (size_t)1 << 20;
    const struct sent what = {SIZE_MAX, sql_statements[id].name, NULL};
    PGresult *res = NULL;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    f->request = SIZE_MAX;
    if (PQsendQuery(w->pg, sql_statements[id].text) == 1)
        res = PQgetResult(w->pg);
    if (res != NULL && PQresultStatus(res) == PGRES_COPY_IN) {
        bool sent = true;

        PQclear(res);
        res = NULL;
        for (size_t off = 0; off < data->len && sent; off += chunk) {
            size_t len = data->len - off < chunk ? data->len - off : chunk;

            sent = PQputCopyData(w->pg, data->data + off, (int)len) == 1;
        }
        if (sent && PQputCopyEnd(w->pg, NULL) == 1)
            res = PQgetResult(w->pg);
    }
    if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
    } else if (res != NULL && PQstatus(w->pg) == CONNECTION_OK) {
        note_failure(w, f, &what, res);
    } else {
        f->lost = true;
        pool_report(w->pg, res, what.what, &f->err);
    }
    PQclear(res);
    while ((res = PQgetResult(w->pg)) != NULL)
        PQclear(res);
    return rc;
}

/*
 * Stores a group of plain statements with COPY and commits. Returns 0
 * when committed, 1 when a row failed (the transaction is rolled back;
 * redo carefully), -1 with err when the group failed as a whole.
 */
static int
run_copy(struct writer *w, struct request **group, size_t n, size_t nrows,
         struct lrs_error *err)
{
    bool *voided = calloc(nrows, sizeof(*voided));
    struct copy_begin begin = {0};
    struct copy_data data = {0};
    struct pipeline p = {0};
    struct failure f = {0};
    int64_t stored_us = 0, first_seq = 0;
    bool built, copied;
    int rc = -1;

    buf_init(&begin.count);
    if (voided == NULL) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    if (!send_begin_copy(w, &p, group, n, nrows, &begin)) {
        pool_report(w->pg, NULL, "begin", err);
        goto out;
    }
    /* PostgreSQL takes the lock and reads the clock meanwhile. */
    built = build_copy_data(group, n, nrows, &data) == 0;
    if (read_begin_copy(w, &p, nrows, &begin, &stored_us, &first_seq,
                        voided, err) != 0)
        goto out;
    note_stored(w, stored_us);
    if (!built) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    patch_copy_data(&data, first_seq, stored_us, voided);
    pipeline_clear(&p);
    if (PQexitPipelineMode(w->pg) != 1) {
        pool_report(w->pg, NULL, "exit pipeline", err);
        goto out;
    }
    copied = copy_in(w, SQL_COPY_STATEMENTS, &data.rows, &f) == 0 &&
             copy_in(w, SQL_COPY_INDEX, &data.index, &f) == 0;
    if (f.lost || PQenterPipelineMode(w->pg) != 1) {
        *err = f.err;
        goto out;
    }
    if (copied) {
        rc = finish_group(w, &p, send_plain(w, &p, SIZE_MAX, SQL_COMMIT),
                          err);
    } else {
        rc = finish_group(w, &p, send_plain(w, &p, SIZE_MAX, SQL_ROLLBACK),
                          err) == 0 ? 1 : -1;
    }
out:
    PQclear(begin.clock);
    PQclear(begin.hits);
    buf_free(&begin.count);
    copy_data_free(&data);
    free(p.items);
    free(voided);
    return rc;
}

/* After request j failed in careful mode: roll back to its savepoint and
 * settle it. Returns -1 with err when the connection is lost. */
static int
recover_request(struct writer *w, struct request **group, size_t j,
                const struct failure *failed, int64_t stored_us,
                struct lrs_error *err)
{
    struct pipeline p = {0};
    struct lrs_error outcome;
    int rc;

    rc = finish_group(w, &p, send_plain(w, &p, j, SQL_ROLLBACK_TO), err);
    free(p.items);
    if (rc != 0)
        return -1;
    if (strcmp(failed->sqlstate, "23505") == 0) {
        if (resolve_conflict(w, group[j], j, stored_us) != 0) {
            *err = group[j]->err;
            return -1;
        }
        return 0;
    }
    failure_error(failed, &outcome);
    settle(group[j], &outcome);
    return 0;
}

/*
 * The second attempt: each request under a savepoint. All requests are
 * sent at once; when one fails, the server skips the rest, so after
 * resolving the failed one the remaining requests are sent again.
 * Returns 0 when committed, -1 with err when the group failed as a whole.
 */
static int
run_careful(struct writer *w, struct request **group, size_t n,
            int64_t stored_us, struct lrs_error *err)
{
    struct pipeline p = {0};
    struct failure f;
    size_t k = 0;
    int rc = -1;
    bool ok;

    for (size_t i = 0; i < n; i++) {
        struct lrs_error oom;

        if (!group[i]->settled && plan_request(group[i]) != 0) {
            lrs_error_set(&oom, 500, "out of memory");
            settle(group[i], &oom);
        }
    }
    while (k < n) {
        pipeline_clear(&p);
        ok = true;
        for (size_t i = k; i < n && ok; i++) {
            if (!group[i]->settled)
                ok = send_request(w, &p, i, group[i], &group[i]->plan,
                                  stored_us);
        }
        if (p.count == 0)
            break;
        if (flush_pipeline(w, &p, ok, &f, NULL) == 0)
            break;
        if (f.lost || f.request == SIZE_MAX) {
            *err = f.err;
            goto out;
        }
        for (size_t i = k; i < f.request; i++) {
            if (!group[i]->settled)
                settle(group[i], NULL);
        }
        if (recover_request(w, group, f.request, &f, stored_us, err) != 0)
            goto out;
        k = f.request + 1;
    }
    pipeline_clear(&p);
    rc = finish_group(w, &p, send_plain(w, &p, SIZE_MAX, SQL_COMMIT), err);
out:
    free(p.items);
    return rc;
}

static void
run_group(struct writer *w, struct request **group, size_t n)
{
    struct lrs_error err = {0};
    int64_t stored_us = 0;
    size_t plain;
    int rc;

    if (ensure_connected(w, &err) != 0)
        goto fail;
    plain = copyable_rows(group, n);
    if (plain >= COPY_MIN_ROWS) {
        rc = run_copy(w, group, n, plain, &err);
    } else {
        if (begin_group(w, &stored_us, &err) != 0)
            goto fail;
        note_stored(w, stored_us);
        rc = run_fast(w, group, n, stored_us, &err);
    }
    if (rc == 1) {
        if (begin_group(w, &stored_us, &err) != 0)
            goto fail;
        rc = run_careful(w, group, n, stored_us, &err);
    }
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!group[i]->settled)
            settle(group[i], NULL);
    }
    return;
fail:
    /* Whatever the transaction held is rolled back with the connection;
     * the next group connects afresh. */
    drop_connection(w);
    if (err.status == 0)
        lrs_error_set(&err, 500, "database error");
    fail_open(group, n, &err);
}

/* ---- the thread ---- */

/* Takes queued requests up to max_group statements (at least one
 * request). Called with mu held. */
static size_t
take_group(struct writer *w)
{
    size_t n = 0, rows = 0;

    while (w->head != NULL && n < w->max_group) {
        struct request *r = w->head;

        if (n > 0 && rows + r->nrows > w->max_group)
            break;
        w->head = r->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->group[n++] = r;
        rows += r->nrows;
    }
    return n;
}

static void
report(struct request **group, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct request *r = group[i];

        r->done(r->arg, &r->err);
        plan_free(&r->plan);
        free(r);
    }
}

static void
log_group(struct request **group, size_t n, int64_t started_us)
{
    size_t rows = 0, failed = 0;

    if (!log_enabled(LOG_DEBUG))
        return;
    for (size_t i = 0; i < n; i++) {
        rows += group[i]->nrows;
        failed += group[i]->err.status != 0;
    }
    log_debug("event=group_commit requests=%zu statements=%zu failed=%zu "
              "us=%lld", n, rows, failed,
              (long long)(pool_now_us() - started_us));
}

static void *
writer_main(void *arg)
{
    struct writer *w = arg;

    for (;;) {
        int64_t started;
        size_t n;

        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->wake, &w->mu);
        if (w->head == NULL) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        n = take_group(w);
        started = pool_now_us();
        w->busy_since_us = started;
        w->busy_stored_us = 0;
        pthread_mutex_unlock(&w->mu);

        run_group(w, w->group, n);

        pthread_mutex_lock(&w->mu);
        w->busy_since_us = 0;
        w->busy_stored_us = 0;
        pthread_mutex_unlock(&w->mu);
        log_group(w->group, n, started);
        report(w->group, n);
    }
    return NULL;
}

int
writer_start(const char *conninfo, int statement_timeout_ms, int max_group,
             struct writer **out, struct lrs_error *err)
{
    struct writer *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL)
        return lrs_error_set(err, 500, "out of memory");
    w->max_group = max_group > 0 ? (size_t)max_group : 1;
    w->statement_timeout_ms = statement_timeout_ms;
    w->conninfo = strdup(conninfo);
    w->group = calloc(w->max_group, sizeof(*w->group));
    if (w->conninfo == NULL || w->group == NULL)
        goto fail;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    *out = w;
    return 0;
fail:
    free(w->conninfo);
    free(w->group);
    free(w);
    return lrs_error_set(err, 500, "cannot start the statement writer");
}

void
writer_stop(struct writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    drop_connection(w);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->conninfo);
    free(w->group);
    free(w);
}

void
writer_submit(struct writer *w, int store_id, struct xapi_row *rows,
              size_t nrows, const struct store_attachment *atts,
              size_t natts, store_done_fn done, void *arg)
{
    struct request *r;
    struct lrs_error err = {0};

    if (nrows == 0) {
        done(arg, &err);
        return;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        lrs_error_set(&err, 500, "out of memory");
        done(arg, &err);
        return;
    }
    r->store_id = store_id;
    r->rows = rows;
    r->nrows = nrows;
    r->atts = atts;
    r->natts = natts;
    r->done = done;
    r->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(r);
        lrs_error_set(&err, 503, "the server is shutting down");
        done(arg, &err);
        return;
    }
    if (w->tail != NULL)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

int64_t
writer_consistent_through_us(struct writer *w)
{
    int64_t now = pool_now_us();
    int64_t t;

    pthread_mutex_lock(&w->mu);
    t = w->busy_since_us;
    if (t != 0 && w->busy_stored_us != 0 && w->busy_stored_us < t)
        t = w->busy_stored_us;
    pthread_mutex_unlock(&w->mu);
    /* Everything stored before the group in flight is visible; that
     * group's statements get a stored time no earlier than t. */
    return t == 0 ? now : t - 1000;
}
