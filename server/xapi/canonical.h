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

/* Parses the `format` parameter; NULL (parameter absent) is "exact", the
 * default. Returns 0, or -1 when unknown. */
int xapi_format_parse(const char *text, enum xapi_format *out)
    __attribute__((warn_unused_result));

/* Rewrites a statement in place for the given format. accept_language is
 * the raw header (may be NULL) and matters only for canonical.
 *
 * ids: an Agent or identified Group keeps objectType and its identifier
 * (members dropped), an anonymous Group keeps objectType and its members
 * reduced alike, an Activity keeps {"id"} alone, a Verb {"id"}; applied to
 * actor, object, authority, instructor, team, contextAgents, contextGroups,
 * contextActivities and the same inside a SubStatement.
 *
 * canonical: every language map of a Verb (display), an Activity
 * definition (name, description, interaction component descriptions) and
 * an attachment (display, description) keeps one entry: the one with the
 * highest Accept-Language quality (RFC 2616 14.4, most specific range
 * decides a tag's quality, ties go to the earlier range); failing that, an
 * RFC 4647 lookup by truncating ranges ("en-GB" takes "en"); failing that,
 * "und", then the first entry not refused with q=0, then the first entry.
 * Agents are left as they are.
 *
 * Only deletes properties, so it cannot run out of memory; returns 0. The
 * int result is kept so that a future canonical store can fail. */
int xapi_format_apply(json_t *stmt, enum xapi_format format,
                      const char *accept_language)
    __attribute__((warn_unused_result));

#endif
