/*
 * Checks and conversions for the value formats xAPI uses: UUIDs, IRIs,
 * RFC 5646 language tags, ISO 8601 timestamps and durations, mailto IRIs
 * and SHA-1 hex digests. Pure functions over NUL-terminated strings.
 */
#ifndef LRSD_XAPI_FORMATS_H
#define LRSD_XAPI_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True for a UUID in 8-4-4-4-12 hex form (either case, any variant). */
bool xapi_is_uuid(const char *text);

/* Writes the lowercase form of a UUID into out (37 bytes). Returns 0, or
 * -1 when text is not a UUID. */
int xapi_uuid_normalize(const char *text, char out[37])
    __attribute__((warn_unused_result));

/* True for an absolute IRI: a scheme (RFC 3986), ':', then a non-empty
 * rest with no whitespace, controls (C0 or C1) or characters that IRIs
 * exclude ("<>\"{}|\\^`), where every '%' starts a two-hex-digit escape and
 * '#' appears at most once. Hosts and paths are not parsed further. */
bool xapi_is_iri(const char *text);

/* True for a well-formed RFC 5646 language tag, compared without regard
 * to case: the langtag grammar (extlang, script, region, variants,
 * extensions, private use), private-use-only tags and the grandfathered
 * tags. Also refuses a repeated variant or extension singleton, which the
 * grammar allows but RFC 5646 section 2.2.9 makes invalid. Subtags are not
 * checked against the IANA registry. */
bool xapi_is_language_tag(const char *text);

/* True for "mailto:" (lowercase, as xAPI writes it) followed by an address
 * with exactly one '@', something on both sides of it, and no characters
 * that IRIs exclude. */
bool xapi_is_mailto(const char *text);

/* True for 40 hex digits (either case). */
bool xapi_is_sha1_hex(const char *text);

/* Parses an ISO 8601 date-time in extended format as xAPI timestamps use
 * it: "YYYY-MM-DDThh:mm[:ss[.fraction]]" then 'Z', "+hh:mm", "+hhmm" or
 * "+hh" (or '-'), or nothing. 't'/'z' and a ',' before the fraction are
 * accepted; dates and times are range-checked (leap years, a leap second
 * 60). A negative zero offset ("-00:00", "-0000", "-00") means "offset
 * unknown" in RFC 3339 and is refused, as the conformance suite expects.
 * Without an offset the time is read as UTC. require_offset selects the
 * 2.0 rule that the offset must be present. On success stores
 * microseconds since the Unix epoch (UTC; digits beyond the sixth are
 * truncated) and returns 0; -1 otherwise, leaving *out_us alone. */
int xapi_timestamp_parse(const char *text, bool require_offset,
                         int64_t *out_us) __attribute__((warn_unused_result));

/* Formats microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into
 * out (at least 32 bytes); the digits below the millisecond are dropped,
 * rounding toward the past. */
void xapi_timestamp_format(int64_t us, char *out, size_t size);

/* True for an ISO 8601 duration: PnYnMnDTnHnMnS with the units in that
 * order, each at most once, at least one present and at least one after a
 * 'T'; or PnW alone. A fraction ('.' or ',') is allowed on the last
 * component only. The alternative format (P0003-01-29T...) is refused. */
bool xapi_is_duration(const char *text);

#endif
