/*
 * Parsing multipart/mixed (RFC 2046 section 5.1). Only what xAPI needs:
 * part headers are read for Content-Type, Content-Transfer-Encoding and
 * X-Experience-API-Hash, and the body is held in memory already.
 */
#include "http/multipart.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
multipart_boundary(const char *content_type, char *out, size_t size)
{
    const char *p = content_type;
    size_t n;

    while (p != NULL && (p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            p++;
            n = strcspn(p, "\"");
            if (p[n] != '"')
                return -1;
        } else {
            n = strcspn(p, "; \t");
        }
        if (n == 0 || n >= size || n > 70)
            return -1;
        memcpy(out, p, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* Finds needle in the len bytes at hay; NULL when absent. */
static const char *
find(const char *hay, size_t len, const char *needle, size_t nlen)
{
    if (nlen > len)
        return NULL;
    return memmem(hay, len, needle, nlen);
}

/* Copies the value of header `name` from a block of part headers. */
static void
header_value(const char *headers, size_t len, const char *name, char *out,
             size_t size)
{
    size_t nlen = strlen(name);
    const char *line = headers, *end = headers + len;

    out[0] = '\0';
    while (line < end) {
        const char *eol = find(line, (size_t)(end - line), "\r\n", 2);
        size_t llen = eol ? (size_t)(eol - line) : (size_t)(end - line);

        if (llen > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            size_t vlen = llen - nlen - 1;

            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
                vlen--;
            if (vlen >= size)
                vlen = size - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return;
        }
        line += llen + 2;
    }
}

static int
read_part(const char *start, size_t len, struct multipart *out,
          struct lrs_error *err)
{
    struct multipart_part *part;
    const char *sep;
    size_t hlen;

    if (out->count == MULTIPART_MAX_PARTS)
        return lrs_error_set(err, 400, "body: too many multipart parts");
    part = &out->parts[out->count];
    if (len >= 2 && start[0] == '\r' && start[1] == '\n') {
        hlen = 0;
        sep = start;
    } else {
        sep = find(start, len, "\r\n\r\n", 4);
        if (sep == NULL)
            return lrs_error_set(err, 400,
                                 "body: multipart part %zu has no blank "
                                 "line after its headers",
                                 out->count);
        hlen = (size_t)(sep - start);
    }
    header_value(start, hlen, "Content-Type", part->content_type,
                 sizeof(part->content_type));
    header_value(start, hlen, "X-Experience-API-Hash", part->hash,
                 sizeof(part->hash));
    header_value(start, hlen, "Content-Transfer-Encoding", part->encoding,
                 sizeof(part->encoding));
    part->data = sep + (hlen == 0 ? 2 : 4);
    part->len = len - (size_t)(part->data - start);
    out->count++;
    return 0;
}

int
multipart_parse(const char *body, size_t len, const char *boundary,
                struct multipart *out, struct lrs_error *err)
{
    char delim[80];
    size_t dlen;
    const char *p = body, *end = body + len;

    out->count = 0;
    dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    if (len >= 2 && body[0] == '\r' && body[1] == '\n')
        p += 2;
    if ((size_t)(end - p) < dlen - 2 || memcmp(p, delim + 2, dlen - 2) != 0)
        return lrs_error_set(err, 400,
                             "body: must begin with the multipart boundary");
    p += dlen - 2;
    for (;;) {
        const char *next;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return lrs_error_set(err, 400,
                                 "body: malformed multipart delimiter");
        p += 2;
        next = find(p, (size_t)(end - p), delim, dlen);
        if (next == NULL)
            return lrs_error_set(err, 400,
                                 "body: multipart body has no closing "
                                 "boundary");
        if (read_part(p, (size_t)(next - p), out, err) < 0)
            return -1;
        p = next + dlen;
    }
    if (out->count == 0)
        return lrs_error_set(err, 400, "body: multipart body has no parts");
    return 0;
}
