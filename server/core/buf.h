/*
 * A growable byte buffer. It at least doubles when it grows, so building
 * a text of any size costs a handful of allocations. When memory runs
 * out it is marked failed, and later appends do nothing: a caller checks
 * once at the end instead of after every append.
 */
#ifndef LRSD_CORE_BUF_H
#define LRSD_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;      /* owned; NULL until the first growth */
    size_t len;      /* bytes used */
    size_t cap;      /* bytes allocated */
    bool failed;     /* an allocation failed */
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Empties the buffer and clears failed, keeping its memory. */
void buf_reset(struct buf *b);

/* Grows the buffer to hold more bytes beyond len; see buf_reserve. */
bool buf_grow(struct buf *b, size_t more);

/* Makes room for more bytes beyond len. Returns false, and marks the
 * buffer failed, when memory runs out (or it had failed before). */
static inline bool
buf_reserve(struct buf *b, size_t more)
{
    if (!b->failed && more <= b->cap - b->len)
        return true;
    return buf_grow(b, more);
}

void buf_append(struct buf *b, const void *data, size_t len);

#endif
