/*
 * The growable byte buffer. See buf.h.
 */
#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation of a buffer that had none. */
#define BUF_FIRST_CAP 256

void
buf_init(struct buf *b)
{
    memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = false;
}

bool
buf_grow(struct buf *b, size_t more)
{
    size_t cap;
    char *data;

    if (b->failed)
        return false;
    if (more <= b->cap - b->len)
        return true;
    cap = b->cap ? b->cap : BUF_FIRST_CAP;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
    if (len == 0 || !buf_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}
