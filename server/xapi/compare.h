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
 * comparison rules: properties the LRS sets or may change (authority,
 * stored, timestamp and version when only one side has them, ...) are
 * ignored, contextActivities in object form equal their one-element array
 * form, and so on. Neither argument is modified. */
bool xapi_statements_equal(const json_t *a, const json_t *b);

#endif
