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

/* True for an absolute IRI: a scheme (RFC 3986), ':', and no whitespace or
 * characters that IRIs exclude. */
bool xapi_is_iri(const char *text);

/* True for a well-formed RFC 5646 language tag. */
bool xapi_is_language_tag(const char *text);

/* True for "mailto:" followed by an address with one '@'. */
bool xapi_is_mailto(const char *text);

/* True for 40 hex digits. */
bool xapi_is_sha1_hex(const char *text);

/* Parses an ISO 8601 date-time as xAPI timestamps allow it (date, 'T',
 * time with optional fraction, and an offset or 'Z'; 2.0 requires the
 * offset). On success stores microseconds since the Unix epoch (UTC) and
 * returns 0; -1 otherwise. require_offset selects the 2.0 rule. */
int xapi_timestamp_parse(const char *text, bool require_offset,
                         int64_t *out_us) __attribute__((warn_unused_result));

/* Formats microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into
 * out (at least 32 bytes). */
void xapi_timestamp_format(int64_t us, char *out, size_t size);

/* True for an ISO 8601 duration (PnYnMnDTnHnMnS, PnW, fractions on the
 * smallest unit only). */
bool xapi_is_duration(const char *text);

#endif
