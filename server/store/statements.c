/*
 * Statement reads, and the entry points of statement writes (which the
 * writer thread carries out; see writer.c).
 *
 * A filtered query is one of a few dozen shapes (how many index filters,
 * since, until, direction; see sql_shape_text). Shapes whose plan does
 * not depend on the values are prepared on a connection the first time
 * it runs them; the others are planned with their values (see
 * shape_is_stable). Pages are cut on seq, the commit order, with one row
 * more than asked fetched to tell whether there are more. Rows come back
 * in binary, so that PostgreSQL formats neither seq nor stored.
 */
#include "store/statements.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "store/pgbuf.h"
#include "store/pool.h"
#include "store/sql.h"
#include "xapi/formats.h"

/* ---- writes ---- */

void
store_statements_submit(struct store *st, int store_id,
                        struct xapi_row *rows, size_t nrows,
                        const struct store_attachment *atts, size_t natts,
                        store_done_fn done, void *arg)
{
    writer_submit(st->writer, store_id, rows, nrows, atts, natts, done, arg);
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct lrs_error err;
};

static void
wake_waiter(void *arg, const struct lrs_error *err)
{
    struct waiter *wt = arg;

    pthread_mutex_lock(&wt->mu);
    wt->err = *err;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

int
store_statements_insert(struct store *st, int store_id,
                        struct xapi_row *rows, size_t nrows,
                        const struct store_attachment *atts, size_t natts,
                        struct lrs_error *err)
{
    struct waiter wt = {.done = false};

    pthread_mutex_init(&wt.mu, NULL);
    pthread_cond_init(&wt.cv, NULL);
    store_statements_submit(st, store_id, rows, nrows, atts, natts,
                            wake_waiter, &wt);
    pthread_mutex_lock(&wt.mu);
    while (!wt.done)
        pthread_cond_wait(&wt.cv, &wt.mu);
    pthread_mutex_unlock(&wt.mu);
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
    if (wt.err.status == 0)
        return 0;
    if (err != NULL)
        *err = wt.err;
    return -1;
}

/* ---- results ---- */

void
store_result_free(struct store_result *result)
{
    if (result == NULL)
        return;
    free(result->bodies);
    free(result->items);
    memset(result, 0, sizeof(*result));
}

/* A big-endian integer of a binary result column. */
static int64_t
get_int64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

/* Whether row r of res has the binary forms the statement queries select:
 * int8 seq, text body, timestamptz stored, bool ts_missing. */
static bool
row_is_well_formed(const PGresult *res, int r)
{
    return PQgetlength(res, r, 0) == 8 && !PQgetisnull(res, r, 1) &&
           PQgetlength(res, r, 2) == 8 && PQgetlength(res, r, 3) == 1;
}

/* Fills seq and stored of items [0, n) from res and returns the bytes
 * their bodies need, or 0 when a row is not what was selected. */
static size_t
read_heads(const PGresult *res, int n, struct store_result *result)
{
    int64_t last_us = INT64_MIN;
    size_t total = 1;

    for (int r = 0; r < n; r++) {
        struct store_statement *item = &result->items[r];
        int64_t stored_us;

        if (!row_is_well_formed(res, r))
            return 0;
        item->seq = get_int64(PQgetvalue(res, r, 0));
        stored_us = get_int64(PQgetvalue(res, r, 2)) + PG_EPOCH_OFFSET_US;
        xapi_timestamp_format(stored_us, item->stored, sizeof(item->stored));
        total += xapi_body_with_stored_max((size_t)PQgetlength(res, r, 1),
                                           strlen(item->stored), true);
        if (stored_us > last_us) {
            last_us = stored_us;
            memcpy(result->last_stored, item->stored, sizeof(item->stored));
        }
    }
    return total;
}

/* Converts rows [0, n) of res (seq, body, stored, ts_missing; binary)
 * into result items. All the bodies go into one allocation, where a page
 * of fifty statements used to make fifty. Returns 0, or -1 with err when
 * memory runs out or a row is not what was selected. */
static int
fill_items(const PGresult *res, int n, struct store_result *result,
           struct lrs_error *err)
{
    size_t size, used = 0;

    result->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*result->items));
    if (result->items == NULL)
        return lrs_error_set(err, 500, "out of memory");
    size = read_heads(res, n, result);
    if (size == 0)
        return lrs_error_set(err, 500, "unexpected statement row");
    result->bodies = malloc(size);
    if (result->bodies == NULL)
        return lrs_error_set(err, 500, "out of memory");
    for (int r = 0; r < n; r++) {
        struct store_statement *item = &result->items[r];
        char *body = result->bodies + used;

        if (xapi_body_put_stored(body, PQgetvalue(res, r, 1),
                                 (size_t)PQgetlength(res, r, 1), item->stored,
                                 PQgetvalue(res, r, 3)[0] != 0,
                                 &item->body_len) != 0)
            return lrs_error_set(err, 500, "unexpected statement row");
        item->body = body;
        used += item->body_len + 1;
        result->count++;
    }
    return 0;
}

/* ---- single lookup ---- */

static int
query_by_id(struct pool_conn *c, const struct store_query *q,
            struct store_result *result, struct lrs_error *err)
{
    unsigned char id[16];
    struct buf store_id;
    const char *values[2];
    int lengths[2] = {4, 16};
    int formats[2] = {1, 1};
    PGresult *res;
    int rc = -1;

    /* A value that is no UUID names no statement. */
    if (pg_uuid_parse(q->statement_id, id) != 0)
        return fill_items(NULL, 0, result, err);
    buf_init(&store_id);
    pgbuf_put_int32(&store_id, q->store_id);
    if (store_id.failed) {
        buf_free(&store_id);
        return lrs_error_set(err, 500, "out of memory");
    }
    values[0] = store_id.data;
    values[1] = (const char *)id;
    res = PQexecPrepared(c->pg, sql_statements[SQL_STATEMENT_BY_ID].name, 2,
                         values, lengths, formats, 1);
    if (pool_check(c->pg, res, PGRES_TUPLES_OK, "statement_by_id", err) == 0) {
        bool found = PQntuples(res) == 1 && PQgetlength(res, 0, 4) == 1 &&
                     (PQgetvalue(res, 0, 4)[0] != 0) == q->voided;

        rc = fill_items(res, found ? 1 : 0, result, err);
    }
    PQclear(res);
    buf_free(&store_id);
    return rc;
}

/* ---- filtered queries ---- */

/* How narrow a filter usually is, narrowest first: the first filter
 * drives the query, the others are probes. */
static int
filter_rank(unsigned char kind)
{
    switch (kind) {
    case XAPI_KEY_REGISTRATION: return 0;
    case XAPI_KEY_AGENT: return 1;
    case XAPI_KEY_ACTIVITY: return 2;
    case XAPI_KEY_AGENT_RELATED: return 3;
    case XAPI_KEY_ACTIVITY_RELATED: return 4;
    default: return 5;
    }
}

static int
compare_filters(const void *a, const void *b)
{
    return filter_rank(((const struct xapi_index_key *)a)->kind) -
           filter_rank(((const struct xapi_index_key *)b)->kind);
}

static int
prepare_shape(struct pool_conn *c, unsigned shape, struct lrs_error *err)
{
    struct buf text;
    char name[16];
    PGresult *res;
    int rc = -1;

    if (c->prepared_shapes & (UINT64_C(1) << shape))
        return 0;
    buf_init(&text);
    if (sql_shape_text(shape, &text) != 0) {
        buf_free(&text);
        return lrs_error_set(err, 500, "out of memory");
    }
    sql_shape_name(shape, name);
    res = PQprepare(c->pg, name, text.data, 0, NULL);
    if (pool_check(c->pg, res, PGRES_COMMAND_OK, "prepare_query", err) == 0) {
        c->prepared_shapes |= UINT64_C(1) << shape;
        rc = 0;
    }
    PQclear(res);
    buf_free(&text);
    return rc;
}

/*
 * Whether a shape's best plan is the same for all values. Without a time
 * range it is: walk the first filter's index range (or the statements in
 * seq order) and probe the other filters for each row (see
 * sql_shape_text). With since/until the best plan may start from the
 * stored index instead, which only the values tell (a range of a minute
 * versus a year); those shapes are planned with their values each time
 * (an unnamed statement), which costs a fraction of a millisecond, rather
 * than run from a generic plan that may read a whole range.
 */
static bool
shape_is_stable(unsigned shape)
{
    return (shape & (SQL_SHAPE_SINCE | SQL_SHAPE_UNTIL)) == 0;
}

/* Runs a query shape: prepared on this connection when its plan does
 * not depend on the values, planned afresh otherwise. Returns the result
 * (the caller checks and clears it), or NULL with err. */
static PGresult *
exec_shape(struct pool_conn *c, unsigned shape, int n,
           const char *const *values, const int *lengths, const int *formats,
           struct lrs_error *err)
{
    struct buf text;
    char name[16];
    PGresult *res;

    if (shape_is_stable(shape)) {
        if (prepare_shape(c, shape, err) != 0)
            return NULL;
        sql_shape_name(shape, name);
        return PQexecPrepared(c->pg, name, n, values, lengths, formats, 1);
    }
    buf_init(&text);
    if (sql_shape_text(shape, &text) != 0) {
        buf_free(&text);
        lrs_error_set(err, 500, "out of memory");
        return NULL;
    }
    res = PQexecParams(c->pg, text.data, n, NULL, values, lengths, formats,
                       1);
    buf_free(&text);
    return res;
}

#define MAX_PARAMS (3 + 2 * STORE_MAX_FILTERS + 2)

/* Binary parameters being encoded into one buffer. */
struct params {
    struct buf buf;
    size_t offset[MAX_PARAMS];
    int length[MAX_PARAMS];
    int count;
};

/* Notes that the next len bytes appended to p->buf form a parameter. */
static void
param_next(struct params *p, int len)
{
    p->offset[p->count] = p->buf.len;
    p->length[p->count] = len;
    p->count++;
}

/* Encodes the parameters of a filtered query in the order that
 * sql_shape_text numbers them. Returns 0, or -1 when memory runs out. */
static int
encode_params(const struct store_query *q,
              const struct xapi_index_key *filters, int limit,
              struct params *p)
{
    int64_t cursor = q->after_seq;

    if (cursor <= 0)
        cursor = q->ascending ? 0 : INT64_MAX;
    param_next(p, 4);
    pgbuf_put_int32(&p->buf, q->store_id);
    param_next(p, 8);
    pgbuf_put_int64(&p->buf, cursor);
    param_next(p, 8);
    pgbuf_put_int64(&p->buf, (int64_t)limit + 1);
    for (size_t i = 0; i < q->nfilters; i++) {
        param_next(p, 2);
        pgbuf_put_int16(&p->buf, filters[i].kind);
        param_next(p, 16);
        buf_append(&p->buf, filters[i].digest, 16);
    }
    if (q->has_since) {
        param_next(p, 8);
        pgbuf_put_int64(&p->buf, q->since_us - PG_EPOCH_OFFSET_US);
    }
    if (q->has_until) {
        param_next(p, 8);
        pgbuf_put_int64(&p->buf, q->until_us - PG_EPOCH_OFFSET_US);
    }
    return p->buf.failed ? -1 : 0;
}

static int
query_filtered(struct pool_conn *c, const struct store_query *q,
               struct store_result *result, struct lrs_error *err)
{
    struct xapi_index_key filters[STORE_MAX_FILTERS];
    const char *values[MAX_PARAMS];
    int formats[MAX_PARAMS];
    int limit = q->limit > 0 ? q->limit : 1;
    unsigned shape = sql_shape((int)q->nfilters, q->has_since, q->has_until,
                               q->ascending);
    struct params p = {.count = 0};
    PGresult *res;
    int rows, rc = -1;

    if (q->nfilters > STORE_MAX_FILTERS)
        return lrs_error_set(err, 400, "too many filters");
    memcpy(filters, q->filters, q->nfilters * sizeof(*filters));
    qsort(filters, q->nfilters, sizeof(*filters), compare_filters);
    buf_init(&p.buf);
    if (encode_params(q, filters, limit, &p) != 0) {
        buf_free(&p.buf);
        return lrs_error_set(err, 500, "out of memory");
    }
    for (int i = 0; i < p.count; i++) {
        values[i] = p.buf.data + p.offset[i];
        formats[i] = 1;
    }
    res = exec_shape(c, shape, p.count, values, p.length, formats, err);
    if (res != NULL && pool_check(c->pg, res, PGRES_TUPLES_OK,
                                  "query_statements", err) == 0) {
        rows = PQntuples(res);
        result->more = rows > limit;
        rc = fill_items(res, rows > limit ? limit : rows, result, err);
    }
    PQclear(res);
    buf_free(&p.buf);
    return rc;
}

static int
run_query(struct store *st, const struct store_query *q,
          struct store_result *result, bool *retry, struct lrs_error *err)
{
    struct pool_conn *c;
    int rc;

    *retry = false;
    if (pool_acquire(st->pool, st->cfg.acquire_timeout_ms, &c, err) != 0)
        return -1;
    if (q->statement_id != NULL)
        rc = query_by_id(c, q, result, err);
    else
        rc = query_filtered(c, q, result, err);
    /* A connection that served before may have been cut while idle (a
     * server restart): one more try on a fresh connection. */
    if (rc != 0 && c->reused && PQstatus(c->pg) != CONNECTION_OK)
        *retry = true;
    pool_release(st->pool, c);
    return rc;
}

int
store_statements_query(struct store *st, const struct store_query *q,
                       struct store_result *result, struct lrs_error *err)
{
    bool retry;
    int rc;

    memset(result, 0, sizeof(*result));
    rc = run_query(st, q, result, &retry, err);
    if (rc != 0 && retry) {
        store_result_free(result);
        rc = run_query(st, q, result, &retry, err);
    }
    if (rc != 0)
        store_result_free(result);
    return rc;
}
