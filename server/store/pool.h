/*
 * Connections to PostgreSQL: opening one with lrsd's session settings,
 * turning libpq failures into client-facing errors, and a bounded pool of
 * read connections that request threads borrow. Internal to store/.
 */
#ifndef LRSD_STORE_POOL_H
#define LRSD_STORE_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* Seconds libpq waits for a connection to be made, unless the conninfo
 * sets connect_timeout itself. */
#define POOL_CONNECT_TIMEOUT_S 3

/* After a failed connection attempt, acquiring fails at once (503) for
 * this long instead of trying again, so that an unreachable database
 * costs each request nothing and is not hammered with connections. */
#define POOL_RETRY_AFTER_FAILURE_MS 250

/* Opens a connection with connect_timeout, keepalives and
 * application_name 'lrsd' as defaults the conninfo may override, then
 * sets TimeZone UTC and statement_timeout (0 = none). Returns 0 and a new
 * connection the caller PQfinish-es, or -1 with err (503 when the server
 * cannot be reached, 500 otherwise). */
int pool_connect(const char *conninfo, int statement_timeout_ms,
                 PGconn **out, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Checks a result: returns 0 when it has status want. Otherwise logs the
 * failure at error level with what (a short name of the operation), fills
 * err (503 for lost connections, timeouts and server shutdown, 500 for
 * the rest) and returns -1. Does not clear res; res may be NULL. */
int pool_check(PGconn *pg, const PGresult *res, ExecStatusType want,
               const char *what, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* The failing half of pool_check: logs the failure of res (which may be
 * NULL) and fills err. */
void pool_report(PGconn *pg, const PGresult *res, const char *what,
                 struct lrs_error *err);

/* True when a failed result (or a NULL one) means the server is
 * unavailable rather than that the statement was wrong. */
bool pool_failure_is_unavailable(PGconn *pg, const PGresult *res);

/* Prepares every statement of the sql table marked for the given use
 * (SQL_USE_READ or SQL_USE_WRITE). Returns 0, or -1 with err. */
int pool_prepare(PGconn *pg, unsigned use, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* A pooled connection. */
struct pool_conn {
    PGconn *pg;               /* NULL until connected */
    uint64_t prepared_shapes; /* bit n: query shape n is prepared */
    bool reused;              /* served a request before this one */
    bool in_use;
};

struct pool;

/* Creates a pool of size connections (made on first use). Returns NULL
 * when memory runs out. conninfo is copied. */
struct pool *pool_new(const char *conninfo, int size,
                      int statement_timeout_ms);

/* Closes every connection and frees the pool. All connections must have
 * been released. NULL is allowed. */
void pool_free(struct pool *pool);

/* Borrows a connection, connected and prepared for reads, waiting up to
 * timeout_ms for one to be free. Returns 0 with *out set, or -1 with err
 * (503 when none became free or the database cannot be reached). */
int pool_acquire(struct pool *pool, int timeout_ms, struct pool_conn **out,
                 struct lrs_error *err) __attribute__((warn_unused_result));

/* Returns a connection to the pool. A connection that is broken or not
 * idle (a transaction left open) is closed and re-made on next use. */
void pool_release(struct pool *pool, struct pool_conn *conn);

/* Closes a borrowed connection's link to the server, so that the next
 * acquire connects afresh. Used after a failure that may have left the
 * session in an unknown state. */
void pool_conn_reset(struct pool_conn *conn);

/* Microseconds since the epoch, from the realtime clock. */
int64_t pool_now_us(void);

#endif
