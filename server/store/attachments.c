/*
 * Reading attachment contents. Writing them is the writer's (writer.c),
 * in the transaction of the statements that carry them.
 */
#include "store/attachments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "store/pgbuf.h"
#include "store/pool.h"
#include "store/sql.h"

void
store_attachments_free(struct store_attachment *items, size_t n)
{
    if (items == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i].data);
    free(items);
}

/* Copies rows of res (sha2, content_type, content; binary) into items. */
static int
fill(const PGresult *res, struct store_attachment **out, size_t *nout,
     struct lrs_error *err)
{
    int rows = PQntuples(res);
    struct store_attachment *items;

    items = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*items));
    if (items == NULL)
        return lrs_error_set(err, 500, "out of memory");
    for (int r = 0; r < rows; r++) {
        struct store_attachment *a = &items[r];
        size_t len = (size_t)PQgetlength(res, r, 2);

        snprintf(a->sha2, sizeof(a->sha2), "%.*s", PQgetlength(res, r, 0),
                 PQgetvalue(res, r, 0));
        snprintf(a->content_type, sizeof(a->content_type), "%.*s",
                 PQgetlength(res, r, 1), PQgetvalue(res, r, 1));
        a->data = malloc(len ? len : 1);
        if (a->data == NULL) {
            store_attachments_free(items, (size_t)r);
            return lrs_error_set(err, 500, "out of memory");
        }
        memcpy(a->data, PQgetvalue(res, r, 2), len);
        a->len = len;
    }
    *out = items;
    *nout = (size_t)rows;
    return 0;
}

int
store_attachments_get(struct store *st, int store_id,
                      const char *const *sha2, size_t n,
                      struct store_attachment **out, size_t *nout,
                      struct lrs_error *err)
{
    struct pool_conn *c;
    struct buf head;
    struct pgarray hashes;
    const char *values[2];
    int lengths[2], formats[2] = {1, 1};
    PGresult *res = NULL;
    int rc = -1;

    *out = NULL;
    *nout = 0;
    buf_init(&head);
    pgbuf_put_int32(&head, store_id);
    pgarray_begin(&hashes, PGBUF_OID_TEXT);
    for (size_t i = 0; i < n; i++)
        pgarray_add_text(&hashes, sha2[i], strlen(sha2[i]));
    if (pgarray_finish(&hashes) != 0 || head.failed ||
        hashes.buf.len > INT32_MAX) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    values[0] = head.data;
    lengths[0] = 4;
    values[1] = hashes.buf.data;
    lengths[1] = (int)hashes.buf.len;
    if (pool_acquire(st->pool, st->cfg.acquire_timeout_ms, &c, err) != 0)
        goto out;
    res = PQexecPrepared(c->pg, sql_statements[SQL_ATTACHMENTS_BY_HASH].name,
                         2, values, lengths, formats, 1);
    if (pool_check(c->pg, res, PGRES_TUPLES_OK, "attachments_by_hash",
                   err) == 0)
        rc = fill(res, out, nout, err);
    pool_release(st->pool, c);
out:
    PQclear(res);
    pgarray_free(&hashes);
    buf_free(&head);
    return rc;
}
