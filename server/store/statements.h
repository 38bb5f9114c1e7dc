/*
 * Storing and querying statements.
 *
 * Writes go through one writer that commits the statements of concurrent
 * requests together (group commit) and assigns each statement a sequence
 * number in commit order, so that paging on it never skips or repeats a
 * statement. Each request's statements are stored whole or not at all.
 */
#ifndef LRSD_STORE_STATEMENTS_H
#define LRSD_STORE_STATEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/attachments.h"
#include "store/store.h"
#include "xapi/statement.h"

/* Called once, from the writer thread, when a submitted batch has been
 * committed (err->status == 0) or rejected. Must not block. */
typedef void (*store_done_fn)(void *arg, const struct lrs_error *err);

/* Queues rows and the attachment contents they carry (both borrowed
 * until done is called) for storing in store_id.
 * Outcomes reported through done:
 *   0    committed; rows whose id already existed with an equal statement
 *        were skipped;
 *   409  a row's id exists with a different statement (message names it);
 *   400  a voiding statement targets a statement that itself voids one;
 *   503  the database is unreachable;  500 other database failures.
 * Nothing of the batch is stored unless the outcome is 0. */
void store_statements_submit(struct store *st, int store_id,
                             struct xapi_row *rows, size_t nrows,
                             const struct store_attachment *atts,
                             size_t natts, store_done_fn done, void *arg);

/* The same, waiting for the outcome. Returns 0 or -1 with err. */
int store_statements_insert(struct store *st, int store_id,
                            struct xapi_row *rows, size_t nrows,
                            const struct store_attachment *atts,
                            size_t natts, struct lrs_error *err)
    __attribute__((warn_unused_result));

#define STORE_MAX_FILTERS 4

struct store_query {
    int store_id;
    const char *statement_id;   /* single lookup by id, or NULL */
    bool voided;                /* single lookup wants a voided statement */
    struct xapi_index_key filters[STORE_MAX_FILTERS]; /* all must match */
    size_t nfilters;
    bool has_since;             /* stored > since */
    int64_t since_us;
    bool has_until;             /* stored <= until */
    int64_t until_us;
    bool ascending;             /* default newest first */
    int64_t after_seq;          /* page cursor: 0 = from the start */
    int limit;                  /* >= 1 */
};

struct store_statement {
    int64_t seq;                /* position in commit order */
    const char *body;           /* JSON text with stored/timestamp added,
                                 * NUL-terminated; in the result's bodies */
    size_t body_len;
    char stored[32];            /* ISO 8601, ms precision, UTC */
};

struct store_result {
    struct store_statement *items; /* owned */
    size_t count;
    bool more;                  /* further statements match */
    char last_stored[32];       /* newest stored among items, "" if none */
    char *bodies;               /* owned: the items' bodies, one after
                                 * another, in one allocation */
};

/* Runs a query. A single lookup returns 0 or 1 items (a voided statement
 * is found only with voided=true, an unvoided one only without). Filters
 * also match statements whose StatementRef object targets, directly or
 * through further references, a statement that matches; voided
 * statements are never returned by a filtered query.
 * Returns 0 with result filled (free with store_result_free), or -1. */
int store_statements_query(struct store *st, const struct store_query *q,
                           struct store_result *result, struct lrs_error *err)
    __attribute__((warn_unused_result));

void store_result_free(struct store_result *result);

#endif
