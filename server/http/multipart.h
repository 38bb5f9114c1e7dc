/*
 * multipart/mixed bodies, as xAPI uses them to send statements together
 * with attachment content: the first part is the statements' JSON, each
 * further part is one attachment's raw bytes, named by the SHA-256 in its
 * X-Experience-API-Hash header. Pure code over a buffer: the parts point
 * into the body they were parsed from.
 */
#ifndef LRSD_HTTP_MULTIPART_H
#define LRSD_HTTP_MULTIPART_H

#include <stddef.h>

#include "core/error.h"

#define MULTIPART_MAX_PARTS 256

struct multipart_part {
    const char *data; /* content, borrowed from the body */
    size_t len;
    char content_type[128]; /* "" when the part has none */
    char hash[72];          /* X-Experience-API-Hash, "" when none */
    char encoding[32];      /* Content-Transfer-Encoding, "" if none */
};

struct multipart {
    struct multipart_part parts[MULTIPART_MAX_PARTS];
    size_t count;
};

/* Extracts the boundary parameter of a multipart Content-Type header
 * into out. Returns 0, or -1 when there is none or it is too long. */
int multipart_boundary(const char *content_type, char *out, size_t size)
    __attribute__((warn_unused_result));

/* Splits body into parts. The body must begin with the first delimiter
 * (an empty line before it is allowed), parts must be separated by
 * delimiters and the body must end with the closing delimiter. Returns 0,
 * or -1 with err (400) naming what is wrong. */
int multipart_parse(const char *body, size_t len, const char *boundary,
                    struct multipart *out, struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
