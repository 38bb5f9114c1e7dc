/*
 * Compact JSON text of a jansson value. See json_text.h.
 *
 * The writer appends to a growable buffer (core/buf.h), so a statement
 * costs a handful of allocations whatever its size. Strings are copied
 * in runs between the bytes JSON requires escaped (the quote, the
 * backslash and control characters); other bytes, UTF-8 included, are
 * written as they are, as jansson does without JSON_ENSURE_ASCII.
 */
#include "xapi/json_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void
put_char(struct buf *o, char c)
{
    if (!buf_reserve(o, 1))
        return;
    o->data[o->len++] = c;
}

static bool
needs_escape(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20;
}

static void
put_escape(struct buf *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    switch (c) {
    case '"': buf_append(o, "\\\"", 2); break;
    case '\\': buf_append(o, "\\\\", 2); break;
    case '\b': buf_append(o, "\\b", 2); break;
    case '\f': buf_append(o, "\\f", 2); break;
    case '\n': buf_append(o, "\\n", 2); break;
    case '\r': buf_append(o, "\\r", 2); break;
    case '\t': buf_append(o, "\\t", 2); break;
    default: buf_append(o, u, sizeof(u)); break;
    }
}

static void
put_string(struct buf *o, const char *s, size_t n)
{
    size_t run = 0;

    put_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!needs_escape(c))
            continue;
        buf_append(o, s + run, i - run);
        put_escape(o, c);
        run = i + 1;
    }
    buf_append(o, s + run, n - run);
    put_char(o, '"');
}

/* Reals are rare in statements (scores, extensions), and their shortest
 * exact form depends on how jansson was built: jansson writes them. */
static void
put_real(struct buf *o, const json_t *real)
{
    char *text = json_dumps(real, JSON_ENCODE_ANY | JSON_COMPACT);

    if (text == NULL) {
        o->failed = true;
        return;
    }
    buf_append(o, text, strlen(text));
    free(text);
}

static void
put_integer(struct buf *o, json_int_t value)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, value);

    if (n < 0 || (size_t)n >= sizeof(text)) {
        o->failed = true;
        return;
    }
    buf_append(o, text, (size_t)n);
}

static void
put_value(struct buf *o, const json_t *v)
{
    const char *key;
    json_t *member;
    size_t i;
    bool first = true;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put_char(o, '{');
        json_object_foreach((json_t *)v, key, member) {
            if (!first)
                put_char(o, ',');
            first = false;
            put_string(o, key, strlen(key));
            put_char(o, ':');
            put_value(o, member);
        }
        put_char(o, '}');
        break;
    case JSON_ARRAY:
        put_char(o, '[');
        json_array_foreach(v, i, member) {
            if (i > 0)
                put_char(o, ',');
            put_value(o, member);
        }
        put_char(o, ']');
        break;
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put_integer(o, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(o, v);
        break;
    case JSON_TRUE:
        buf_append(o, "true", 4);
        break;
    case JSON_FALSE:
        buf_append(o, "false", 5);
        break;
    case JSON_NULL:
        buf_append(o, "null", 4);
        break;
    }
}

char *
xapi_json_text(const json_t *value, size_t *len)
{
    struct buf o;

    if (value == NULL)
        return NULL;
    buf_init(&o);
    /* Most statements fit in the first allocation. */
    if (!buf_reserve(&o, 1024))
        return NULL;
    put_value(&o, value);
    put_char(&o, '\0');
    if (o.failed) {
        buf_free(&o);
        return NULL;
    }
    if (len != NULL)
        *len = o.len - 1;
    return o.data;
}
