/*
 * Statement comparison as the xAPI specification defines it, used to decide
 * whether a statement sent again with an existing id is the same statement
 * (accepted, nothing stored) or a different one (409 Conflict).
 */
#ifndef LRSD_XAPI_COMPARE_H
#define LRSD_XAPI_COMPARE_H

#include <jansson.h>
#include <stdbool.h>

/* True when a and b are the same statement under the specification's
 * comparison rules (Data 2.3.1): authority, stored, version and
 * attachments are ignored; id and timestamp count only when both sides
 * have them (timestamps as instants); Activity definitions and Verb
 * displays are ignored; Group members compare in any order;
 * contextActivities in object form equal their one-element array form;
 * UUIDs, the context language, mbox_sha1sum and the e-mail domain compare
 * without case; durations ignore digits beyond 0.01 s. The same rules
 * apply inside a SubStatement, except that its timestamp must be on both
 * sides or neither. Other values compare exactly (numbers by value).
 * False when either is not an object. Neither argument is modified and
 * nothing is allocated. */
bool xapi_statements_equal(const json_t *a, const json_t *b);

#endif
