/*
 * HTTP Basic authentication. The key and secret are checked by the store,
 * which caches verified credentials, so most requests cost no query.
 */
#include "http/auth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "http/server_internal.h"

int
auth_parse_basic(const char *header, char *key, size_t key_size, char *secret,
                 size_t secret_size)
{
    unsigned char *decoded;
    const char *colon;
    size_t len, klen;
    int rc = -1;

    if (header == NULL || strncasecmp(header, "Basic", 5) != 0 ||
        !isspace((unsigned char)header[5]))
        return -1;
    header += 6;
    while (isspace((unsigned char)*header))
        header++;
    len = strlen(header);
    while (len > 0 && isspace((unsigned char)header[len - 1]))
        len--;
    decoded = base64_decode(header, len, &len);
    if (decoded == NULL)
        return -1;
    colon = memchr(decoded, ':', len);
    if (colon == NULL || memchr(decoded, '\0', len) != NULL)
        goto out;
    klen = (size_t)(colon - (char *)decoded);
    if (klen == 0 || klen >= key_size || len - klen - 1 >= secret_size)
        goto out;
    memcpy(key, decoded, klen);
    key[klen] = '\0';
    memcpy(secret, colon + 1, len - klen - 1);
    secret[len - klen - 1] = '\0';
    rc = 0;
out:
    free(decoded);
    return rc;
}

int
auth_request(struct http_request *req, struct lrs_error *err)
{
    char key[256], secret[256];
    const char *header;
    int found;

    header = http_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth_parse_basic(header, key, sizeof(key), secret, sizeof(secret)) < 0)
        return lrs_error_set(err, 401,
                             "Authorization: HTTP Basic credentials are "
                             "required");
    found = keys_authenticate(http_request_store(req), key, secret, &req->cred,
                              err);
    if (found < 0)
        return -1;
    if (found == 0)
        return lrs_error_set(err, 401,
                             "Authorization: unknown key or wrong secret");
    req->authenticated = true;
    return 0;
}
