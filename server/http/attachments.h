/*
 * Statements with attachments: reading a multipart/mixed request into the
 * statements and their attachment contents, checking that contents and
 * metadata agree, and writing multipart responses for attachments=true.
 */
#ifndef LRSD_HTTP_ATTACHMENTS_H
#define LRSD_HTTP_ATTACHMENTS_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "store/attachments.h"

struct attachment_set {
    struct store_attachment *items; /* owned array; data borrowed */
    size_t count;
};

/* Reads a multipart/mixed body: the first part must be the statements as
 * application/json, each further part one attachment in binary with its
 * X-Experience-API-Hash. On success *doc is a new reference to the parsed
 * statements and set lists the contents (pointing into body). Returns 0,
 * or -1 with err (400). */
int attachments_read_multipart(const char *body, size_t len,
                               const char *content_type, json_t **doc,
                               struct attachment_set *set,
                               struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Checks the attachments of the statements in doc (an object or array)
 * against the contents in set: each content must belong to a declared
 * attachment, each attachment without fileUrl must have its content, and
 * signatures must check. Returns 0 or -1 with err (400). */
int attachments_check(const json_t *doc, const struct attachment_set *set,
                      struct lrs_error *err)
    __attribute__((warn_unused_result));

void attachments_set_free(struct attachment_set *set);

/* Collects the distinct sha2 values of the attachments of the statements
 * given as JSON texts. Returns a new array of new strings (free each and
 * the array), with the count in *n; NULL with *n = 0 when there are
 * none. */
char **attachments_hashes(const char *const *bodies, const size_t *lens,
                          size_t count, size_t *n);

/* Builds a multipart/mixed body: json first, then each attachment.
 * boundary receives the boundary (at least 40 bytes). Takes json (frees
 * it). Returns the new body with its length in *out_len, or NULL. */
char *attachments_multipart(char *json, size_t json_len,
                            const struct store_attachment *items, size_t n,
                            char *boundary, size_t bsize, size_t *out_len);

#endif
