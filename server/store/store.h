/*
 * The PostgreSQL store: a bounded pool of connections for reads, a writer
 * that commits statements in groups, and a cache of credentials. Only this
 * layer includes libpq; nothing above it sees a PGresult.
 *
 * Errors: a store function that fails fills a struct lrs_error with 503
 * (database unreachable; the caller adds Retry-After), 500 (unexpected
 * database error, logged here) or a client status it determined (400, 404,
 * 409) and returns -1.
 */
#ifndef LRSD_STORE_STORE_H
#define LRSD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct store;

struct store_config {
    const char *conninfo;     /* libpq URI or conninfo string */
    int pool_size;            /* read connections, >= 1 */
    int acquire_timeout_ms;   /* wait for a free connection before 503 */
    int statement_timeout_ms; /* PostgreSQL statement_timeout, 0 = none */
    int max_group;            /* statements per group commit, >= 1 */
};

/* Connects, checks that the schema is at the version this build expects
 * (when it is not: err says to run `lrsd migrate`), starts the writer.
 * The database need not be reachable later: connections are re-made on
 * demand. Returns 0 and a new store the caller closes, or -1 with err. */
int store_open(const struct store_config *cfg, struct store **out,
               struct lrs_error *err) __attribute__((warn_unused_result));

/* Stops the writer after committing what was queued, closes every
 * connection and frees the store. NULL is allowed. */
void store_close(struct store *st);

/* Writes the X-Experience-API-Consistent-Through value into out (at least
 * 32 bytes): a time up to which every stored statement is visible. */
void store_consistent_through(struct store *st, char *out, size_t size);

#endif
