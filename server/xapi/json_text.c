/*
 * Compact JSON text of a jansson value. See json_text.h.
 *
 * The writer appends to a buffer that at least doubles when it grows, so
 * a statement costs a handful of allocations whatever its size. Strings
 * are copied in runs between the bytes JSON requires escaped (the quote,
 * the backslash and control characters); other bytes, UTF-8 included,
 * are written as they are, as jansson does without JSON_ENSURE_ASCII.
 */
#include "xapi/json_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

/* Makes room for n more bytes. Returns false (and marks the buffer
 * failed) when memory runs out. */
static bool
reserve(struct out *o, size_t n)
{
    size_t cap;
    char *grown;

    if (o->failed)
        return false;
    if (o->cap - o->len >= n)
        return true;
    cap = o->cap;
    while (cap - o->len < n) {
        if (cap > SIZE_MAX / 2) {
            o->failed = true;
            return false;
        }
        cap *= 2;
    }
    grown = realloc(o->data, cap);
    if (grown == NULL) {
        o->failed = true;
        return false;
    }
    o->data = grown;
    o->cap = cap;
    return true;
}

static void
put(struct out *o, const char *bytes, size_t n)
{
    if (n == 0 || !reserve(o, n))
        return;
    memcpy(o->data + o->len, bytes, n);
    o->len += n;
}

static void
put_char(struct out *o, char c)
{
    if (!reserve(o, 1))
        return;
    o->data[o->len++] = c;
}

static bool
needs_escape(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20;
}

static void
put_escape(struct out *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    switch (c) {
    case '"': put(o, "\\\"", 2); break;
    case '\\': put(o, "\\\\", 2); break;
    case '\b': put(o, "\\b", 2); break;
    case '\f': put(o, "\\f", 2); break;
    case '\n': put(o, "\\n", 2); break;
    case '\r': put(o, "\\r", 2); break;
    case '\t': put(o, "\\t", 2); break;
    default: put(o, u, sizeof(u)); break;
    }
}

static void
put_string(struct out *o, const char *s, size_t n)
{
    size_t run = 0;

    put_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!needs_escape(c))
            continue;
        put(o, s + run, i - run);
        put_escape(o, c);
        run = i + 1;
    }
    put(o, s + run, n - run);
    put_char(o, '"');
}

/* Reals are rare in statements (scores, extensions), and their shortest
 * exact form depends on how jansson was built: jansson writes them. */
static void
put_real(struct out *o, const json_t *real)
{
    char *text = json_dumps(real, JSON_ENCODE_ANY | JSON_COMPACT);

    if (text == NULL) {
        o->failed = true;
        return;
    }
    put(o, text, strlen(text));
    free(text);
}

static void
put_integer(struct out *o, json_int_t value)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, value);

    if (n < 0 || (size_t)n >= sizeof(text)) {
        o->failed = true;
        return;
    }
    put(o, text, (size_t)n);
}

static void
put_value(struct out *o, const json_t *v)
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
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *
xapi_json_text(const json_t *value, size_t *len)
{
    struct out o = {.cap = 1024};

    if (value == NULL)
        return NULL;
    o.data = malloc(o.cap);
    if (o.data == NULL)
        return NULL;
    put_value(&o, value);
    put_char(&o, '\0');
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    if (len != NULL)
        *len = o.len - 1;
    return o.data;
}
