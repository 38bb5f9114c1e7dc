/*
 * Credentials: a key and a secret for HTTP Basic authentication, bound to
 * a store (tenant) and a set of xAPI scopes. Only a salted hash of the
 * secret is kept. Verified credentials are cached briefly in memory so a
 * request does not cost a query.
 */
#ifndef LRSD_STORE_KEYS_H
#define LRSD_STORE_KEYS_H

#include <jansson.h>

#include "core/error.h"
#include "store/store.h"

struct store_credential {
    long long id;        /* credentials.id */
    int store_id;        /* tenant the credential belongs to */
    json_t *scopes;      /* array of scope names, owned */
    json_t *authority;   /* the Agent set as statement authority, owned */
};

/* Creates a credential in the default store with the given scopes (array
 * of strings, borrowed) and label (may be NULL). endpoint is used for the
 * authority's account homePage. On success *out is a new JSON object
 * {"key","secret","scopes","label","store"} the caller owns and 0 is
 * returned; -1 with err otherwise. */
int keys_create(const char *conninfo, const json_t *scopes, const char *label,
                const char *endpoint, json_t **out, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Checks key and secret. Returns 1 and fills cred (caller frees it with
 * keys_credential_free) when they match an active credential, 0 when they
 * do not, -1 with err (503/500) when the store cannot answer. */
int keys_authenticate(struct store *st, const char *key, const char *secret,
                      struct store_credential *cred, struct lrs_error *err)
    __attribute__((warn_unused_result));

void keys_credential_free(struct store_credential *cred);

#endif
