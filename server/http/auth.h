/*
 * HTTP Basic authentication: parsing the Authorization header and checking
 * the credential against the store.
 */
#ifndef LRSD_HTTP_AUTH_H
#define LRSD_HTTP_AUTH_H

#include <stddef.h>

#include "core/error.h"
#include "http/request.h"

/* Splits an "Authorization: Basic <base64(key:secret)>" value into key
 * and secret, written NUL-terminated into the buffers. Returns 0, or -1
 * when the header is absent, not Basic, or malformed. */
int auth_parse_basic(const char *header, char *key, size_t key_size,
                     char *secret, size_t secret_size)
    __attribute__((warn_unused_result));

/* Authenticates the request, filling req->cred. Returns 0, or -1 with
 * err: 401 for a missing or wrong credential, 503/500 when the store
 * cannot answer. */
int auth_request(struct http_request *req, struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
