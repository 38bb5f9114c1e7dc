/*
 * A strict JSON parser (RFC 8259) that builds jansson values.
 *
 * It accepts what json_loadb(text, len, JSON_REJECT_DUPLICATES) accepts
 * and builds the same values (but for a raw NUL byte, which jansson lets
 * through in some places and this parser always refuses), faster:
 * jansson reads its input through a callback per byte and copies every
 * string byte by byte, while this parser scans runs of plain bytes in
 * place. lrsd parses every request body with it; a unit test holds it to
 * jansson's verdict and result on the test data and on mutations of it.
 *
 * What it refuses: a top level that is neither an object nor an array,
 * anything after the top-level value but white space, invalid UTF-8
 * (overlong forms, surrogates, code points past U+10FFFF), control
 * characters in strings, unknown escapes, lone or mismatched surrogate
 * escapes, \u0000, numbers outside JSON's grammar, integers outside
 * int64 and reals that overflow a double, repeated object keys, and
 * nesting deeper than XAPI_JSON_MAX_DEPTH.
 */
#ifndef LRSD_XAPI_JSON_PARSE_H
#define LRSD_XAPI_JSON_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Deepest nesting of arrays and objects accepted (jansson's limit). */
#define XAPI_JSON_MAX_DEPTH 2048

/* Where and why a parse failed. line and column count from 1; column
 * counts characters, not bytes. */
struct xapi_json_error {
    int line;
    int column;
    size_t offset;      /* bytes from the start of the text */
    bool out_of_memory; /* the text may be fine: memory ran out */
    char text[128];
};

/* Parses len bytes of text (no NUL needed). Returns a new reference, or
 * NULL with *err filled in (err may be NULL). */
json_t *xapi_json_parse(const char *text, size_t len,
                        struct xapi_json_error *err);

/* Parses a document a client sent. On failure returns NULL with err set
 * to 400 "WHAT: invalid JSON at line L column C: REASON", or to 500 when
 * memory ran out. */
json_t *xapi_json_parse_checked(const char *text, size_t len,
                                const char *what, struct lrs_error *err);

#endif
