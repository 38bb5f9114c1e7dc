/*
 * Building data in PostgreSQL's binary wire format, in a growable buffer
 * (core/buf.h): fields (a value with its length), one-dimensional arrays
 * of them, and the stream of tuples that COPY ... FROM STDIN (FORMAT binary)
 * reads. Binary arrays let the writer send a whole batch of rows as a few
 * array parameters, and COPY data lets it load one, without quoting or
 * escaping any client data. Internal to store/.
 */
#ifndef LRSD_STORE_PGBUF_H
#define LRSD_STORE_PGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Type oids of the element types (pg_type.oid; fixed in every server). */
#define PGBUF_OID_INT2 21
#define PGBUF_OID_INT4 23
#define PGBUF_OID_TEXT 25
#define PGBUF_OID_TIMESTAMPTZ 1184
#define PGBUF_OID_UUID 2950

/* An array being built into buf. */
struct pgarray {
    struct buf buf;
    int count;       /* elements so far */
    bool has_null;
};

void pgbuf_put_int16(struct buf *b, int16_t v);
void pgbuf_put_int32(struct buf *b, int32_t v);
void pgbuf_put_int64(struct buf *b, int64_t v);
/* Overwrites, or reads, the 8 bytes at offset at (big-endian). Nothing
 * happens, or 0 is read, when they are not all in the buffer. */
void pgbuf_patch_int64(struct buf *b, size_t at, int64_t v);
int64_t pgbuf_read_int64(const struct buf *b, size_t at);

/* Appends s as a JSON string literal (quoted and escaped). */
void pgbuf_put_json_string(struct buf *b, const char *s);

/* Fields, as parameters, array elements and COPY columns take them. */
void pgfield_null(struct buf *b);
void pgfield_text(struct buf *b, const char *s, size_t len);
/* s, or NULL when s is NULL. */
void pgfield_text_or_null(struct buf *b, const char *s);
void pgfield_bool(struct buf *b, bool v);
void pgfield_int16(struct buf *b, int16_t v);
void pgfield_int32(struct buf *b, int32_t v);
void pgfield_int64(struct buf *b, int64_t v);
void pgfield_bytes16(struct buf *b, const unsigned char v[16]);
/* A textual UUID; NULL when text is NULL or not a UUID. */
void pgfield_uuid_or_null(struct buf *b, const char *text);
void pgfield_timestamptz(struct buf *b, int64_t epoch_us);
/* A finished array as one field. */
void pgfield_array(struct buf *b, const struct pgarray *a);

/* Starts an array of elem_oid elements; reserves room for the header. */
void pgarray_begin(struct pgarray *a, uint32_t elem_oid);
/* Empties a begun array for reuse, keeping its memory. */
void pgarray_restart(struct pgarray *a, uint32_t elem_oid);
void pgarray_free(struct pgarray *a);

void pgarray_add_null(struct pgarray *a);
void pgarray_add_text(struct pgarray *a, const char *s, size_t len);
/* Adds s, or NULL when s is NULL. */
void pgarray_add_text_or_null(struct pgarray *a, const char *s);
void pgarray_add_int16(struct pgarray *a, int16_t v);
void pgarray_add_int32(struct pgarray *a, int32_t v);
void pgarray_add_bytes16(struct pgarray *a, const unsigned char v[16]);
/* Adds a textual UUID; NULL when text is "" (or not a UUID). */
void pgarray_add_uuid_or_null(struct pgarray *a, const char *text);
void pgarray_add_timestamptz(struct pgarray *a, int64_t epoch_us);

/* Completes the header. Returns 0, or -1 when memory ran out. */
int pgarray_finish(struct pgarray *a) __attribute__((warn_unused_result));

/* COPY data: the header, then per row pgcopy_tuple and nfields fields,
 * then the trailer. */
void pgcopy_begin(struct buf *b);
void pgcopy_tuple(struct buf *b, int16_t nfields);
void pgcopy_end(struct buf *b);

/* Parses a UUID in 8-4-4-4-12 hex form (either case) into 16 bytes.
 * Returns 0, or -1 when text is not one. */
int pg_uuid_parse(const char *text, unsigned char out[16])
    __attribute__((warn_unused_result));

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC). */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

#endif
