/*
 * Binary encoding for PostgreSQL. Integers are big-endian. A field is a
 * 4-byte length (-1 for NULL) and its bytes; an array is a header
 * (dimensions, null flag, element type, then size and lower bound per
 * dimension) followed by its elements as fields; a COPY tuple is a field
 * count followed by its fields. See pgbuf.h.
 */
#include "store/pgbuf.h"

#include <stdlib.h>
#include <string.h>

#define ARRAY_HEADER_1D 20   /* ndim, flags, oid, size, lower bound */
#define ARRAY_HEADER_EMPTY 12

static void
put_be(unsigned char *out, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

void
pgbuf_put_int16(struct buf *b, int16_t v)
{
    unsigned char raw[2];

    put_be(raw, (uint16_t)v, 2);
    buf_append(b, raw, sizeof(raw));
}

void
pgbuf_put_int32(struct buf *b, int32_t v)
{
    unsigned char raw[4];

    put_be(raw, (uint32_t)v, 4);
    buf_append(b, raw, sizeof(raw));
}

void
pgbuf_put_int64(struct buf *b, int64_t v)
{
    unsigned char raw[8];

    put_be(raw, (uint64_t)v, 8);
    buf_append(b, raw, sizeof(raw));
}

void
pgbuf_patch_int64(struct buf *b, size_t at, int64_t v)
{
    if (!b->failed && at <= b->len && b->len - at >= 8)
        put_be((unsigned char *)b->data + at, (uint64_t)v, 8);
}

int64_t
pgbuf_read_int64(const struct buf *b, size_t at)
{
    const unsigned char *u = (const unsigned char *)b->data + at;
    uint64_t v = 0;

    if (b->failed || at > b->len || b->len - at < 8)
        return 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

void
pgbuf_put_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};

            buf_append(b, esc, 2);
        } else if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};

            buf_append(b, esc, 6);
        } else {
            buf_append(b, p, 1);
        }
    }
    buf_append(b, "\"", 1);
}

/* ---- fields: a 4-byte length (-1 for NULL), then the value ---- */

void
pgfield_null(struct buf *b)
{
    pgbuf_put_int32(b, -1);
}

void
pgfield_text(struct buf *b, const char *s, size_t len)
{
    if (len > INT32_MAX) {
        b->failed = true;
        return;
    }
    pgbuf_put_int32(b, (int32_t)len);
    buf_append(b, s, len);
}

void
pgfield_text_or_null(struct buf *b, const char *s)
{
    if (s == NULL)
        pgfield_null(b);
    else
        pgfield_text(b, s, strlen(s));
}

void
pgfield_bool(struct buf *b, bool v)
{
    unsigned char raw = v ? 1 : 0;

    pgbuf_put_int32(b, 1);
    buf_append(b, &raw, 1);
}

void
pgfield_int16(struct buf *b, int16_t v)
{
    pgbuf_put_int32(b, 2);
    pgbuf_put_int16(b, v);
}

void
pgfield_int32(struct buf *b, int32_t v)
{
    pgbuf_put_int32(b, 4);
    pgbuf_put_int32(b, v);
}

void
pgfield_int64(struct buf *b, int64_t v)
{
    pgbuf_put_int32(b, 8);
    pgbuf_put_int64(b, v);
}

void
pgfield_bytes16(struct buf *b, const unsigned char v[16])
{
    pgbuf_put_int32(b, 16);
    buf_append(b, v, 16);
}

void
pgfield_uuid_or_null(struct buf *b, const char *text)
{
    unsigned char raw[16];

    if (text == NULL || pg_uuid_parse(text, raw) != 0)
        pgfield_null(b);
    else
        pgfield_bytes16(b, raw);
}

void
pgfield_timestamptz(struct buf *b, int64_t epoch_us)
{
    pgfield_int64(b, epoch_us - PG_EPOCH_OFFSET_US);
}

void
pgfield_array(struct buf *b, const struct pgarray *a)
{
    if (a->buf.failed) {
        b->failed = true;
        return;
    }
    pgfield_text(b, a->buf.data, a->buf.len);
}

/* ---- arrays ---- */

static void
put_array_header(struct pgarray *a, uint32_t elem_oid)
{
    a->count = 0;
    a->has_null = false;
    pgbuf_put_int32(&a->buf, 1);
    pgbuf_put_int32(&a->buf, 0);
    pgbuf_put_int32(&a->buf, (int32_t)elem_oid);
    pgbuf_put_int32(&a->buf, 0);
    pgbuf_put_int32(&a->buf, 1);
}

void
pgarray_begin(struct pgarray *a, uint32_t elem_oid)
{
    buf_init(&a->buf);
    put_array_header(a, elem_oid);
}

void
pgarray_restart(struct pgarray *a, uint32_t elem_oid)
{
    buf_reset(&a->buf);
    put_array_header(a, elem_oid);
}

void
pgarray_free(struct pgarray *a)
{
    buf_free(&a->buf);
}

void
pgarray_add_null(struct pgarray *a)
{
    pgfield_null(&a->buf);
    a->has_null = true;
    a->count++;
}

void
pgarray_add_text(struct pgarray *a, const char *s, size_t len)
{
    pgfield_text(&a->buf, s, len);
    a->count++;
}

void
pgarray_add_text_or_null(struct pgarray *a, const char *s)
{
    if (s == NULL)
        pgarray_add_null(a);
    else
        pgarray_add_text(a, s, strlen(s));
}

void
pgarray_add_int16(struct pgarray *a, int16_t v)
{
    pgfield_int16(&a->buf, v);
    a->count++;
}

void
pgarray_add_int32(struct pgarray *a, int32_t v)
{
    pgfield_int32(&a->buf, v);
    a->count++;
}

void
pgarray_add_bytes16(struct pgarray *a, const unsigned char v[16])
{
    pgfield_bytes16(&a->buf, v);
    a->count++;
}

void
pgarray_add_uuid_or_null(struct pgarray *a, const char *text)
{
    size_t at = a->buf.len;

    pgfield_uuid_or_null(&a->buf, text);
    a->count++;
    /* A NULL is its length (-1) alone. */
    if (!a->buf.failed && a->buf.len == at + 4)
        a->has_null = true;
}

void
pgarray_add_timestamptz(struct pgarray *a, int64_t epoch_us)
{
    pgfield_timestamptz(&a->buf, epoch_us);
    a->count++;
}

int
pgarray_finish(struct pgarray *a)
{
    unsigned char *head;

    if (a->buf.failed || a->buf.len < ARRAY_HEADER_1D)
        return -1;
    head = (unsigned char *)a->buf.data;
    if (a->count == 0) {
        put_be(head, 0, 4);     /* zero dimensions: the empty array */
        a->buf.len = ARRAY_HEADER_EMPTY;
        return 0;
    }
    put_be(head + 4, a->has_null ? 1 : 0, 4);
    put_be(head + 12, (uint32_t)a->count, 4);
    return 0;
}

/* ---- COPY ... FROM STDIN (FORMAT binary) ---- */

void
pgcopy_begin(struct buf *b)
{
    static const char signature[11] = "PGCOPY\n\377\r\n";

    buf_append(b, signature, sizeof(signature));
    pgbuf_put_int32(b, 0);      /* flags: no OIDs */
    pgbuf_put_int32(b, 0);      /* no header extension */
}

void
pgcopy_tuple(struct buf *b, int16_t nfields)
{
    pgbuf_put_int16(b, nfields);
}

void
pgcopy_end(struct buf *b)
{
    pgbuf_put_int16(b, -1);
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
pg_uuid_parse(const char *text, unsigned char out[16])
{
    size_t n = 0;

    for (size_t i = 0; i < 36; i++) {
        int hi, lo;

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return -1;
            continue;
        }
        hi = hex_value(text[i]);
        if (hi < 0)
            return -1;
        lo = hex_value(text[++i]);
        if (lo < 0)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
    }
    return text[36] == '\0' ? 0 : -1;
}
