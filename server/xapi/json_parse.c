/*
 * A strict JSON parser that builds jansson values. See json_parse.h.
 *
 * Recursive descent over the bytes in place. A string without escapes is
 * handed to jansson straight from the input (one copy); one with escapes
 * is decoded into a scratch buffer first. Integers of up to 18 digits are
 * converted inline; longer integers and reals go through strtoll and
 * strtod on a NUL-terminated copy, as jansson does, so values and range
 * errors are the same.
 */
#include "xapi/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    char *scratch;              /* decoded strings, number text */
    size_t scratch_cap;
    struct xapi_json_error *err;
    bool failed;
};

static void fail_at(struct parser *ps, const unsigned char *at,
                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first failure, with its position in lines and characters. */
static void
fail_at(struct parser *ps, const unsigned char *at, const char *fmt, ...)
{
    struct xapi_json_error *e = ps->err;
    va_list ap;

    if (ps->failed)
        return;
    ps->failed = true;
    if (e == NULL)
        return;
    e->line = 1;
    e->column = 1;
    e->out_of_memory = false;
    for (const unsigned char *q = ps->start; q < at; q++) {
        if (*q == '\n') {
            e->line++;
            e->column = 1;
        } else if ((*q & 0xC0) != 0x80) {
            e->column++;
        }
    }
    e->offset = (size_t)(at - ps->start);
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
}

static void
fail_memory(struct parser *ps)
{
    bool first = !ps->failed;

    fail_at(ps, ps->p, "out of memory");
    if (first && ps->err != NULL)
        ps->err->out_of_memory = true;
}

static bool
scratch_reserve(struct parser *ps, size_t n)
{
    size_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
    char *grown;

    if (n <= ps->scratch_cap)
        return true;
    while (cap < n) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    grown = realloc(ps->scratch, cap);
    if (grown == NULL)
        return false;
    ps->scratch = grown;
    ps->scratch_cap = cap;
    return true;
}

static void
skip_space(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
                               *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* ---- strings ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at p (whose first byte is not
 * ASCII), or 0 when it is not one. */
static size_t
utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

static int
hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    uint32_t v = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape at ps->p (just past the backslash) into out; returns
 * the bytes written, or 0 after recording a failure. */
static size_t
decode_escape(struct parser *ps, char *out)
{
    const unsigned char *at = ps->p - 1;
    uint32_t cp, low;

    if (ps->p >= ps->end) {
        fail_at(ps, at, "unterminated string");
        return 0;
    }
    switch (*ps->p++) {
    case '"': *out = '"'; return 1;
    case '\\': *out = '\\'; return 1;
    case '/': *out = '/'; return 1;
    case 'b': *out = '\b'; return 1;
    case 'f': *out = '\f'; return 1;
    case 'n': *out = '\n'; return 1;
    case 'r': *out = '\r'; return 1;
    case 't': *out = '\t'; return 1;
    case 'u': break;
    default:
        fail_at(ps, at, "invalid escape");
        return 0;
    }
    if (hex4(ps->p, ps->end, &cp) != 0) {
        fail_at(ps, at, "invalid \\u escape");
        return 0;
    }
    ps->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail_at(ps, at, "invalid Unicode '\\u%04X'", (unsigned)cp);
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
            hex4(ps->p + 2, ps->end, &low) != 0) {
            fail_at(ps, at, "invalid Unicode '\\u%04X'", (unsigned)cp);
            return 0;
        }
        if (low < 0xDC00 || low > 0xDFFF) {
            fail_at(ps, at, "invalid Unicode '\\u%04X\\u%04X'",
                    (unsigned)cp, (unsigned)low);
            return 0;
        }
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp == 0) {
        fail_at(ps, at, "\\u0000 is not allowed");
        return 0;
    }
    return put_utf8(out, cp);
}

/* Appends the plain bytes [run, ps->p) to the decoded string in the
 * scratch buffer, keeping room for `more` bytes after them. */
static bool
copy_run(struct parser *ps, size_t *out, const unsigned char *run,
         size_t more)
{
    size_t n = (size_t)(ps->p - run);

    if (!scratch_reserve(ps, *out + n + more + 1)) {
        fail_memory(ps);
        return false;
    }
    memcpy(ps->scratch + *out, run, n);
    *out += n;
    return true;
}

/* Scans the string that starts at ps->p (its opening quote). On success
 * returns its text, either in the input or in the scratch buffer, with
 * its length in *len; NULL after recording a failure. */
static const char *
scan_string(struct parser *ps, size_t *len)
{
    const unsigned char *open = ps->p;
    const unsigned char *run;
    size_t out = 0;
    bool escaped = false;

    run = ++ps->p;
    for (;;) {
        unsigned c;
        size_t n;

        if (ps->p >= ps->end) {
            fail_at(ps, open, "unterminated string");
            return NULL;
        }
        c = *ps->p;
        if (c == '"')
            break;
        if (c < 0x20) {
            fail_at(ps, ps->p, "control character 0x%x in a string", c);
            return NULL;
        }
        if (c < 0x80 && c != '\\') {
            ps->p++;
            continue;
        }
        if (c >= 0x80) {
            n = utf8_sequence(ps->p, ps->end);

            if (n == 0) {
                fail_at(ps, ps->p, "invalid UTF-8");
                return NULL;
            }
            ps->p += n;
            continue;
        }
        /* A backslash: copy the plain run before it, then decode (an
         * escape decodes to at most 4 bytes). */
        if (!copy_run(ps, &out, run, 4))
            return NULL;
        ps->p++;
        n = decode_escape(ps, ps->scratch + out);
        if (n == 0)
            return NULL;
        out += n;
        escaped = true;
        run = ps->p;
    }
    if (!escaped) {
        *len = (size_t)(ps->p - run);
        ps->p++;
        return (const char *)run;
    }
    if (!copy_run(ps, &out, run, 0))
        return NULL;
    ps->p++;
    *len = out;
    return ps->scratch;
}

/* ---- numbers ------------------------------------------------------------ */

static bool
is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Moves *q past a run of digits. Returns false when there is none. */
static bool
skip_digits(const unsigned char **q, const unsigned char *end)
{
    const unsigned char *start = *q;

    while (is_digit(*q, end))
        (*q)++;
    return *q != start;
}

static json_t *
parse_number(struct parser *ps)
{
    const unsigned char *begin = ps->p;
    const unsigned char *q = ps->p;
    bool negative = false, real = false;
    size_t n;
    json_t *v;

    if (*q == '-') {
        negative = true;
        q++;
    }
    if (!is_digit(q, ps->end)) {
        fail_at(ps, begin, "invalid number");
        return NULL;
    }
    if (*q == '0') {
        q++;
        if (is_digit(q, ps->end)) {
            fail_at(ps, begin, "invalid number: leading zero");
            return NULL;
        }
    } else {
        skip_digits(&q, ps->end);
    }
    if (q < ps->end && *q == '.') {
        real = true;
        q++;
        if (!skip_digits(&q, ps->end)) {
            fail_at(ps, begin, "invalid number");
            return NULL;
        }
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (!skip_digits(&q, ps->end)) {
            fail_at(ps, begin, "invalid number");
            return NULL;
        }
    }
    ps->p = q;
    n = (size_t)(q - begin);
    if (!real && n - negative <= 18) {
        json_int_t value = 0;

        for (const unsigned char *d = begin + negative; d < q; d++)
            value = value * 10 + (*d - '0');
        v = json_integer(negative ? -value : value);
    } else {
        char *endp;

        if (!scratch_reserve(ps, n + 1)) {
            fail_memory(ps);
            return NULL;
        }
        memcpy(ps->scratch, begin, n);
        ps->scratch[n] = '\0';
        errno = 0;
        if (real) {
            double d = strtod(ps->scratch, &endp);

            if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE) {
                fail_at(ps, begin, "real number overflow");
                return NULL;
            }
            v = json_real(d);
        } else {
            long long value = strtoll(ps->scratch, &endp, 10);

            if (errno == ERANGE) {
                fail_at(ps, begin, negative ? "too big negative integer"
                                            : "too big integer");
                return NULL;
            }
            v = json_integer((json_int_t)value);
        }
    }
    if (v == NULL)
        fail_memory(ps);
    return v;
}

/* ---- values ------------------------------------------------------------- */

static json_t *parse_value(struct parser *ps);

static bool
literal(struct parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    ps->p += n;
    return true;
}

/* Consumes the opening '{' or '[' at ps->p; returns true (having consumed
 * the closing character too) when the container is empty. */
static bool
opens_empty(struct parser *ps, char close)
{
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == (unsigned char)close) {
        ps->p++;
        return true;
    }
    return false;
}

/* After a member or element: consumes ',' (returns 1: another follows)
 * or the closing character (returns 0), or records a failure (-1). */
static int
after_item(struct parser *ps, char close)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return 1;
    }
    if (ps->p < ps->end && *ps->p == (unsigned char)close) {
        ps->p++;
        return 0;
    }
    fail_at(ps, ps->p, "',' or '%c' expected", close);
    return -1;
}

static json_t *
parse_object(struct parser *ps)
{
    json_t *obj = json_object();
    char *key_copy = NULL;

    if (obj == NULL) {
        fail_memory(ps);
        return NULL;
    }
    if (opens_empty(ps, '}'))
        return obj;
    for (;;) {
        const unsigned char *key_at;
        const char *key;
        size_t key_len;
        json_t *value;

        skip_space(ps);
        key_at = ps->p;
        if (ps->p >= ps->end || *ps->p != '"') {
            fail_at(ps, ps->p, "string or '}' expected");
            goto failed;
        }
        key = scan_string(ps, &key_len);
        if (key == NULL)
            goto failed;
        if (memchr(key, '\0', key_len) != NULL) {
            fail_at(ps, key_at, "NUL byte in object key");
            goto failed;
        }
        if (json_object_getn(obj, key, key_len) != NULL) {
            fail_at(ps, key_at, "duplicate object key");
            goto failed;
        }
        /* A key with escapes was decoded into the scratch buffer, which
         * the value may reuse: keep a copy. Other keys stay in the input. */
        if (key == ps->scratch) {
            key_copy = malloc(key_len + 1);
            if (key_copy == NULL) {
                fail_memory(ps);
                goto failed;
            }
            memcpy(key_copy, key, key_len);
            key = key_copy;
        }
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail_at(ps, ps->p, "':' expected");
            goto failed;
        }
        ps->p++;
        value = parse_value(ps);
        if (value == NULL)
            goto failed;
        if (json_object_setn_new_nocheck(obj, key, key_len, value) != 0) {
            fail_memory(ps);
            goto failed;
        }
        free(key_copy);
        key_copy = NULL;
        switch (after_item(ps, '}')) {
        case 1: continue;
        case 0: return obj;
        default: goto failed;
        }
    }
failed:
    free(key_copy);
    json_decref(obj);
    return NULL;
}

static json_t *
parse_array(struct parser *ps)
{
    json_t *arr = json_array();

    if (arr == NULL) {
        fail_memory(ps);
        return NULL;
    }
    if (opens_empty(ps, ']'))
        return arr;
    for (;;) {
        json_t *value = parse_value(ps);

        if (value == NULL)
            goto failed;
        if (json_array_append_new(arr, value) != 0) {
            fail_memory(ps);
            goto failed;
        }
        switch (after_item(ps, ']')) {
        case 1: continue;
        case 0: return arr;
        default: goto failed;
        }
    }
failed:
    json_decref(arr);
    return NULL;
}

static json_t *
parse_nested(struct parser *ps)
{
    json_t *v;

    if (++ps->depth > XAPI_JSON_MAX_DEPTH) {
        fail_at(ps, ps->p, "maximum parsing depth reached");
        return NULL;
    }
    v = *ps->p == '{' ? parse_object(ps) : parse_array(ps);
    ps->depth--;
    return v;
}

static json_t *
parse_value(struct parser *ps)
{
    json_t *v;
    const char *text;
    size_t len;

    skip_space(ps);
    if (ps->p >= ps->end) {
        fail_at(ps, ps->p, "unexpected end of input");
        return NULL;
    }
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_nested(ps);
    case '"':
        text = scan_string(ps, &len);
        if (text == NULL)
            return NULL;
        v = json_stringn_nocheck(text, len);
        break;
    case 't':
        v = literal(ps, "true", 4) ? json_true() : NULL;
        if (v == NULL)
            fail_at(ps, ps->p, "invalid token");
        return v;
    case 'f':
        v = literal(ps, "false", 5) ? json_false() : NULL;
        if (v == NULL)
            fail_at(ps, ps->p, "invalid token");
        return v;
    case 'n':
        v = literal(ps, "null", 4) ? json_null() : NULL;
        if (v == NULL)
            fail_at(ps, ps->p, "invalid token");
        return v;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(ps);
    default:
        fail_at(ps, ps->p, "invalid token");
        return NULL;
    }
    if (v == NULL)
        fail_memory(ps);
    return v;
}

json_t *
xapi_json_parse(const char *text, size_t len, struct xapi_json_error *err)
{
    struct parser ps = {
        .start = (const unsigned char *)text,
        .p = (const unsigned char *)text,
        .end = (const unsigned char *)text + len,
        .err = err,
    };
    json_t *v = NULL;

    if (text == NULL) {
        ps.start = ps.p = ps.end = (const unsigned char *)"";
        fail_at(&ps, ps.p, "no input");
        return NULL;
    }
    skip_space(&ps);
    if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '['))
        fail_at(&ps, ps.p, "'[' or '{' expected");
    else
        v = parse_nested(&ps);
    if (v != NULL) {
        skip_space(&ps);
        if (ps.p < ps.end) {
            fail_at(&ps, ps.p, "end of input expected");
            json_decref(v);
            v = NULL;
        }
    }
    free(ps.scratch);
    return v;
}

json_t *
xapi_json_parse_checked(const char *text, size_t len, const char *what,
                        struct lrs_error *err)
{
    struct xapi_json_error jerr;
    json_t *doc = xapi_json_parse(text, len, &jerr);

    if (doc != NULL)
        return doc;
    if (jerr.out_of_memory)
        lrs_error_set(err, 500, "out of memory while parsing %s", what);
    else
        lrs_error_set(err, 400, "%s: invalid JSON at line %d column %d: %s",
                      what, jerr.line, jerr.column, jerr.text);
    return NULL;
}
