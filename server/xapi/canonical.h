/*
 * Output formats of the Statements resource: "exact" is the stored text,
 * "ids" keeps only identifiers of agents, activities and verbs, and
 * "canonical" reduces every language map to the one best entry for the
 * request's Accept-Language.
 */
#ifndef LRSD_XAPI_CANONICAL_H
#define LRSD_XAPI_CANONICAL_H

#include <jansson.h>

enum xapi_format { XAPI_FORMAT_EXACT, XAPI_FORMAT_IDS, XAPI_FORMAT_CANONICAL };

/* Parses the `format` parameter. Returns 0, or -1 when unknown. */
int xapi_format_parse(const char *text, enum xapi_format *out)
    __attribute__((warn_unused_result));

/* Rewrites a statement in place for the given format. accept_language is
 * the raw header (may be NULL) and matters only for canonical. Returns 0,
 * or -1 when memory runs out. */
int xapi_format_apply(json_t *stmt, enum xapi_format format,
                      const char *accept_language)
    __attribute__((warn_unused_result));

#endif
