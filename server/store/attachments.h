/*
 * Attachment content. Content is kept once per store and SHA-256, since
 * statements name their attachments by hash; the writer stores it in the
 * same transaction as the statements that carry it.
 */
#ifndef LRSD_STORE_ATTACHMENTS_H
#define LRSD_STORE_ATTACHMENTS_H

#include <stddef.h>

#include "core/error.h"
#include "store/store.h"

struct store_attachment {
    char sha2[65];              /* lowercase hex SHA-256 of data */
    char content_type[128];
    unsigned char *data;        /* borrowed when storing, owned in results */
    size_t len;
};

/* Fetches the content of the attachments with the given hashes (hex,
 * lowercase) in store_id. Hashes without stored content are left out.
 * On success *out is a new array of *nout items (free with
 * store_attachments_free) and 0 is returned; -1 with err otherwise. */
int store_attachments_get(struct store *st, int store_id,
                          const char *const *sha2, size_t n,
                          struct store_attachment **out, size_t *nout,
                          struct lrs_error *err)
    __attribute__((warn_unused_result));

void store_attachments_free(struct store_attachment *items, size_t n);

#endif
