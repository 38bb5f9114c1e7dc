/*
 * Compact JSON text of a jansson value, written in one pass into one
 * growing buffer. It is what json_dumps(value, JSON_COMPACT) writes (the
 * same escapes, the same number forms, object members in their order),
 * without jansson's callback per fragment: lrsd serialises every
 * statement it stores and every statement it reformats for a GET.
 */
#ifndef LRSD_XAPI_JSON_TEXT_H
#define LRSD_XAPI_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* Returns the compact text of value, NUL-terminated, in memory the caller
 * frees; its length without the NUL goes to *len when len is not NULL.
 * Returns NULL when memory runs out or value is NULL. */
char *xapi_json_text(const json_t *value, size_t *len);

#endif
