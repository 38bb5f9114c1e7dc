/*
 * Connections to PostgreSQL and the pool of read connections. See pool.h.
 *
 * The pool is a fixed array of slots guarded by one mutex. A slot's
 * connection is made when a request first needs it and re-made after it
 * breaks, so lrsd starts and keeps running while the database is away;
 * requests meanwhile fail at once with 503 instead of waiting.
 */
#include "store/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "store/sql.h"

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t freed;          /* a slot was released */
    char *conninfo;                /* owned */
    int statement_timeout_ms;
    int size;
    struct pool_conn *conns;       /* size slots, owned */
    int64_t connect_again_us;      /* no new connection before this */
};

int64_t
pool_now_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static int64_t
monotonic_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* libpq messages end with a newline and may span lines; a log value is
 * one line. */
static const char *
one_line(char *buf, size_t size, const char *msg)
{
    char flat[512];
    size_t n = 0;

    for (const char *p = msg ? msg : ""; *p && n + 1 < sizeof(flat); p++)
        flat[n++] = (*p == '\n' || *p == '\t') ? ' ' : *p;
    while (n > 0 && flat[n - 1] == ' ')
        n--;
    flat[n] = '\0';
    return log_quote(buf, size, flat);
}

static void
log_notice(void *arg, const char *message)
{
    char quoted[600];

    (void)arg;
    log_info("event=db_notice message=%s",
             one_line(quoted, sizeof(quoted), message));
}

static int
apply_settings(PGconn *pg, int statement_timeout_ms, struct lrs_error *err)
{
    char sql[160];
    PGresult *res;
    int rc;

    /* Integers from the configuration only: safe to format into SQL. */
    snprintf(sql, sizeof(sql),
             "SET TimeZone = 'UTC'; SET statement_timeout = %d",
             statement_timeout_ms > 0 ? statement_timeout_ms : 0);
    res = PQexec(pg, sql);
    rc = pool_check(pg, res, PGRES_COMMAND_OK, "session_settings", err);
    PQclear(res);
    return rc;
}

int
pool_connect(const char *conninfo, int statement_timeout_ms, PGconn **out,
             struct lrs_error *err)
{
    char timeout[16];
    /* Defaults first: keywords of the expanded conninfo ("dbname", last)
     * override them. */
    const char *const keys[] = {"connect_timeout", "application_name",
                                "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "dbname", NULL};
    const char *vals[] = {timeout, "lrsd", "30", "10", "3", conninfo, NULL};
    char quoted[600];
    PGconn *pg;

    *out = NULL;
    snprintf(timeout, sizeof(timeout), "%d", POOL_CONNECT_TIMEOUT_S);
    pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL)
        return lrs_error_set(err, 500, "out of memory");
    if (PQstatus(pg) != CONNECTION_OK) {
        log_error("event=db_connect_failed error=%s",
                  one_line(quoted, sizeof(quoted), PQerrorMessage(pg)));
        PQfinish(pg);
        return lrs_error_set(err, 503, "the database is unavailable");
    }
    PQsetNoticeProcessor(pg, log_notice, NULL);
    if (apply_settings(pg, statement_timeout_ms, err) != 0) {
        PQfinish(pg);
        return -1;
    }
    *out = pg;
    return 0;
}

static bool
sqlstate_is_unavailable(const char *state)
{
    if (state == NULL || strlen(state) != 5)
        return true;    /* libpq's own errors: the connection failed */
    return strncmp(state, "08", 2) == 0 ||     /* connection exception */
           strncmp(state, "53", 2) == 0 ||     /* insufficient resources */
           strcmp(state, "57P01") == 0 ||      /* admin shutdown */
           strcmp(state, "57P02") == 0 ||      /* crash shutdown */
           strcmp(state, "57P03") == 0 ||      /* cannot connect now */
           strcmp(state, "57014") == 0 ||      /* statement timeout */
           strcmp(state, "55P03") == 0 ||      /* lock not available */
           strcmp(state, "40001") == 0 ||      /* serialization failure */
           strcmp(state, "40P01") == 0;        /* deadlock detected */
}

bool
pool_failure_is_unavailable(PGconn *pg, const PGresult *res)
{
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK || res == NULL)
        return true;
    return sqlstate_is_unavailable(
        PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

void
pool_report(PGconn *pg, const PGresult *res, const char *what,
            struct lrs_error *err)
{
    const char *msg, *state;
    char quoted[600];

    msg = res != NULL ? PQresultErrorMessage(res) : "";
    if (msg[0] == '\0' && pg != NULL)
        msg = PQerrorMessage(pg);
    state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    log_error("event=db_error op=%s sqlstate=%s error=%s", what,
              state ? state : "-", one_line(quoted, sizeof(quoted), msg));
    if (pool_failure_is_unavailable(pg, res))
        lrs_error_set(err, 503, "the database is unavailable");
    else
        lrs_error_set(err, 500, "database error");
}

int
pool_check(PGconn *pg, const PGresult *res, ExecStatusType want,
           const char *what, struct lrs_error *err)
{
    if (res != NULL && PQresultStatus(res) == want)
        return 0;
    pool_report(pg, res, what, err);
    return -1;
}

int
pool_prepare(PGconn *pg, unsigned use, struct lrs_error *err)
{
    for (int i = 0; i < SQL_COUNT; i++) {
        const struct sql_statement *s = &sql_statements[i];
        PGresult *res;
        int rc;

        if (s->use != use)
            continue;
        res = PQprepare(pg, s->name, s->text, 0, NULL);
        rc = pool_check(pg, res, PGRES_COMMAND_OK, s->name, err);
        PQclear(res);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the pool ---- */

struct pool *
pool_new(const char *conninfo, int size, int statement_timeout_ms)
{
    struct pool *pool = calloc(1, sizeof(*pool));
    pthread_condattr_t attr;

    if (pool == NULL)
        return NULL;
    pool->conninfo = strdup(conninfo);
    pool->conns = calloc((size_t)size, sizeof(*pool->conns));
    if (pool->conninfo == NULL || pool->conns == NULL) {
        free(pool->conninfo);
        free(pool->conns);
        free(pool);
        return NULL;
    }
    pool->size = size;
    pool->statement_timeout_ms = statement_timeout_ms;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    return pool;
}

void
pool_free(struct pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++) {
        if (pool->conns[i].pg != NULL)
            PQfinish(pool->conns[i].pg);
    }
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->mu);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

/* A free slot, preferring one that is already connected; NULL if none. */
static struct pool_conn *
find_free(struct pool *pool)
{
    struct pool_conn *unconnected = NULL;

    for (int i = 0; i < pool->size; i++) {
        struct pool_conn *c = &pool->conns[i];

        if (c->in_use)
            continue;
        if (c->pg != NULL)
            return c;
        if (unconnected == NULL)
            unconnected = c;
    }
    return unconnected;
}

static struct pool_conn *
wait_for_slot(struct pool *pool, int timeout_ms)
{
    int64_t deadline = monotonic_us() + (int64_t)timeout_ms * 1000;
    struct pool_conn *c;
    struct timespec ts;

    while ((c = find_free(pool)) == NULL) {
        ts.tv_sec = (time_t)(deadline / 1000000);
        ts.tv_nsec = (long)(deadline % 1000000) * 1000;
        if (pthread_cond_timedwait(&pool->freed, &pool->mu, &ts) ==
            ETIMEDOUT) {
            c = find_free(pool);
            break;
        }
    }
    if (c != NULL)
        c->in_use = true;
    return c;
}

static int
connect_slot(struct pool *pool, struct pool_conn *c, struct lrs_error *err)
{
    PGconn *pg;

    if (pool_connect(pool->conninfo, pool->statement_timeout_ms, &pg, err)
        != 0)
        return -1;
    if (pool_prepare(pg, SQL_USE_READ, err) != 0) {
        PQfinish(pg);
        return -1;
    }
    c->pg = pg;
    c->prepared_shapes = 0;
    c->reused = false;
    return 0;
}

int
pool_acquire(struct pool *pool, int timeout_ms, struct pool_conn **out,
             struct lrs_error *err)
{
    struct pool_conn *c;
    bool backing_off;

    *out = NULL;
    pthread_mutex_lock(&pool->mu);
    c = wait_for_slot(pool, timeout_ms);
    backing_off = monotonic_us() < pool->connect_again_us;
    pthread_mutex_unlock(&pool->mu);
    if (c == NULL)
        return lrs_error_set(err, 503, "no database connection became free "
                             "within %d ms", timeout_ms);
    if (c->pg != NULL && PQstatus(c->pg) != CONNECTION_OK)
        pool_conn_reset(c);
    if (c->pg == NULL) {
        int rc = backing_off ? lrs_error_set(err, 503,
                                             "the database is unavailable")
                             : connect_slot(pool, c, err);

        if (rc != 0) {
            pthread_mutex_lock(&pool->mu);
            if (!backing_off)
                pool->connect_again_us =
                    monotonic_us() + POOL_RETRY_AFTER_FAILURE_MS * 1000;
            c->in_use = false;
            pthread_cond_signal(&pool->freed);
            pthread_mutex_unlock(&pool->mu);
            return -1;
        }
    }
    *out = c;
    return 0;
}

void
pool_conn_reset(struct pool_conn *conn)
{
    if (conn->pg != NULL)
        PQfinish(conn->pg);
    conn->pg = NULL;
    conn->prepared_shapes = 0;
    conn->reused = false;
}

void
pool_release(struct pool *pool, struct pool_conn *conn)
{
    if (conn->pg != NULL && (PQstatus(conn->pg) != CONNECTION_OK ||
                             PQtransactionStatus(conn->pg) != PQTRANS_IDLE))
        pool_conn_reset(conn);
    else if (conn->pg != NULL)
        conn->reused = true;
    pthread_mutex_lock(&pool->mu);
    conn->in_use = false;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->mu);
}
