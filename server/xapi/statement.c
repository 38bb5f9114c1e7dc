/*
 * Statement completion and index keys.
 *
 * A validated statement is completed with what the LRS sets (id, authority,
 * version, contextActivities as arrays), serialised once, and reduced to the
 * columns and index keys the store writes. The index keys implement the
 * query filters of GET /statements, so the rules of the specification's
 * `agent`, `activity`, `related_agents` and `related_activities` parameters
 * are decided here, at write time:
 *
 * - Agents and identified Groups match on their Inverse Functional
 *   Identifier alone; objectType is not part of the key, because the
 *   specification defines equality by "the same Inverse Functional
 *   Identifier ... with equal values".
 * - A Group matches the agents among its members ("Groups that have members
 *   which match the specified Agent ... are considered a match"), so every
 *   member of a Group receives the keys the Group itself receives.
 * - The `related_*` kinds hold every key of the plain kinds, so a query looks
 *   up exactly one kind whichever form it uses.
 */
#include "xapi/statement.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "xapi/formats.h"
#include "xapi/json_text.h"

#define VOIDED_VERB "http://adlnet.gov/expapi/verbs/voided"

/* ------------------------------------------------------------------------
 * Small string helpers
 * ------------------------------------------------------------------------ */

/* Returns a new string: a followed by b. NULL on OOM. */
static char *
concat_new(const char *a, const char *b)
{
    size_t na = strlen(a);
    size_t nb = strlen(b);
    char *s = malloc(na + nb + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

static void
lowercase_range(char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
}

/* The string member name of obj, or NULL. Borrowed. */
static const char *
string_member(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* The objectType of a statement object, "Activity" when absent. */
static const char *
object_type_of(const json_t *object)
{
    const char *type = string_member(object, "objectType");

    return type != NULL ? type : "Activity";
}

static bool
is_actor_type(const char *type)
{
    return strcmp(type, "Agent") == 0 || strcmp(type, "Group") == 0;
}

/* ------------------------------------------------------------------------
 * Actor identity
 * ------------------------------------------------------------------------ */

/* "mbox:" + the mailto IRI with its scheme and domain lowercased: the
 * specification names the domain of an e-mail address as case insensitive,
 * the local part is left as sent. */
static char *
mbox_key_new(const char *mbox)
{
    char *key = concat_new("mbox:", mbox);
    char *colon;
    char *at;

    if (key == NULL)
        return NULL;
    colon = strchr(key + 5, ':');
    if (colon != NULL)
        lowercase_range(key, 5, (size_t)(colon - key));
    at = strrchr(key, '@');
    if (at != NULL)
        lowercase_range(key, (size_t)(at - key), strlen(key));
    return key;
}

/* "account:<homePage> <name>": a homePage is an IRI and holds no space, so
 * the first space separates the two unambiguously. */
static char *
account_key_new(const json_t *account)
{
    static const char prefix[] = "account:";
    const char *home = string_member(account, "homePage");
    const char *name = string_member(account, "name");
    size_t np = sizeof(prefix) - 1;
    size_t nh;
    size_t nn;
    char *key;

    if (home == NULL || name == NULL)
        return NULL;
    nh = strlen(home);
    nn = strlen(name);
    key = malloc(np + nh + 1 + nn + 1);
    if (key == NULL)
        return NULL;
    memcpy(key, prefix, np);
    memcpy(key + np, home, nh);
    key[np + nh] = ' ';
    memcpy(key + np + nh + 1, name, nn + 1);
    return key;
}

char *
xapi_actor_key(const json_t *actor)
{
    const char *value;
    char *key;

    if (!json_is_object(actor))
        return NULL;
    value = string_member(actor, "mbox");
    if (value != NULL)
        return mbox_key_new(value);
    value = string_member(actor, "mbox_sha1sum");
    if (value != NULL) {
        key = concat_new("mbox_sha1sum:", value);
        if (key != NULL)
            lowercase_range(key, 0, strlen(key));
        return key;
    }
    value = string_member(actor, "openid");
    if (value != NULL)
        return concat_new("openid:", value);
    if (json_is_object(json_object_get(actor, "account")))
        return account_key_new(json_object_get(actor, "account"));
    return NULL;
}

/* True when actor carries a well-formed Inverse Functional Identifier, so
 * that xapi_actor_key returning NULL for it can only mean lack of memory. */
static bool
has_ifi(const json_t *actor)
{
    const json_t *account = json_object_get(actor, "account");

    return string_member(actor, "mbox") != NULL ||
           string_member(actor, "mbox_sha1sum") != NULL ||
           string_member(actor, "openid") != NULL ||
           (string_member(account, "homePage") != NULL &&
            string_member(account, "name") != NULL);
}

/* Sets *key to the actor's key, or NULL for an actor without identity
 * (an anonymous Group). Returns -1 when memory runs out. */
static int
actor_key_checked(const json_t *actor, char **key)
{
    *key = xapi_actor_key(actor);
    return *key == NULL && has_ifi(actor) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Digests and the key set
 * ------------------------------------------------------------------------ */

/* SHA-256, fetched from the provider once. EVP_sha256() would be looked
 * up again by every EVP_DigestInit_ex, which costs more than hashing a
 * short key; a statement has about ten keys. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
key_md(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md != NULL ? sha256_md : EVP_sha256();
}

static int
digest_with(EVP_MD_CTX *md, enum xapi_index_kind kind, const char *value,
            unsigned char out[XAPI_KEY_DIGEST_LEN])
{
    unsigned char kind_byte = (unsigned char)kind;
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_DigestInit_ex(md, key_md(), NULL) != 1 ||
        EVP_DigestUpdate(md, &kind_byte, 1) != 1 ||
        EVP_DigestUpdate(md, value, strlen(value)) != 1 ||
        EVP_DigestFinal_ex(md, full, &len) != 1 || len < XAPI_KEY_DIGEST_LEN)
        return -1;
    memcpy(out, full, XAPI_KEY_DIGEST_LEN);
    return 0;
}

int
xapi_key_digest(enum xapi_index_kind kind, const char *value,
                unsigned char out[XAPI_KEY_DIGEST_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc;

    if (md == NULL)
        return -1;
    rc = digest_with(md, kind, value, out);
    EVP_MD_CTX_free(md);
    return rc;
}

/* The keys of one statement as they are collected; one digest context is
 * reused for all of them. */
struct key_set {
    EVP_MD_CTX *md;
    struct xapi_index_key *keys; /* owned until handed to the row */
    size_t n;
    size_t cap;
};

static int
key_set_add(struct key_set *ks, enum xapi_index_kind kind, const char *value)
{
    struct xapi_index_key *grown;

    if (ks->n == ks->cap) {
        size_t cap = ks->cap == 0 ? 16 : ks->cap * 2;

        grown = realloc(ks->keys, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        ks->keys = grown;
        ks->cap = cap;
    }
    ks->keys[ks->n].kind = (unsigned char)kind;
    if (digest_with(ks->md, kind, value, ks->keys[ks->n].digest) != 0)
        return -1;
    ks->n++;
    return 0;
}

static int
key_compare(const void *pa, const void *pb)
{
    const struct xapi_index_key *a = pa;
    const struct xapi_index_key *b = pb;

    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return memcmp(a->digest, b->digest, XAPI_KEY_DIGEST_LEN);
}

/* Sorts the keys and drops repeats: a statement naming the same agent or
 * activity twice is indexed once. */
static void
key_set_dedup(struct key_set *ks)
{
    size_t out = 0;

    if (ks->n == 0)
        return;
    qsort(ks->keys, ks->n, sizeof(ks->keys[0]), key_compare);
    for (size_t i = 1; i < ks->n; i++) {
        if (key_compare(&ks->keys[out], &ks->keys[i]) != 0)
            ks->keys[++out] = ks->keys[i];
    }
    ks->n = out + 1;
}

/* ------------------------------------------------------------------------
 * Collecting keys
 * ------------------------------------------------------------------------ */

/* Adds the keys of an Agent or Group and, for a Group, of its members.
 * direct: the actor is the statement's actor or object, so it also gets
 * the plain XAPI_KEY_AGENT kind. */
static int
add_actor_keys(struct key_set *ks, const json_t *actor, bool direct)
{
    const json_t *member;
    char *key = NULL;
    size_t i;
    int rc = 0;

    if (!json_is_object(actor))
        return 0;
    if (actor_key_checked(actor, &key) != 0)
        return -1;
    if (key != NULL) {
        rc = key_set_add(ks, XAPI_KEY_AGENT_RELATED, key);
        if (rc == 0 && direct)
            rc = key_set_add(ks, XAPI_KEY_AGENT, key);
        free(key);
    }
    json_array_foreach(json_object_get(actor, "member"), i, member) {
        if (rc != 0)
            break;
        rc = add_actor_keys(ks, member, direct);
    }
    return rc;
}

static int
add_activity_keys(struct key_set *ks, const json_t *activity, bool direct)
{
    const char *id = string_member(activity, "id");

    if (id == NULL)
        return 0;
    if (key_set_add(ks, XAPI_KEY_ACTIVITY_RELATED, id) != 0)
        return -1;
    return direct ? key_set_add(ks, XAPI_KEY_ACTIVITY, id) : 0;
}

/* contextActivities values are arrays by the time keys are collected. */
static int
add_context_activity_keys(struct key_set *ks, const json_t *context)
{
    const json_t *lists = json_object_get(context, "contextActivities");
    const char *name;
    const json_t *list;
    const json_t *activity;
    size_t i;

    json_object_foreach((json_t *)lists, name, list) {
        json_array_foreach(list, i, activity) {
            if (add_activity_keys(ks, activity, false) != 0)
                return -1;
        }
    }
    return 0;
}

/* Instructor, team and the 2.0 contextAgents and contextGroups. */
static int
add_context_agent_keys(struct key_set *ks, const json_t *context)
{
    const json_t *instructor = json_object_get(context, "instructor");
    const json_t *team = json_object_get(context, "team");
    const json_t *list;
    const json_t *entry;
    size_t i;

    if (add_actor_keys(ks, instructor, false) != 0 ||
        add_actor_keys(ks, team, false) != 0)
        return -1;
    list = json_object_get(context, "contextAgents");
    json_array_foreach(list, i, entry) {
        if (add_actor_keys(ks, json_object_get(entry, "agent"), false) != 0)
            return -1;
    }
    list = json_object_get(context, "contextGroups");
    json_array_foreach(list, i, entry) {
        if (add_actor_keys(ks, json_object_get(entry, "group"), false) != 0)
            return -1;
    }
    return 0;
}

static int
add_context_keys(struct key_set *ks, const json_t *context)
{
    if (!json_is_object(context))
        return 0;
    if (add_context_agent_keys(ks, context) != 0)
        return -1;
    return add_context_activity_keys(ks, context);
}

/* The object of a statement or sub-statement. direct: the object of the
 * statement itself rather than of a contained SubStatement. */
static int
add_object_keys(struct key_set *ks, const json_t *object, bool direct)
{
    const char *type;

    if (!json_is_object(object))
        return 0;
    type = object_type_of(object);
    if (is_actor_type(type))
        return add_actor_keys(ks, object, direct);
    if (strcmp(type, "Activity") == 0)
        return add_activity_keys(ks, object, direct);
    if (strcmp(type, "SubStatement") == 0 && direct) {
        if (add_actor_keys(ks, json_object_get(object, "actor"), false) != 0 ||
            add_object_keys(ks, json_object_get(object, "object"), false) != 0)
            return -1;
        return add_context_keys(ks, json_object_get(object, "context"));
    }
    return 0;
}

static int
collect_keys(const json_t *stmt, const struct xapi_row *row,
             struct key_set *ks)
{
    if (key_set_add(ks, XAPI_KEY_VERB, row->verb_id) != 0)
        return -1;
    if (row->registration[0] != '\0' &&
        key_set_add(ks, XAPI_KEY_REGISTRATION, row->registration) != 0)
        return -1;
    if (add_actor_keys(ks, json_object_get(stmt, "actor"), true) != 0 ||
        add_object_keys(ks, json_object_get(stmt, "object"), true) != 0 ||
        add_actor_keys(ks, json_object_get(stmt, "authority"), false) != 0)
        return -1;
    if (add_context_keys(ks, json_object_get(stmt, "context")) != 0)
        return -1;
    key_set_dedup(ks);
    return 0;
}

/* ------------------------------------------------------------------------
 * Completing the statement
 * ------------------------------------------------------------------------ */

/* Turns every single-object contextActivities value into a one-element
 * array, as the LRS must return them. */
static int
context_activities_to_arrays(json_t *context)
{
    json_t *lists = json_object_get(context, "contextActivities");
    const char *name;
    json_t *value;

    json_object_foreach(lists, name, value) {
        json_t *array;

        if (!json_is_object(value))
            continue;
        array = json_array();
        if (array == NULL || json_array_append(array, value) != 0 ||
            json_object_set_new(lists, name, array) != 0) {
            json_decref(array);
            return -1;
        }
    }
    return 0;
}

/* Sets the id: a new random UUID when absent, the lowercase form of the
 * given one otherwise (UUIDs are case insensitive on input, RFC 4122, and
 * lowercase keeps the stored text equal to the key it is found by). */
static int
complete_id(json_t *stmt, char id[37], struct lrs_error *err)
{
    const char *given = string_member(stmt, "id");
    uuid_t uuid;

    if (given == NULL) {
        uuid_generate_random(uuid);
        uuid_unparse_lower(uuid, id);
    } else if (xapi_uuid_normalize(given, id) != 0) {
        return lrs_error_set(err, 400, "statement.id: must be a UUID");
    } else if (strcmp(given, id) == 0) {
        return 0;
    }
    if (json_object_set_new(stmt, "id", json_string(id)) != 0)
        return lrs_error_set(err, 500, "out of memory");
    return 0;
}

/* Everything the LRS sets in the statement except the id. */
static int
complete_properties(json_t *stmt, const json_t *authority,
                    enum xapi_version v)
{
    json_t *object = json_object_get(stmt, "object");

    /* "stored" is the LRS's to set: a submitted one is overwritten, and
     * the reader splices the real one in. */
    json_object_del(stmt, "stored");
    if (authority != NULL &&
        json_object_set_new(stmt, "authority",
                            json_deep_copy(authority)) != 0)
        return -1;
    if (json_object_get(stmt, "version") == NULL &&
        json_object_set_new(stmt, "version",
                            json_string(v == XAPI_V2_0 ? "2.0.0"
                                                       : "1.0.0")) != 0)
        return -1;
    if (context_activities_to_arrays(json_object_get(stmt, "context")) != 0)
        return -1;
    if (strcmp(object_type_of(object), "SubStatement") == 0)
        return context_activities_to_arrays(json_object_get(object,
                                                            "context"));
    return 0;
}

/* ------------------------------------------------------------------------
 * Columns
 * ------------------------------------------------------------------------ */

/* Copies the ids of the activities in one contextActivities list. */
static int
copy_activity_ids(const json_t *context, const char *list_name,
                  char ***out, size_t *count)
{
    const json_t *lists = json_object_get(context, "contextActivities");
    const json_t *list = json_object_get(lists, list_name);
    const json_t *activity;
    size_t i;

    if (json_array_size(list) == 0)
        return 0;
    *out = calloc(json_array_size(list), sizeof(char *));
    if (*out == NULL)
        return -1;
    json_array_foreach(list, i, activity) {
        const char *id = string_member(activity, "id");

        if (id == NULL)
            continue;
        (*out)[*count] = strdup(id);
        if ((*out)[*count] == NULL)
            return -1;
        (*count)++;
    }
    return 0;
}

/* Copies a UUID member in lowercase into out; leaves out empty when the
 * member is absent or not a UUID. */
static void
copy_uuid(const json_t *obj, const char *name, char out[37])
{
    const char *text = string_member(obj, name);

    out[0] = '\0';
    if (text != NULL && xapi_uuid_normalize(text, out) != 0)
        out[0] = '\0';
}

static int
extract_object(const json_t *stmt, struct xapi_row *row)
{
    const json_t *object = json_object_get(stmt, "object");
    const char *type = object_type_of(object);
    const char *id = string_member(object, "id");

    row->object_type = strdup(type);
    if (row->object_type == NULL)
        return -1;
    if (is_actor_type(type)) {
        /* An anonymous Group has no identity: object_id stays NULL. */
        return actor_key_checked(object, &row->object_id);
    }
    if (strcmp(type, "StatementRef") == 0) {
        copy_uuid(object, "id", row->ref_target);
        id = row->ref_target[0] != '\0' ? row->ref_target : NULL;
        if (id != NULL && strcmp(row->verb_id, VOIDED_VERB) == 0)
            memcpy(row->voids, row->ref_target, sizeof(row->voids));
    }
    if (id != NULL && strcmp(type, "SubStatement") != 0) {
        row->object_id = strdup(id);
        if (row->object_id == NULL)
            return -1;
    }
    return 0;
}

static int
extract_columns(const json_t *stmt, struct xapi_row *row)
{
    const json_t *context = json_object_get(stmt, "context");
    const char *verb = string_member(json_object_get(stmt, "verb"), "id");

    row->verb_id = strdup(verb != NULL ? verb : "");
    if (row->verb_id == NULL)
        return -1;
    if (actor_key_checked(json_object_get(stmt, "actor"),
                          &row->actor_key) != 0)
        return -1;
    if (extract_object(stmt, row) != 0)
        return -1;
    copy_uuid(context, "registration", row->registration);
    if (copy_activity_ids(context, "parent", &row->parents,
                          &row->nparents) != 0)
        return -1;
    return copy_activity_ids(context, "grouping", &row->groupings,
                             &row->ngroupings);
}

static int
extract_timestamp(const json_t *stmt, struct xapi_row *row,
                  struct lrs_error *err)
{
    const char *text = string_member(stmt, "timestamp");

    row->has_timestamp = text != NULL;
    row->timestamp_us = 0;
    if (text == NULL)
        return 0;
    if (xapi_timestamp_parse(text, false, &row->timestamp_us) != 0)
        return lrs_error_set(err, 400,
                             "statement.timestamp: must be an ISO 8601 "
                             "date and time");
    return 0;
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

int
xapi_row_build(json_t *stmt, const json_t *authority, enum xapi_version v,
               struct xapi_row *row, struct lrs_error *err)
{
    struct key_set ks = {0};

    memset(row, 0, sizeof(*row));
    if (complete_id(stmt, row->id, err) != 0)
        goto failed;
    if (complete_properties(stmt, authority, v) != 0 ||
        extract_columns(stmt, row) != 0)
        goto out_of_memory;
    if (extract_timestamp(stmt, row, err) != 0)
        goto failed;
    ks.md = EVP_MD_CTX_new();
    if (ks.md == NULL || collect_keys(stmt, row, &ks) != 0)
        goto out_of_memory;
    row->body = xapi_json_text(stmt, &row->body_len);
    if (row->body == NULL)
        goto out_of_memory;
    row->keys = ks.keys;
    row->nkeys = ks.n;
    EVP_MD_CTX_free(ks.md);
    return 0;

out_of_memory:
    lrs_error_set(err, 500, "out of memory while storing a statement");
failed:
    EVP_MD_CTX_free(ks.md);
    free(ks.keys);
    xapi_row_free(row);
    return -1;
}

static void
free_strings(char **strings, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

void
xapi_row_free(struct xapi_row *row)
{
    free(row->body);
    free(row->actor_key);
    free(row->verb_id);
    free(row->object_type);
    free(row->object_id);
    /* parents and groupings are calloc'd, so unfilled slots are NULL. */
    free_strings(row->parents, row->nparents);
    free_strings(row->groupings, row->ngroupings);
    free(row->keys);
    memset(row, 0, sizeof(*row));
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

/* True when text can be placed between JSON quotes as it is. */
static bool
json_safe(const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '"' || *text == '\\' || (unsigned char)*text < 0x20)
            return false;
    }
    return true;
}

static char *
append(char *at, const char *text, size_t len)
{
    memcpy(at, text, len);
    return at + len;
}

static const char stored_name[] = "\"stored\":\"";
static const char timestamp_name[] = ",\"timestamp\":\"";

size_t
xapi_body_with_stored_max(size_t body_len, size_t stored_len,
                          bool add_timestamp)
{
    size_t n = body_len + 1 + (sizeof(stored_name) - 1) + stored_len + 1 + 1;

    if (add_timestamp)
        n += (sizeof(timestamp_name) - 1) + stored_len + 1;
    return n;
}

int
xapi_body_put_stored(char *out, const char *body, size_t body_len,
                     const char *stored, bool add_timestamp, size_t *out_len)
{
    size_t close = body_len;
    size_t before;
    size_t ns = strlen(stored);
    char *at;

    while (close > 0 && body[close - 1] != '}')
        close--;
    if (close == 0 || !json_safe(stored))
        return -1;
    close--;
    before = close;
    while (before > 0 && isspace((unsigned char)body[before - 1]))
        before--;
    at = append(out, body, close);
    if (before > 0 && body[before - 1] != '{')
        at = append(at, ",", 1);
    at = append(at, stored_name, sizeof(stored_name) - 1);
    at = append(at, stored, ns);
    at = append(at, "\"", 1);
    if (add_timestamp) {
        at = append(at, timestamp_name, sizeof(timestamp_name) - 1);
        at = append(at, stored, ns);
        at = append(at, "\"", 1);
    }
    at = append(at, body + close, body_len - close);
    *at = '\0';
    *out_len = (size_t)(at - out);
    return 0;
}

char *
xapi_body_with_stored(const char *body, size_t body_len, const char *stored,
                      bool add_timestamp, size_t *out_len)
{
    char *out = malloc(
        xapi_body_with_stored_max(body_len, strlen(stored), add_timestamp));

    if (out == NULL)
        return NULL;
    if (xapi_body_put_stored(out, body, body_len, stored, add_timestamp,
                             out_len) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
