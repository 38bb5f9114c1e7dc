/*
 * xAPI 1.0's alternate request syntax: a browser that cannot send custom
 * headers POSTs to `?method=PUT` (or GET, POST, DELETE) with a form body
 * whose fields carry the headers, the query parameters and, in `content`,
 * the real body. Pure code, unit-tested alone.
 */
#ifndef LRSD_HTTP_FORM_H
#define LRSD_HTTP_FORM_H

#include <stddef.h>

#include "core/error.h"
#include "http/params.h"

struct form {
    char *text;                /* owned: decoded copy the fields point in */
    struct param_list headers; /* fields that are HTTP headers */
    struct param_list params;  /* the other fields: query parameters */
    const char *content;       /* the body, or NULL when absent */
    size_t content_len;
};

/* Splits an application/x-www-form-urlencoded body into headers (the
 * names HTTP gives meaning to: Authorization, Content-Type,
 * X-Experience-API-Version, If-Match, If-None-Match, ...; matched
 * case-insensitively), parameters and content. Returns 0, or -1 with err
 * (400) when the body is not a well-formed form. Free with form_free. */
int form_parse(const char *body, size_t len, struct form *out,
               struct lrs_error *err) __attribute__((warn_unused_result));

void form_free(struct form *form);

#endif
