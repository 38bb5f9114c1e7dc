/*
 * Signed statements: a statement may carry a JSON Web Signature (RFC 7515,
 * compact serialisation) as an attachment with the signature usageType.
 * Its payload must be the statement itself, and it must use RS256, RS384
 * or RS512. When the JWS header carries an X.509 certificate (x5c), the
 * signature is verified with that certificate's key.
 */
#ifndef LRSD_XAPI_SIGNATURE_H
#define LRSD_XAPI_SIGNATURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define XAPI_SIGNATURE_USAGE "http://adlnet.gov/expapi/attachments/signature"

/* True when the attachment object declares itself a signature. */
bool xapi_attachment_is_signature(const json_t *attachment);

/* Checks one signature attachment: attachment is its metadata (borrowed),
 * jws/len the attachment's content, stmt the statement that carries it.
 * path names the attachment in errors ("statement.attachments[0]").
 * Returns 0, or -1 with err (400) saying what is wrong. */
int xapi_signature_check(const json_t *stmt, const json_t *attachment,
                         const char *jws, size_t len, const char *path,
                         struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
