/*
 * The statement writer: one thread with its own connection that commits
 * the statements of all queued requests in one transaction (group
 * commit), each request under its own savepoint when needed, and reports
 * each request's outcome only after COMMIT. Internal to store/; the
 * public face is store_statements_submit in statements.h.
 */
#ifndef LRSD_STORE_WRITER_H
#define LRSD_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store/attachments.h"
#include "store/statements.h"

struct writer;

/* Starts the writer thread. It connects when the first group arrives and
 * reconnects after a failure. Returns 0 with *out set, or -1 with err. */
int writer_start(const char *conninfo, int statement_timeout_ms,
                 int max_group, struct writer **out, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Commits what is queued, stops the thread, closes the connection and
 * frees the writer. NULL is allowed. */
void writer_stop(struct writer *w);

/* Queues a request; see store_statements_submit. done is called exactly
 * once, from the writer thread or (when the request cannot be queued)
 * from the caller's thread before this returns. */
void writer_submit(struct writer *w, int store_id, struct xapi_row *rows,
                   size_t nrows, const struct store_attachment *atts,
                   size_t natts, store_done_fn done, void *arg);

/* The time, in microseconds since the epoch, up to which every statement
 * this writer committed is visible: now when idle, just before the stored
 * time of the group in flight otherwise. */
int64_t writer_consistent_through_us(struct writer *w);

#endif
