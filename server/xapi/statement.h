/*
 * Turning a validated statement into what the store keeps: the LRS-set
 * properties are filled in, the JSON text to store is produced once, and
 * the values that queries and analytics filter on are extracted.
 *
 * Query filters (agent, verb, activity, registration, and their "related"
 * forms) are answered from index keys: a kind plus a 16-byte digest of the
 * value, so that every filter is one lookup in one compact index.
 */
#ifndef LRSD_XAPI_STATEMENT_H
#define LRSD_XAPI_STATEMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "xapi/version.h"

enum xapi_index_kind {
    XAPI_KEY_VERB = 1,             /* verb id */
    XAPI_KEY_AGENT = 2,            /* actor, or object when Agent/Group */
    XAPI_KEY_AGENT_RELATED = 3,    /* any agent anywhere (includes above) */
    XAPI_KEY_ACTIVITY = 4,         /* object when an Activity */
    XAPI_KEY_ACTIVITY_RELATED = 5, /* any activity anywhere (includes above) */
    XAPI_KEY_REGISTRATION = 6,     /* context.registration */
};

#define XAPI_KEY_DIGEST_LEN 16

struct xapi_index_key {
    unsigned char kind;                        /* enum xapi_index_kind */
    unsigned char digest[XAPI_KEY_DIGEST_LEN]; /* xapi_key_digest(value) */
};

/* The digest of an index key value: the first 16 bytes of SHA-256 over the
 * kind byte followed by the value. Returns 0, or -1 when libcrypto fails
 * (it allocates, so only when memory runs out). */
int xapi_key_digest(enum xapi_index_kind kind, const char *value,
                    unsigned char out[XAPI_KEY_DIGEST_LEN])
    __attribute__((warn_unused_result));

/* The identity string of an Agent or identified Group, used as its index
 * key value: "mbox:mailto:a@b", "mbox_sha1sum:<hex>", "openid:<iri>" or
 * "account:<homePage> <name>". objectType is not part of it: the `agent`
 * filter matches Agents and Groups by Inverse Functional Identifier alone.
 * The mailto scheme and the e-mail domain are lowercased (the domain is
 * case insensitive), as is the SHA-1 hex; everything else is kept as sent.
 * Use it for the `agent` query parameter too, with XAPI_KEY_AGENT or
 * XAPI_KEY_AGENT_RELATED. Returns a new string the caller frees, or NULL
 * for an anonymous Group, an invalid actor, or when memory runs out. */
char *xapi_actor_key(const json_t *actor);

/* One statement, ready to be stored. Strings are owned by the row. */
struct xapi_row {
    char id[37];            /* lowercase UUID */
    char *body;             /* compact JSON; no "stored", see below */
    size_t body_len;        /* bytes in body */
    bool has_timestamp;     /* false: the reader adds timestamp = stored */
    int64_t timestamp_us;   /* statement timestamp, epoch microseconds */
    char *actor_key;        /* xapi_actor_key of actor; NULL if anonymous */
    char *verb_id;          /* verb.id */
    char *object_type;      /* Activity, Agent, Group, StatementRef, ... */
    char *object_id;        /* activity id, actor key or statement id */
    char registration[37];  /* context.registration, "" if none */
    char voids[37];         /* target id if this voids a statement, "" */
    char ref_target[37];    /* StatementRef object target, "" if none */
    char **parents;         /* context parent activity ids */
    size_t nparents;
    char **groupings;       /* context grouping activity ids */
    size_t ngroupings;
    struct xapi_index_key *keys; /* deduplicated index keys */
    size_t nkeys;
};

/* Completes a validated statement in place and fills row from it:
 * sets "id" when absent (random UUID) and lowercases a given one, replaces
 * "authority" with the given one (borrowed; copied into stmt; NULL keeps
 * the statement's own), sets "version" when absent (1.0.0 for 1.0.x
 * requests, 2.0.0 for 2.0), normalises contextActivities values to arrays
 * (also in a SubStatement), drops a submitted "stored", and serialises the
 * result into row->body. "stored" and a missing "timestamp" are not added
 * to the body: the store keeps them in columns and xapi_body_with_stored
 * splices them in on the way out.
 *
 * Index keys: XAPI_KEY_AGENT for the actor and an Agent/Group object and,
 * for a Group, each of its members; XAPI_KEY_AGENT_RELATED for those plus
 * authority, instructor, team, contextAgents/contextGroups and the same
 * properties of a SubStatement object (members included);
 * XAPI_KEY_ACTIVITY for an Activity object; XAPI_KEY_ACTIVITY_RELATED for
 * it plus every contextActivities id and a SubStatement's object and
 * contextActivities; XAPI_KEY_VERB and XAPI_KEY_REGISTRATION (lowercase).
 *
 * Returns 0, or -1 with err: 500 when memory runs out, 400 when an id or
 * timestamp that validation should have refused cannot be read. On
 * failure row holds nothing to free and stmt may be partly completed. */
int xapi_row_build(json_t *stmt, const json_t *authority, enum xapi_version v,
                   struct xapi_row *row, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Frees what a row owns and zeroes it. */
void xapi_row_free(struct xapi_row *row);

/* Returns a new malloc'd JSON text: body (a JSON object text as stored)
 * with ,"stored":"<stored>" appended and, when add_timestamp, also
 * ,"timestamp":"<stored>". *out_len receives the length. NULL when memory
 * runs out, body holds no closing brace, or stored would need escaping. */
char *xapi_body_with_stored(const char *body, size_t body_len,
                            const char *stored, bool add_timestamp,
                            size_t *out_len);

/* The same text written into out, which has room for
 * xapi_body_with_stored_max(body_len, strlen(stored), add_timestamp)
 * bytes: several bodies can share one allocation. Returns 0 with the
 * length in *out_len, or -1 (body holds no closing brace, or stored
 * would need escaping). */
int xapi_body_put_stored(char *out, const char *body, size_t body_len,
                         const char *stored, bool add_timestamp,
                         size_t *out_len) __attribute__((warn_unused_result));

/* The most bytes xapi_body_put_stored writes, the NUL included. */
size_t xapi_body_with_stored_max(size_t body_len, size_t stored_len,
                                 bool add_timestamp);

#endif
