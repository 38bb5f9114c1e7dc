/*
 * Credentials: creating them, and checking the key and secret of each
 * request. See keys.h.
 *
 * Secrets are stored as SHA-256(salt || secret). A fast hash is enough
 * here, unlike for passwords: a secret is 32 random bytes (256 bits) from
 * the system's CSPRNG, so guessing it from a leaked hash is as hopeless
 * with a fast hash as with a slow one, and a slow hash would cost every
 * uncached request milliseconds of CPU. The salt keeps equal secrets from
 * having equal hashes and rules out precomputed tables all the same.
 *
 * A verified credential is cached for a few seconds in a small
 * direct-mapped table, so that a client's stream of requests costs one
 * query every KEY_CACHE_TTL_US, not one per request. The cache keeps the
 * hash, not the secret; every request's secret is still hashed and
 * compared in constant time. A revoked credential therefore stays usable
 * for at most KEY_CACHE_TTL_US in each lrsd process.
 */
#include "store/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/log.h"
#include "store/internal.h"
#include "store/pgbuf.h"
#include "store/pool.h"
#include "store/sql.h"

#define KEY_BYTES 16           /* 22 characters of base64url */
#define SECRET_BYTES 32        /* 43 characters of base64url */
#define SALT_BYTES 16
#define SALT_MAX 64            /* longest salt accepted from the table */
#define HASH_BYTES 32          /* SHA-256 */
#define KEY_MAX_LEN 128        /* longer keys are never valid */
#define KEY_CACHE_SLOTS 256
#define KEY_CACHE_TTL_US (10 * INT64_C(1000000))
#define DEFAULT_HOME_PAGE "https://lrsd.invalid/"

struct cached_key {
    char key[KEY_MAX_LEN + 1];   /* "" for an empty slot */
    unsigned char salt[SALT_MAX];
    size_t salt_len;
    unsigned char hash[HASH_BYTES];
    int64_t expires_us;
    long long id;
    int store_id;
    json_t *scopes;              /* owned */
    json_t *authority;           /* owned */
};

struct key_cache {
    pthread_mutex_t mu;
    struct cached_key slots[KEY_CACHE_SLOTS];
};

/* What a credential row holds, before and after caching. */
struct key_record {
    unsigned char salt[SALT_MAX];
    size_t salt_len;
    unsigned char hash[HASH_BYTES];
    long long id;
    int store_id;
    json_t *scopes;              /* owned */
    json_t *authority;           /* owned */
};

static void
record_free(struct key_record *rec)
{
    json_decref(rec->scopes);
    json_decref(rec->authority);
    rec->scopes = NULL;
    rec->authority = NULL;
}

/* ---- hashing ---- */

static int
hash_secret(const unsigned char *salt, size_t salt_len, const char *secret,
            unsigned char out[HASH_BYTES])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok;

    if (ctx == NULL)
        return -1;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
         EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == HASH_BYTES;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* 1 when secret matches the record, 0 when not, -1 when hashing fails. */
static int
secret_matches(const struct key_record *rec, const char *secret)
{
    unsigned char hash[HASH_BYTES];

    if (hash_secret(rec->salt, rec->salt_len, secret, hash) != 0)
        return -1;
    return CRYPTO_memcmp(hash, rec->hash, HASH_BYTES) == 0 ? 1 : 0;
}

static void
to_hex(const unsigned char *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
from_hex(const char *text, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(text);

    if (n % 2 != 0 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;

        if (sscanf(text + 2 * i, "%2x", &byte) != 1)
            return -1;
        out[i] = (unsigned char)byte;
    }
    *len = n / 2;
    return 0;
}

/* ---- the cache ---- */

struct key_cache *
keys_cache_new(void)
{
    struct key_cache *cache = calloc(1, sizeof(*cache));

    if (cache != NULL)
        pthread_mutex_init(&cache->mu, NULL);
    return cache;
}

static void
slot_clear(struct cached_key *slot)
{
    json_decref(slot->scopes);
    json_decref(slot->authority);
    memset(slot, 0, sizeof(*slot));
}

void
keys_cache_free(struct key_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++)
        slot_clear(&cache->slots[i]);
    pthread_mutex_destroy(&cache->mu);
    free(cache);
}

static struct cached_key *
slot_for(struct key_cache *cache, const char *key)
{
    uint32_t h = 2166136261u;   /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &cache->slots[h % KEY_CACHE_SLOTS];
}

/* Copies the cached record of key into rec (JSON deep-copied, since the
 * caller may modify it). Returns 1 on a fresh hit, 0 on a miss, -1 when
 * memory runs out. */
static int
cache_get(struct key_cache *cache, const char *key, struct key_record *rec)
{
    struct cached_key *slot;
    int rc = 0;

    pthread_mutex_lock(&cache->mu);
    slot = slot_for(cache, key);
    if (strcmp(slot->key, key) == 0 && slot->expires_us > pool_now_us()) {
        memcpy(rec->salt, slot->salt, slot->salt_len);
        rec->salt_len = slot->salt_len;
        memcpy(rec->hash, slot->hash, HASH_BYTES);
        rec->id = slot->id;
        rec->store_id = slot->store_id;
        rec->scopes = json_deep_copy(slot->scopes);
        rec->authority = json_deep_copy(slot->authority);
        rc = rec->scopes && rec->authority ? 1 : -1;
        if (rc < 0)
            record_free(rec);
    }
    pthread_mutex_unlock(&cache->mu);
    return rc;
}

static void
cache_put(struct key_cache *cache, const char *key,
          const struct key_record *rec)
{
    json_t *scopes = json_deep_copy(rec->scopes);
    json_t *authority = json_deep_copy(rec->authority);
    struct cached_key *slot;

    if (scopes == NULL || authority == NULL) {
        json_decref(scopes);
        json_decref(authority);
        return;
    }
    pthread_mutex_lock(&cache->mu);
    slot = slot_for(cache, key);
    slot_clear(slot);
    snprintf(slot->key, sizeof(slot->key), "%s", key);
    memcpy(slot->salt, rec->salt, rec->salt_len);
    slot->salt_len = rec->salt_len;
    memcpy(slot->hash, rec->hash, HASH_BYTES);
    slot->id = rec->id;
    slot->store_id = rec->store_id;
    slot->scopes = scopes;
    slot->authority = authority;
    slot->expires_us = pool_now_us() + KEY_CACHE_TTL_US;
    pthread_mutex_unlock(&cache->mu);
}

/* ---- lookup ---- */

static json_t *
parse_json(const char *text)
{
    json_error_t jerr;

    return json_loads(text, 0, &jerr);
}

/* Fills rec from a credential_by_key row. Returns 0, or -1 with err. */
static int
record_from_row(const PGresult *res, struct key_record *rec,
                struct lrs_error *err)
{
    size_t hash_len = 0;

    rec->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    rec->store_id = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    rec->scopes = parse_json(PQgetvalue(res, 0, 4));
    rec->authority = parse_json(PQgetvalue(res, 0, 5));
    if (from_hex(PQgetvalue(res, 0, 2), rec->salt, SALT_MAX,
                 &rec->salt_len) != 0 ||
        from_hex(PQgetvalue(res, 0, 3), rec->hash, HASH_BYTES,
                 &hash_len) != 0 ||
        hash_len != HASH_BYTES || !json_is_array(rec->scopes) ||
        !json_is_object(rec->authority)) {
        log_error("event=credential_unreadable id=%lld", rec->id);
        record_free(rec);
        return lrs_error_set(err, 500, "database error");
    }
    return 0;
}

/* Reads key's active credential. Returns 1 found, 0 not found, -1 with
 * err; *retry is set when a stale pooled connection failed. */
static int
lookup_key(struct store *st, const char *key, struct key_record *rec,
           bool *retry, struct lrs_error *err)
{
    const struct sql_statement *sql = &sql_statements[SQL_CREDENTIAL_BY_KEY];
    const char *values[1] = {key};
    struct pool_conn *c;
    PGresult *res;
    int rc = -1;

    *retry = false;
    if (pool_acquire(st->pool, st->cfg.acquire_timeout_ms, &c, err) != 0)
        return -1;
    res = PQexecPrepared(c->pg, sql->name, 1, values, NULL, NULL, 0);
    if (pool_check(c->pg, res, PGRES_TUPLES_OK, sql->name, err) != 0)
        *retry = c->reused && PQstatus(c->pg) != CONNECTION_OK;
    else if (PQntuples(res) == 0)
        rc = 0;
    else if (record_from_row(res, rec, err) == 0)
        rc = 1;
    PQclear(res);
    pool_release(st->pool, c);
    return rc;
}

static void
credential_take(struct store_credential *cred, struct key_record *rec)
{
    cred->id = rec->id;
    cred->store_id = rec->store_id;
    cred->scopes = rec->scopes;
    cred->authority = rec->authority;
    rec->scopes = NULL;
    rec->authority = NULL;
}

int
keys_authenticate(struct store *st, const char *key, const char *secret,
                  struct store_credential *cred, struct lrs_error *err)
{
    struct key_record rec = {0};
    bool cached = false, retry;
    int found, match;

    memset(cred, 0, sizeof(*cred));
    if (key == NULL || secret == NULL || key[0] == '\0' ||
        strlen(key) > KEY_MAX_LEN)
        return 0;
    found = cache_get(st->keys, key, &rec);
    if (found > 0) {
        cached = true;
    } else if (found == 0) {
        found = lookup_key(st, key, &rec, &retry, err);
        if (found < 0 && retry)
            found = lookup_key(st, key, &rec, &retry, err);
    } else {
        return lrs_error_set(err, 500, "out of memory");
    }
    if (found <= 0)
        return found;
    match = secret_matches(&rec, secret);
    if (match > 0) {
        if (!cached)
            cache_put(st->keys, key, &rec);
        credential_take(cred, &rec);
    }
    record_free(&rec);
    if (match < 0)
        return lrs_error_set(err, 500, "cannot hash the secret");
    return match;
}

void
keys_credential_free(struct store_credential *cred)
{
    if (cred == NULL)
        return;
    json_decref(cred->scopes);
    json_decref(cred->authority);
    memset(cred, 0, sizeof(*cred));
}

/* ---- creation ---- */

static int
check_scopes(const json_t *scopes, struct lrs_error *err)
{
    size_t i;
    const json_t *scope;

    if (!json_is_array(scopes))
        return lrs_error_set(err, 400, "scopes: must be an array of "
                             "strings");
    json_array_foreach(scopes, i, scope) {
        if (!json_is_string(scope) || json_string_length(scope) == 0)
            return lrs_error_set(err, 400, "scopes[%zu]: must be a "
                                 "non-empty string", i);
    }
    return 0;
}

/* New key, secret and salt from the CSPRNG. */
struct new_secret {
    char *key;                       /* base64url, owned */
    char *secret;                    /* base64url, owned */
    char salt_hex[2 * SALT_BYTES + 1];
    char hash_hex[2 * HASH_BYTES + 1];
};

static void
new_secret_free(struct new_secret *ns)
{
    free(ns->key);
    if (ns->secret != NULL)
        OPENSSL_cleanse(ns->secret, strlen(ns->secret));
    free(ns->secret);
}

static int
new_secret_make(struct new_secret *ns, struct lrs_error *err)
{
    unsigned char key[KEY_BYTES], secret[SECRET_BYTES], salt[SALT_BYTES];
    unsigned char hash[HASH_BYTES];
    int rc = -1;

    memset(ns, 0, sizeof(*ns));
    if (RAND_bytes(key, sizeof(key)) != 1 ||
        RAND_bytes(secret, sizeof(secret)) != 1 ||
        RAND_bytes(salt, sizeof(salt)) != 1) {
        lrs_error_set(err, 500, "no random bytes available");
        goto out;
    }
    ns->key = base64_encode(key, sizeof(key), true);
    ns->secret = base64_encode(secret, sizeof(secret), true);
    if (ns->key == NULL || ns->secret == NULL ||
        hash_secret(salt, sizeof(salt), ns->secret, hash) != 0) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    to_hex(salt, sizeof(salt), ns->salt_hex);
    to_hex(hash, sizeof(hash), ns->hash_hex);
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc != 0)
        new_secret_free(ns);
    return rc;
}

static json_t *
authority_new(const char *endpoint, const char *key)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "objectType", "Agent",
                     "account", "homePage",
                     endpoint != NULL && endpoint[0] != '\0'
                         ? endpoint : DEFAULT_HOME_PAGE,
                     "name", key);
}

/* Inserts the credential; on success *out is the JSON for the caller. */
static int
insert_credential(PGconn *pg, const struct new_secret *ns,
                  const json_t *scopes, const char *label,
                  const json_t *authority, json_t **out,
                  struct lrs_error *err)
{
    struct pgarray scope_array;
    char *authority_text = json_dumps(authority, JSON_COMPACT);
    const char *values[7];
    int lengths[7] = {0};
    int formats[7] = {0, 0, 0, 0, 1, 0, 0};
    const json_t *scope;
    PGresult *res = NULL;
    size_t i;
    int rc = -1;

    pgarray_begin(&scope_array, PGBUF_OID_TEXT);
    json_array_foreach(scopes, i, scope)
        pgarray_add_text(&scope_array, json_string_value(scope),
                         json_string_length(scope));
    if (authority_text == NULL || pgarray_finish(&scope_array) != 0) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    values[0] = "1";   /* the default store */
    values[1] = ns->key;
    values[2] = ns->salt_hex;
    values[3] = ns->hash_hex;
    values[4] = scope_array.buf.data;
    lengths[4] = (int)scope_array.buf.len;
    values[5] = label;
    values[6] = authority_text;
    res = PQexecParams(pg, sql_statements[SQL_CREDENTIAL_INSERT].text, 7,
                       NULL, values, lengths, formats, 0);
    if (pool_check(pg, res, PGRES_TUPLES_OK, "credential_insert", err) != 0)
        goto out;
    *out = json_pack("{s:s, s:s, s:o, s:s?, s:s}", "key", ns->key, "secret",
                     ns->secret, "scopes", json_deep_copy(scopes), "label",
                     label, "store", PQgetvalue(res, 0, 1));
    if (*out == NULL) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    free(authority_text);
    pgarray_free(&scope_array);
    return rc;
}

int
keys_create(const char *conninfo, const json_t *scopes, const char *label,
            const char *endpoint, json_t **out, struct lrs_error *err)
{
    struct new_secret ns;
    json_t *authority = NULL;
    PGconn *pg = NULL;
    int rc = -1;

    *out = NULL;
    if (check_scopes(scopes, err) != 0 || new_secret_make(&ns, err) != 0)
        return -1;
    authority = authority_new(endpoint, ns.key);
    if (authority == NULL) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    if (pool_connect(conninfo, 0, &pg, err) != 0)
        goto out;
    rc = insert_credential(pg, &ns, scopes, label, authority, out, err);
    if (rc == 0)
        log_info("event=credential_created key=%s", ns.key);
out:
    if (pg != NULL)
        PQfinish(pg);
    json_decref(authority);
    new_secret_free(&ns);
    return rc;
}
