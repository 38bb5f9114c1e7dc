/*
 * Validation of xAPI data against the rules of the requested version.
 * A rejection fills err with status 400 and a message of the form
 * "<path>: <rule>", where path is the dotted JSON path of the offending
 * value below the prefix given by the caller (e.g. "statement.actor.mbox"
 * or "statements[2].context.contextActivities.parent[0].id").
 */
#ifndef LRSD_XAPI_VALIDATE_H
#define LRSD_XAPI_VALIDATE_H

#include <jansson.h>

#include "core/error.h"
#include "xapi/version.h"

/* Validates one statement (not a sub-statement). Returns 0 when valid,
 * -1 with err filled in otherwise. Does not modify stmt. */
int xapi_validate_statement(const json_t *stmt, enum xapi_version v,
                            const char *path, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Validates an Agent or Group object (as used for the `agent` query
 * parameter and for actors). Returns 0 or -1 with err. */
int xapi_validate_actor(const json_t *actor, enum xapi_version v,
                        const char *path, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Validates an Agent object that must identify exactly one Agent (no
 * Group), as the Agent Profile and State resources require. */
int xapi_validate_agent(const json_t *agent, enum xapi_version v,
                        const char *path, struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
