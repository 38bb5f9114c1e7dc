/*
 * The Statements resource over HTTP, checked against the xAPI
 * specification (1.0.3 "xAPI-Communication.md" and the 2.0 IEEE text):
 * storing with PUT and POST, conflicts and atomic batches, single
 * lookups, every query parameter, paging through "more", voiding, the
 * response headers every client relies on, authentication, the About
 * resource and the CORS answers a course in a browser needs.
 *
 * tests/with-lrsd starts lrsd against a throwaway database and tells us
 * where it is. All tests share that database, so each one makes up its own
 * actors, verbs, activities and registrations (UUID-based IRIs) and only
 * ever queries for those.
 */
#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "client.h"

#define TEST_IRI "http://lrsd.test"
#define VERB_VOIDED "http://adlnet.gov/expapi/verbs/voided"
#define MAX_PAGES 1000

/* ---- small helpers ------------------------------------------------------ */

static char *
strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
strf(const char *fmt, ...)
{
    va_list ap;
    char *out;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    ck_assert_msg(n >= 0, "out of memory");
    return out;
}

static void
uuid_text(char out[37])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

/* A new IRI no other test uses: http://lrsd.test/<kind>/<uuid>. */
static char *
unique_iri(const char *kind)
{
    char id[37];

    uuid_text(id);
    return strf("%s/%s/%s", TEST_IRI, kind, id);
}

static char *
unique_mbox(void)
{
    char id[37];

    uuid_text(id);
    return strf("mailto:%s@lrsd.test", id);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* "statements?k1=v1&k2=v2..." from NULL-terminated name/value pairs;
 * values are percent-encoded. */
static char *
query(const char *name, ...)
{
    size_t cap = 4096, len;
    char *out = malloc(cap);
    va_list ap;

    ck_assert_ptr_nonnull(out);
    len = (size_t)snprintf(out, cap, "statements");
    va_start(ap, name);
    for (const char *n = name; n != NULL; n = va_arg(ap, const char *)) {
        char *value = http_escape(va_arg(ap, const char *));
        size_t need = len + strlen(n) + strlen(value) + 3;

        if (need > cap) {
            cap = need * 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        len += (size_t)snprintf(out + len, cap - len, "%c%s=%s",
                                len == strlen("statements") ? '?' : '&', n,
                                value);
        free(value);
    }
    va_end(ap);
    return out;
}

/* Parses an ISO 8601 timestamp as xAPI uses them (date, 'T', time with an
 * optional fraction, 'Z' or an offset) into microseconds since the epoch.
 * Independent of lrsd's own parser on purpose. Returns -1 on bad input. */
static int64_t
iso_us(const char *text)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, s, consumed = 0, oh = 0, om = 0;
    int64_t frac = 0, scale = 1000000;
    const char *p;

    if (text == NULL ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
               &consumed) != 6 || consumed != 19)
        return -1;
    p = text + consumed;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p == '+' || *p == '-') {
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        if (*p == '-') {
            oh = -oh;
            om = -om;
        }
        p += 6;
    } else if (*p == 'Z') {
        p++;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return ((int64_t)timegm(&tm) - oh * 3600 - om * 60) * 1000000 + frac;
}

/* Parses an HTTP date (RFC 7231 IMF-fixdate) into seconds, or -1. */
static int64_t
http_date_s(const char *text)
{
    struct tm tm = {0};
    const char *end;

    if (text == NULL)
        return -1;
    end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    return (int64_t)timegm(&tm);
}

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool
is_uuid(const char *text)
{
    uuid_t u;

    return text != NULL && strlen(text) == 36 && uuid_parse(text, u) == 0;
}

static bool
has_prefix_ci(const char *text, const char *prefix)
{
    return text != NULL && strncasecmp(text, prefix, strlen(prefix)) == 0;
}

/* True when a comma-separated header value lists item (any case). */
static bool
header_lists(const char *value, const char *item)
{
    size_t n = strlen(item);

    while (value != NULL && *value) {
        while (*value == ' ' || *value == ',')
            value++;
        if (strncasecmp(value, item, n) == 0 &&
            (value[n] == '\0' || value[n] == ',' || value[n] == ' '))
            return true;
        value = strchr(value, ',');
    }
    return false;
}

static char *
sha256_hex(const char *data, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *out = malloc(2 * EVP_MAX_MD_SIZE + 1);

    ck_assert_ptr_nonnull(out);
    ck_assert(EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) == 1);
    for (unsigned int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", digest[i]);
    return out;
}

/* The path of the xAPI base URL, e.g. "/xapi". */
static const char *
base_path(void)
{
    const char *url = http_base_url();
    const char *scheme = strstr(url, "://");
    const char *path = scheme != NULL ? strchr(scheme + 3, '/') : NULL;

    return path != NULL ? path : "";
}

/* ---- assertions on responses -------------------------------------------- */

#define expect_status(resp, want)                                           \
    ck_assert_msg((resp)->status == (want),                                 \
                  "status %ld, expected %d; body: %.800s", (resp)->status,  \
                  (int)(want), (resp)->body)

#define expect_header(resp, name, want)                                     \
    do {                                                                    \
        const char *got_ = http_header((resp), (name));                     \
        ck_assert_msg(got_ != NULL && strcmp(got_, (want)) == 0,            \
                      "%s: got '%s', expected '%s'", (name),                \
                      got_ ? got_ : "(absent)", (want));                    \
    } while (0)

/* Content-Type is application/json (parameters such as charset allowed). */
static bool
is_json_type(const struct http_response *resp)
{
    const char *ct = http_header(resp, "Content-Type");

    return has_prefix_ci(ct, "application/json") &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* The response has a body whose length Content-Length states exactly. */
static void
check_content_length(const struct http_response *resp)
{
    const char *cl = http_header(resp, "Content-Length");

    ck_assert_msg(cl != NULL, "no Content-Length (status %ld)",
                  resp->status);
    ck_assert_msg(strtoull(cl, NULL, 10) == resp->body_len,
                  "Content-Length %s but %zu bytes came", cl,
                  resp->body_len);
}

/* An error answer: the status, a JSON body {"error":{"status":N,
 * "message":"..."}} and the headers every answer carries. Returns the
 * message, borrowed from resp. */
static const char *
expect_error(const struct http_response *resp, long status)
{
    json_t *error;
    const char *message;

    expect_status(resp, status);
    ck_assert_msg(is_json_type(resp), "error Content-Type '%s'",
                  http_header(resp, "Content-Type"));
    ck_assert_msg(resp->json != NULL, "error body is not JSON: %.300s",
                  resp->body);
    error = json_object_get(resp->json, "error");
    message = json_string_value(json_object_get(error, "message"));
    ck_assert_msg(message != NULL && message[0] != '\0',
                  "error body has no error.message: %.300s", resp->body);
    ck_assert_int_eq(json_integer_value(json_object_get(error, "status")),
                     status);
    ck_assert_ptr_nonnull(http_header(resp, "X-Experience-API-Version"));
    return message;
}

#define expect_message_has(resp, status, text)                              \
    do {                                                                    \
        const char *m_ = expect_error((resp), (status));                    \
        ck_assert_msg(strstr(m_, (text)) != NULL,                           \
                      "error message '%s' does not name '%s'", m_,          \
                      (text));                                              \
    } while (0)

static void
get_expect(const char *target, long status)
{
    struct http_response *resp = http_get(target);

    if (status >= 400)
        expect_error(resp, status);
    else
        expect_status(resp, status);
    http_response_free(resp);
}

static void
free_and_get_expect(char *target, long status)
{
    get_expect(target, status);
    free(target);
}

/* ---- building statements ------------------------------------------------ */

/* The names a test uses; all unique to it. */
struct names {
    char *mbox;          /* actor */
    char *verb;
    char *activity;
    char registration[37];
};

static void
names_init(struct names *n)
{
    n->mbox = unique_mbox();
    n->verb = unique_iri("verb");
    n->activity = unique_iri("activity");
    uuid_text(n->registration);
}

static void
names_free(struct names *n)
{
    free(n->mbox);
    free(n->verb);
    free(n->activity);
}

static json_t *
agent_new(const char *mbox)
{
    return json_pack("{s:s, s:s, s:s}", "objectType", "Agent", "name",
                     "Test Learner", "mbox", mbox);
}

static json_t *
activity_new(const char *id)
{
    return json_pack("{s:s, s:s, s:{s:{s:s}, s:s}}", "objectType", "Activity",
                     "id", id, "definition", "name", "en-US",
                     "Test activity", "type",
                     "http://adlnet.gov/expapi/activities/lesson");
}

/* actor mbox, verb, object activity; id only when given. */
static json_t *
statement_new(const char *id, const char *mbox, const char *verb,
              const char *activity)
{
    json_t *s = json_pack("{s:o, s:{s:s, s:{s:s}}, s:o}",
                          "actor", agent_new(mbox),
                          "verb", "id", verb, "display", "en-US",
                          "experienced",
                          "object", activity_new(activity));

    ck_assert_ptr_nonnull(s);
    if (id != NULL)
        json_object_set_new(s, "id", json_string(id));
    return s;
}

static json_t *
names_statement(const struct names *n, const char *id)
{
    return statement_new(id, n->mbox, n->verb, n->activity);
}

static json_t *
voiding_new(const char *id, const char *target)
{
    json_t *s = json_pack("{s:o, s:{s:s, s:{s:s}}, s:{s:s, s:s}}",
                          "actor", agent_new("mailto:admin@lrsd.test"),
                          "verb", "id", VERB_VOIDED, "display", "en-US",
                          "voided",
                          "object", "objectType", "StatementRef", "id",
                          target);

    ck_assert_ptr_nonnull(s);
    if (id != NULL)
        json_object_set_new(s, "id", json_string(id));
    return s;
}

/* ---- requests that must succeed ----------------------------------------- */

/* POSTs a statement or an array; asserts 200 with one UUID per statement
 * and returns the ids (new reference). */
static json_t *
post_ok(const json_t *body)
{
    struct http_response *resp = http_send_json("POST", "statements", body);
    size_t want = json_is_array(body) ? json_array_size(body) : 1;
    json_t *ids;

    expect_status(resp, 200);
    ck_assert_msg(json_is_array(resp->json) &&
                  json_array_size(resp->json) == want,
                  "POST answered %.300s, expected an array of %zu ids",
                  resp->body, want);
    for (size_t i = 0; i < want; i++)
        ck_assert(is_uuid(json_string_value(json_array_get(resp->json, i))));
    ids = json_incref(resp->json);
    http_response_free(resp);
    return ids;
}

/* POSTs one statement and returns its id (caller frees). */
static char *
post_one(json_t *stmt)
{
    json_t *ids = post_ok(stmt);
    char *id = strdup(json_string_value(json_array_get(ids, 0)));

    json_decref(ids);
    json_decref(stmt);
    ck_assert_ptr_nonnull(id);
    return id;
}

static void
put_ok(const char *id, const json_t *stmt)
{
    char *target = query("statementId", id, NULL);
    struct http_response *resp = http_send_json("PUT", target, stmt);

    expect_status(resp, 204);
    http_response_free(resp);
    free(target);
}

/* GET ?statementId= (or voidedStatementId=); asserts 200 and returns the
 * statement (new reference). */
static json_t *
get_statement_by(const char *param, const char *id)
{
    char *target = query(param, id, NULL);
    struct http_response *resp = http_get(target);
    json_t *stmt;

    expect_status(resp, 200);
    ck_assert_msg(json_is_object(resp->json), "not a statement: %.300s",
                  resp->body);
    ck_assert_str_eq(json_string_value(json_object_get(resp->json, "id")),
                     id);
    stmt = json_incref(resp->json);
    http_response_free(resp);
    free(target);
    return stmt;
}

static json_t *
get_statement(const char *id)
{
    return get_statement_by("statementId", id);
}

/* GETs target; asserts 200 and returns the JSON body (new reference). */
static json_t *
get_json_ok(const char *target)
{
    struct http_response *resp = http_get(target);
    json_t *json;

    expect_status(resp, 200);
    ck_assert_msg(resp->json != NULL, "not JSON: %.300s", resp->body);
    json = json_incref(resp->json);
    http_response_free(resp);
    return json;
}

static void
expect_not_found(const char *id)
{
    free_and_get_expect(query("statementId", id, NULL), 404);
}

/* Checks one page of a query answer and returns its "more" link ("" when
 * there is none), borrowed from resp. */
static const char *
check_result_page(const struct http_response *resp)
{
    json_t *more;
    const char *key;
    json_t *value;

    expect_status(resp, 200);
    ck_assert_msg(is_json_type(resp), "Content-Type '%s'",
                  http_header(resp, "Content-Type"));
    ck_assert_msg(json_is_object(resp->json),
                  "not a StatementResult: %.300s", resp->body);
    ck_assert_msg(json_is_array(json_object_get(resp->json, "statements")),
                  "StatementResult without a statements array: %.300s",
                  resp->body);
    json_object_foreach(resp->json, key, value) {
        ck_assert_msg(strcmp(key, "statements") == 0 ||
                      strcmp(key, "more") == 0,
                      "StatementResult has a property '%s'", key);
    }
    more = json_object_get(resp->json, "more");
    if (more == NULL)
        return "";
    ck_assert_msg(json_is_string(more), "more is not a string");
    return json_string_value(more);
}

/* Runs a query with the given extra request headers and follows every
 * "more" link; returns all statements in the order received (new
 * reference). *pages receives the number of pages when not NULL. */
static json_t *
fetch_all_with(const char *target, const char *const *headers, int *pages)
{
    json_t *all = json_array();
    char *next = strdup(target);
    int n = 0;

    while (next != NULL) {
        struct http_response *resp = http_request("GET", next, headers,
                                                  NULL);
        const char *more = check_result_page(resp);
        json_t *page = json_object_get(resp->json, "statements");

        /* "more" is given only "if additional results are available". */
        ck_assert_msg(n == 0 || json_array_size(page) > 0,
                      "a more link led to an empty page");
        json_array_extend(all, page);
        free(next);
        next = NULL;
        if (more[0] != '\0') {
            ck_assert_msg(more[0] == '/' && more[1] != '/',
                          "more '%s' is not a path on this server", more);
            next = strdup(more);
        }
        http_response_free(resp);
        ck_assert_int_lt(++n, MAX_PAGES);
    }
    if (pages != NULL)
        *pages = n;
    return all;
}

static json_t *
fetch_all(const char *target)
{
    return fetch_all_with(target, NULL, NULL);
}

/* Runs one query (no paging) and returns the first page's statements. */
static json_t *
fetch_page(const char *target)
{
    struct http_response *resp = http_get(target);
    json_t *stmts;

    check_result_page(resp);
    stmts = json_incref(json_object_get(resp->json, "statements"));
    http_response_free(resp);
    return stmts;
}

static const char *
id_at(const json_t *stmts, size_t i)
{
    return json_string_value(json_object_get(json_array_get(stmts, i),
                                             "id"));
}

static bool
contains_id(const json_t *stmts, const char *id)
{
    for (size_t i = 0; i < json_array_size(stmts); i++) {
        const char *got = id_at(stmts, i);

        ck_assert_msg(got != NULL, "a returned statement has no id");
        if (strcmp(got, id) == 0)
            return true;
    }
    return false;
}

/* Asserts stmts holds exactly the given ids (any order, no repeats). */
static void
expect_ids(const json_t *stmts, const char *const *ids, size_t n)
{
    ck_assert_msg(json_array_size(stmts) == n,
                  "%zu statements came back, expected %zu",
                  json_array_size(stmts), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(contains_id(stmts, ids[i]), "%s is missing", ids[i]);
}

/* Frees target after running the query; returns its statements. */
static json_t *
fetch_all_free(char *target)
{
    json_t *all = fetch_all(target);

    free(target);
    return all;
}

/* The "stored" of a statement in microseconds. */
static int64_t
stored_us(const json_t *stmt)
{
    const char *text = json_string_value(json_object_get(stmt, "stored"));
    int64_t us = iso_us(text);

    ck_assert_msg(us > 0, "stored '%s' is not an ISO 8601 timestamp",
                  text ? text : "(absent)");
    return us;
}

/* ---- About -------------------------------------------------------------- */

/* Communication 2.8: no credentials and no version header needed; the
 * document lists the versions, and only "version" and "extensions". */
START_TEST(test_about_answers_without_credentials_or_version)
{
    const char *const bare[] = {"Authorization:", "X-Experience-API-Version:",
                                NULL};
    struct http_response *resp = http_request("GET", "about", bare, NULL);
    json_t *versions, *value;
    bool v103 = false, v200 = false;
    const char *key;
    size_t i;

    expect_status(resp, 200);
    ck_assert(is_json_type(resp));
    check_content_length(resp);
    ck_assert_ptr_nonnull(http_header(resp, "X-Experience-API-Version"));
    versions = json_object_get(resp->json, "version");
    ck_assert_msg(json_is_array(versions), "about: %.300s", resp->body);
    json_array_foreach(versions, i, value) {
        ck_assert(json_is_string(value));
        v103 |= strcmp(json_string_value(value), "1.0.3") == 0;
        v200 |= strcmp(json_string_value(value), "2.0.0") == 0;
    }
    ck_assert_msg(v103 && v200, "about.version lacks 1.0.3 or 2.0.0: %s",
                  resp->body);
    json_object_foreach(resp->json, key, value) {
        ck_assert_msg(strcmp(key, "version") == 0 ||
                      (strcmp(key, "extensions") == 0 &&
                       json_is_object(value)),
                      "about has a property '%s'", key);
    }
    http_response_free(resp);
}
END_TEST

START_TEST(test_about_head_has_headers_and_no_body)
{
    struct http_response *get = http_get("about");
    struct http_response *head = http_request("HEAD", "about", NULL, NULL);
    const char *cl = http_header(head, "Content-Length");

    expect_status(head, 200);
    ck_assert_uint_eq(head->body_len, 0);
    ck_assert(is_json_type(head));
    ck_assert_ptr_nonnull(http_header(head, "X-Experience-API-Version"));
    if (cl != NULL)
        ck_assert_uint_eq(strtoull(cl, NULL, 10), get->body_len);
    http_response_free(get);
    http_response_free(head);
}
END_TEST

/* An unsupported version header must not make /about fail (2.8). */
START_TEST(test_about_ignores_the_version_header)
{
    const char *const old[] = {"X-Experience-API-Version: 0.95", NULL};
    struct http_response *resp = http_request("GET", "about", old, NULL);

    expect_status(resp, 200);
    http_response_free(resp);
}
END_TEST

/* ---- Authentication ----------------------------------------------------- */

static void
expect_unauthorized(const char *const *headers)
{
    struct http_response *resp =
        http_request("GET", "statements?limit=1", headers, NULL);
    const char *challenge;

    expect_error(resp, 401);
    challenge = http_header(resp, "WWW-Authenticate");
    ck_assert_msg(has_prefix_ci(challenge, "Basic"),
                  "WWW-Authenticate '%s'", challenge ? challenge : "");
    ck_assert_msg(strstr(challenge, "realm=") != NULL,
                  "WWW-Authenticate without a realm: %s", challenge);
    http_response_free(resp);
}

START_TEST(test_no_credentials_is_401_with_basic_challenge)
{
    const char *const none[] = {"Authorization:", NULL};

    expect_unauthorized(none);
}
END_TEST

START_TEST(test_wrong_secret_is_401)
{
    char line[600];
    const char *const wrong[] = {line, NULL};
    unsigned char encoded[512];
    char pair[300];

    snprintf(pair, sizeof(pair), "%s:not-the-secret",
             getenv("LRSD_TEST_KEY"));
    EVP_EncodeBlock(encoded, (const unsigned char *)pair, (int)strlen(pair));
    snprintf(line, sizeof(line), "Authorization: Basic %s", encoded);
    expect_unauthorized(wrong);
}
END_TEST

START_TEST(test_unknown_key_is_401)
{
    /* base64 of "nobody:nothing" */
    const char *const unknown[] = {
        "Authorization: Basic bm9ib2R5Om5vdGhpbmc=", NULL};

    expect_unauthorized(unknown);
}
END_TEST

START_TEST(test_malformed_authorization_is_401)
{
    const char *const bearer[] = {"Authorization: Bearer abc.def", NULL};
    const char *const garbage[] = {"Authorization: Basic %%%not-base64",
                                   NULL};
    const char *const no_colon[] = {"Authorization: Basic bm9jb2xvbg==",
                                    NULL};

    expect_unauthorized(bearer);
    expect_unauthorized(garbage);
    expect_unauthorized(no_colon);
}
END_TEST

/* A write refused for want of credentials stores nothing. */
START_TEST(test_unauthenticated_write_stores_nothing)
{
    const char *const none[] = {"Authorization:", NULL};
    struct names n;
    char id[37], *text, *target;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    text = json_dumps(stmt, JSON_COMPACT);
    resp = http_request("POST", "statements", none, text);
    expect_error(resp, 401);
    http_response_free(resp);
    target = query("statementId", id, NULL);
    resp = http_request("PUT", target, none, text);
    expect_error(resp, 401);
    http_response_free(resp);
    expect_not_found(id);
    free(target);
    free(text);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* ---- Versioning (Communication 3.3) ------------------------------------- */

START_TEST(test_missing_version_header_is_400)
{
    const char *const none[] = {"X-Experience-API-Version:", NULL};
    struct http_response *resp =
        http_request("GET", "statements?limit=1", none, NULL);
    const char *v;

    expect_error(resp, 400);
    v = http_header(resp, "X-Experience-API-Version");
    ck_assert_msg(strcmp(v, "1.0.3") == 0 || strcmp(v, "2.0.0") == 0,
                  "X-Experience-API-Version '%s' on the 400", v);
    http_response_free(resp);
}
END_TEST

START_TEST(test_missing_version_header_stores_nothing)
{
    const char *const none[] = {"X-Experience-API-Version:", NULL};
    struct names n;
    char id[37], *text;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    text = json_dumps(stmt, JSON_COMPACT);
    resp = http_request("POST", "statements", none, text);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(id);
    free(text);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* A request without the header is answered in the version its credential
 * spoke last: the client's own dialect. */
START_TEST(test_missing_version_answers_in_the_credential_version)
{
    static const char *const spoken[] = {"2.0.0", "1.0.3", "2.0.0"};
    const char *const none[] = {"X-Experience-API-Version:", NULL};

    for (size_t i = 0; i < sizeof(spoken) / sizeof(spoken[0]); i++) {
        char line[64];
        const char *const headers[] = {line, NULL};
        struct http_response *resp;

        snprintf(line, sizeof(line), "X-Experience-API-Version: %s",
                 spoken[i]);
        resp = http_request("GET", "statements?limit=1", headers, NULL);
        expect_status(resp, 200);
        http_response_free(resp);
        resp = http_request("GET", "statements?limit=1", none, NULL);
        expect_error(resp, 400);
        ck_assert_str_eq(http_header(resp, "X-Experience-API-Version"),
                         spoken[i]);
        http_response_free(resp);
    }
}
END_TEST

START_TEST(test_unsupported_version_headers_are_400)
{
    static const char *const bad[] = {
        "0.9", "0.95", "1.1.0", "1.1", "1", "2", "2.1.0", "3.0.0",
        "latest", "",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[80];
        const char *const headers[] = {line, NULL};
        struct http_response *resp;

        /* "Name;" makes curl send the header with an empty value. */
        if (bad[i][0] == '\0')
            snprintf(line, sizeof(line), "X-Experience-API-Version;");
        else
            snprintf(line, sizeof(line), "X-Experience-API-Version: %s",
                     bad[i]);
        resp = http_request("GET", "statements?limit=1", headers, NULL);
        ck_assert_msg(resp->status == 400, "version '%s' answered %ld",
                      bad[i], resp->status);
        expect_error(resp, 400);
        http_response_free(resp);
    }
}
END_TEST

/* 1.0.x requests are answered as 1.0.3, 2.0.x ones as 2.0.0. */
START_TEST(test_response_version_follows_the_request)
{
    static const char *const versions[][2] = {
        {"1.0", "1.0.3"},   {"1.0.0", "1.0.3"}, {"1.0.1", "1.0.3"},
        {"1.0.2", "1.0.3"}, {"1.0.3", "1.0.3"}, {"1.0.9", "1.0.3"},
        {"2.0", "2.0.0"},   {"2.0.0", "2.0.0"}, {"2.0.1", "2.0.0"},
    };

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        char line[80];
        const char *const headers[] = {line, NULL};
        struct http_response *resp;

        snprintf(line, sizeof(line), "X-Experience-API-Version: %s",
                 versions[i][0]);
        resp = http_request("GET", "statements?limit=1", headers, NULL);
        ck_assert_msg(resp->status == 200, "version %s answered %ld: %.300s",
                      versions[i][0], resp->status, resp->body);
        expect_header(resp, "X-Experience-API-Version", versions[i][1]);
        ck_assert_uint_eq(http_header_count(resp,
                                            "X-Experience-API-Version"), 1);
        http_response_free(resp);
    }
}
END_TEST

/* Every answer carries the version header, errors included. */
START_TEST(test_error_responses_carry_the_version)
{
    const char *const v2[] = {"X-Experience-API-Version: 2.0.0", NULL};
    char id[37], *target;
    struct http_response *resp;

    uuid_text(id);
    target = query("statementId", id, NULL);
    resp = http_get(target);
    expect_error(resp, 404);
    expect_header(resp, "X-Experience-API-Version", "1.0.3");
    http_response_free(resp);
    resp = http_request("GET", target, v2, NULL);
    expect_error(resp, 404);
    expect_header(resp, "X-Experience-API-Version", "2.0.0");
    http_response_free(resp);
    resp = http_request("POST", "statements", v2, "{not json");
    expect_error(resp, 400);
    expect_header(resp, "X-Experience-API-Version", "2.0.0");
    http_response_free(resp);
    free(target);
}
END_TEST

/* Data 2.4.10: a statement keeps the version it came with; without one it
 * gets 1.0.0 through 1.0.x and 2.0.0 through 2.0; a 1.0.x request may not
 * carry a statement of another version. */
START_TEST(test_statement_version_property)
{
    const char *const v2[] = {"X-Experience-API-Version: 2.0.0", NULL};
    struct names n;
    char id1[37], id2[37], id3[37], *text;
    json_t *s, *got;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id1);
    uuid_text(id2);
    uuid_text(id3);
    s = names_statement(&n, id1);
    put_ok(id1, s);
    json_decref(s);
    got = get_statement(id1);
    ck_assert_str_eq(json_string_value(json_object_get(got, "version")),
                     "1.0.0");
    json_decref(got);

    s = names_statement(&n, id2);
    text = json_dumps(s, JSON_COMPACT);
    resp = http_request("POST", "statements", v2, text);
    expect_status(resp, 200);
    http_response_free(resp);
    got = get_statement(id2);
    ck_assert_str_eq(json_string_value(json_object_get(got, "version")),
                     "2.0.0");
    json_decref(got);
    free(text);
    json_decref(s);

    s = names_statement(&n, id3);
    json_object_set_new(s, "version", json_string("2.0.0"));
    resp = http_send_json("POST", "statements", s);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(id3);
    json_decref(s);
    names_free(&n);
}
END_TEST

/* ---- PUT (Communication 2.1.1) ------------------------------------------ */

/* 204 with no body; the statement then reads back with what the LRS adds:
 * stored, timestamp (= stored when absent), authority, version. */
START_TEST(test_put_stores_and_answers_204_without_body)
{
    struct names n;
    char id[37], *target;
    json_t *stmt, *got;
    struct http_response *resp;
    int64_t stored, before = now_us();

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, NULL);
    target = query("statementId", id, NULL);
    resp = http_send_json("PUT", target, stmt);
    expect_status(resp, 204);
    ck_assert_uint_eq(resp->body_len, 0);
    /* RFC 7230 3.3.2: no Content-Length in a 204. */
    ck_assert_msg(http_header(resp, "Content-Length") == NULL,
                  "204 with Content-Length %s",
                  http_header(resp, "Content-Length"));
    ck_assert_ptr_nonnull(http_header(resp, "X-Experience-API-Version"));
    http_response_free(resp);

    got = get_statement(id);
    ck_assert(json_equal(json_object_get(got, "actor"),
                         json_object_get(stmt, "actor")));
    ck_assert(json_equal(json_object_get(got, "verb"),
                         json_object_get(stmt, "verb")));
    ck_assert(json_equal(json_object_get(got, "object"),
                         json_object_get(stmt, "object")));
    stored = stored_us(got);
    ck_assert_msg(stored >= before - 5000000 && stored <= now_us() + 5000000,
                  "stored is not the time of storing");
    ck_assert_msg(iso_us(json_string_value(json_object_get(got,
                  "timestamp"))) == stored,
                  "timestamp is not set to stored when absent");
    ck_assert(json_is_object(json_object_get(got, "authority")));
    ck_assert_str_eq(json_string_value(json_object_get(got, "version")),
                     "1.0.0");
    json_decref(got);
    json_decref(stmt);
    free(target);
    names_free(&n);
}
END_TEST

/* Checked on the wire: RFC 7230 forbids a body and Content-Length on 204,
 * and curl would not tell us about stray bytes. */
START_TEST(test_put_204_has_nothing_after_the_headers)
{
    struct names n;
    char id[37], *body, *request, *raw, *end;
    json_t *stmt;
    size_t len;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    body = json_dumps(stmt, JSON_COMPACT);
    request = strf("PUT %s/statements?statementId=%s HTTP/1.1\r\n"
                   "Host: lrsd.test\r\n%s\r\n"
                   "X-Experience-API-Version: 1.0.3\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   base_path(), id, http_auth_line(), strlen(body), body);
    raw = http_raw_exchange(request, &len);
    ck_assert_ptr_nonnull(raw);
    ck_assert_msg(strncmp(raw, "HTTP/1.1 204", 12) == 0, "answer: %.300s",
                  raw);
    end = strstr(raw, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    ck_assert_msg(end + 4 == raw + len, "%zu bytes follow the headers",
                  (size_t)(raw + len - end - 4));
    *end = '\0';
    ck_assert_msg(strcasestr(raw, "\r\nContent-Length:") == NULL,
                  "Content-Length in a 204: %s", raw);
    free(raw);
    free(request);
    free(body);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_put_without_statement_id_is_400)
{
    struct names n;
    char id[37];
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    resp = http_send_json("PUT", "statements", stmt);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(id);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_put_with_id_differing_from_statement_id_is_400)
{
    struct names n;
    char id[37], other[37], *target;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    uuid_text(other);
    stmt = names_statement(&n, other);
    target = query("statementId", id, NULL);
    resp = http_send_json("PUT", target, stmt);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(id);
    expect_not_found(other);
    free(target);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_put_with_malformed_statement_id_is_400)
{
    struct names n;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    stmt = names_statement(&n, NULL);
    resp = http_send_json("PUT", "statements?statementId=not-a-uuid", stmt);
    expect_error(resp, 400);
    http_response_free(resp);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* An id already stored with the same statement: 204 and no change. */
START_TEST(test_put_same_statement_again_is_204_and_changes_nothing)
{
    struct names n;
    char id[37];
    json_t *stmt, *first, *second;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    first = get_statement(id);
    sleep_ms(20);
    put_ok(id, stmt);
    second = get_statement(id);
    ck_assert_msg(json_equal(first, second),
                  "the statement changed on the second PUT");
    json_decref(first);
    json_decref(second);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Same id, different statement: 409, and the first one stays. */
START_TEST(test_put_conflicting_statement_is_409_and_keeps_the_first)
{
    struct names n;
    char id[37], *target, *other_verb = unique_iri("verb");
    json_t *stmt, *changed, *got;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    changed = statement_new(id, n.mbox, other_verb, n.activity);
    target = query("statementId", id, NULL);
    resp = http_send_json("PUT", target, changed);
    expect_error(resp, 409);
    http_response_free(resp);
    got = get_statement(id);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "verb"), "id")), n.verb);
    json_decref(got);
    json_decref(changed);
    json_decref(stmt);
    free(target);
    free(other_verb);
    names_free(&n);
}
END_TEST

/* ---- POST (Communication 2.1.2) ----------------------------------------- */

START_TEST(test_post_single_statement_returns_its_new_id)
{
    struct names n;
    json_t *got;
    char *id;

    names_init(&n);
    id = post_one(names_statement(&n, NULL));
    got = get_statement(id);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "verb"), "id")), n.verb);
    json_decref(got);
    free(id);
    names_free(&n);
}
END_TEST

/* The answer lists the ids in the order of the statements, given or
 * assigned, and every statement is stored. */
START_TEST(test_post_batch_returns_ids_in_order)
{
    struct names n;
    char first[37], third[37];
    json_t *batch, *ids, *got;

    names_init(&n);
    uuid_text(first);
    uuid_text(third);
    batch = json_pack("[o, o, o]", names_statement(&n, first),
                      names_statement(&n, NULL), names_statement(&n, third));
    json_object_set_new(json_object_get(json_array_get(batch, 1), "verb"),
                        "id", json_string(TEST_IRI "/verb/middle"));
    ids = post_ok(batch);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), first);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 2)), third);
    ck_assert_str_ne(json_string_value(json_array_get(ids, 1)), first);
    ck_assert_str_ne(json_string_value(json_array_get(ids, 1)), third);
    got = get_statement(json_string_value(json_array_get(ids, 1)));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "verb"), "id")),
                     TEST_IRI "/verb/middle");
    json_decref(got);
    json_decref(get_statement(first));
    json_decref(get_statement(third));
    json_decref(ids);
    json_decref(batch);
    names_free(&n);
}
END_TEST

/* Communication 2.1.2: same id and same statement must not change
 * anything; lrsd answers it like a first POST. */
START_TEST(test_post_same_statement_again_changes_nothing)
{
    struct names n;
    char id[37];
    json_t *stmt, *first, *second;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_decref(post_ok(stmt));
    first = get_statement(id);
    sleep_ms(20);
    resp = http_send_json("POST", "statements", stmt);
    ck_assert_msg(resp->status == 200 || resp->status == 204,
                  "second POST answered %ld: %.300s", resp->status,
                  resp->body);
    if (resp->status == 200)
        ck_assert_str_eq(json_string_value(json_array_get(resp->json, 0)),
                         id);
    http_response_free(resp);
    second = get_statement(id);
    ck_assert_msg(json_equal(first, second),
                  "the statement changed on the second POST");
    json_decref(first);
    json_decref(second);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Comparison ignores what the LRS sets (stored, authority) and the
 * serialisation of timestamps: the same statement sent again with them is
 * still the same statement. */
START_TEST(test_post_same_statement_with_lrs_properties_is_no_conflict)
{
    struct names n;
    char id[37];
    json_t *stmt, *again;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "timestamp",
                        json_string("2024-03-01T10:00:00.000Z"));
    json_decref(post_ok(stmt));
    again = get_statement(id);
    json_object_set_new(again, "timestamp",
                        json_string("2024-03-01T12:00:00+02:00"));
    resp = http_send_json("POST", "statements", again);
    ck_assert_msg(resp->status == 200 || resp->status == 204,
                  "re-sending the stored statement answered %ld: %.300s",
                  resp->status, resp->body);
    http_response_free(resp);
    json_decref(again);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_post_conflicting_statement_is_409_and_keeps_the_first)
{
    struct names n;
    char id[37], *other = unique_iri("activity");
    json_t *stmt, *changed, *got;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_decref(post_ok(stmt));
    changed = statement_new(id, n.mbox, n.verb, other);
    resp = http_send_json("POST", "statements", changed);
    expect_error(resp, 409);
    http_response_free(resp);
    got = get_statement(id);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "object"), "id")), n.activity);
    json_decref(got);
    json_decref(changed);
    json_decref(stmt);
    free(other);
    names_free(&n);
}
END_TEST

/* Communication 3.2: a batch is rejected whole when one statement is;
 * the message names the offending statement's field. */
START_TEST(test_post_batch_with_an_invalid_statement_stores_none)
{
    struct names n;
    char a[37], b[37], c[37];
    json_t *batch;
    struct http_response *resp;

    names_init(&n);
    uuid_text(a);
    uuid_text(b);
    uuid_text(c);
    batch = json_pack("[o, o, o]", names_statement(&n, a),
                      names_statement(&n, b), names_statement(&n, c));
    json_object_set_new(json_object_get(json_array_get(batch, 1), "actor"),
                        "mbox", json_string("foo@bar"));
    resp = http_send_json("POST", "statements", batch);
    expect_message_has(resp, 400, "statements[1].actor.mbox");
    http_response_free(resp);
    expect_not_found(a);
    expect_not_found(b);
    expect_not_found(c);
    json_decref(batch);
    names_free(&n);
}
END_TEST

START_TEST(test_post_batch_with_a_conflicting_statement_stores_none)
{
    struct names n;
    char a[37], b[37], c[37], *other = unique_iri("verb");
    json_t *batch;
    struct http_response *resp;

    names_init(&n);
    uuid_text(a);
    uuid_text(b);
    uuid_text(c);
    free(post_one(names_statement(&n, b)));
    batch = json_pack("[o, o, o]", names_statement(&n, a),
                      statement_new(b, n.mbox, other, n.activity),
                      names_statement(&n, c));
    resp = http_send_json("POST", "statements", batch);
    expect_error(resp, 409);
    http_response_free(resp);
    expect_not_found(a);
    expect_not_found(c);
    json_decref(batch);
    free(other);
    names_free(&n);
}
END_TEST

START_TEST(test_post_batch_using_an_id_twice_is_400)
{
    struct names n;
    char id[37];
    json_t *batch;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    batch = json_pack("[o, o]", names_statement(&n, id),
                      names_statement(&n, id));
    resp = http_send_json("POST", "statements", batch);
    expect_message_has(resp, 400, "statements[1].id");
    http_response_free(resp);
    expect_not_found(id);
    json_decref(batch);
    names_free(&n);
}
END_TEST

/* A large batch is checked in parallel slices; the error is still the
 * first invalid statement's, whichever slice it is in, and a batch whose
 * only fault is late in the array stores nothing either. */
START_TEST(test_large_batch_error_names_the_first_invalid_statement)
{
    enum { N = 80 };
    const int bad[][2] = {{61, -1}, {70, 9}, {40, 39}};
    struct names n;
    char ids[N][37];
    struct http_response *resp;

    names_init(&n);
    for (size_t t = 0; t < sizeof(bad) / sizeof(bad[0]); t++) {
        json_t *batch = json_array();
        char want[64];
        int first = bad[t][1] >= 0 && bad[t][1] < bad[t][0] ? bad[t][1]
                                                             : bad[t][0];

        for (int i = 0; i < N; i++) {
            uuid_text(ids[i]);
            json_array_append_new(batch, names_statement(&n, ids[i]));
        }
        for (int k = 0; k < 2; k++) {
            if (bad[t][k] < 0)
                continue;
            json_object_set_new(
                json_object_get(json_array_get(batch, (size_t)bad[t][k]),
                                "actor"),
                "mbox", json_string("not-a-mailto"));
        }
        snprintf(want, sizeof(want), "statements[%d].actor.mbox", first);
        resp = http_send_json("POST", "statements", batch);
        expect_message_has(resp, 400, want);
        http_response_free(resp);
        expect_not_found(ids[0]);
        expect_not_found(ids[N - 1]);
        json_decref(batch);
    }
    names_free(&n);
}
END_TEST

/* A valid large batch: every statement stored, ids answered in order. */
START_TEST(test_large_batch_is_stored_in_order)
{
    enum { N = 90 };
    struct names n;
    char ids[N][37];
    json_t *batch = json_array();
    struct http_response *resp;

    names_init(&n);
    for (int i = 0; i < N; i++) {
        uuid_text(ids[i]);
        json_array_append_new(batch, names_statement(&n, ids[i]));
    }
    resp = http_send_json("POST", "statements", batch);
    expect_status(resp, 200);
    ck_assert_uint_eq(json_array_size(resp->json), N);
    for (int i = 0; i < N; i++)
        ck_assert_str_eq(json_string_value(json_array_get(resp->json,
                                                          (size_t)i)),
                         ids[i]);
    http_response_free(resp);
    for (int i = 0; i < N; i += N / 3)
        free_and_get_expect(query("statementId", ids[i], NULL), 200);
    free_and_get_expect(query("statementId", ids[N - 1], NULL), 200);
    json_decref(batch);
    names_free(&n);
}
END_TEST

/* ids a b c b a: the first statement with an id used before is [3]. */
START_TEST(test_post_batch_error_names_the_first_repeated_id)
{
    struct names n;
    char ids[3][37];
    json_t *batch;
    struct http_response *resp;

    names_init(&n);
    for (int i = 0; i < 3; i++)
        uuid_text(ids[i]);
    batch = json_pack("[o, o, o, o, o]", names_statement(&n, ids[0]),
                      names_statement(&n, ids[1]),
                      names_statement(&n, ids[2]),
                      names_statement(&n, ids[1]),
                      names_statement(&n, ids[0]));
    resp = http_send_json("POST", "statements", batch);
    expect_message_has(resp, 400, "statements[3].id");
    http_response_free(resp);
    for (int i = 0; i < 3; i++)
        expect_not_found(ids[i]);
    json_decref(batch);
    names_free(&n);
}
END_TEST

/* The error names the field with its path from the statement. */
START_TEST(test_invalid_statement_error_names_the_field)
{
    struct names n;
    char id[37], *target;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(json_object_get(stmt, "actor"), "mbox",
                        json_string("foo@bar"));
    resp = http_send_json("POST", "statements", stmt);
    expect_message_has(resp, 400, "statement.actor.mbox");
    http_response_free(resp);
    target = query("statementId", id, NULL);
    resp = http_send_json("PUT", target, stmt);
    expect_message_has(resp, 400, "statement.actor.mbox");
    http_response_free(resp);
    expect_not_found(id);
    free(target);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_malformed_json_is_400)
{
    static const char *const bodies[] = {
        "{", "[{}", "{\"actor\": }", "not json", "{\"a\":1}{\"b\":2}",
        "{\"id\":\"x\",\"id\":\"y\"}",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct http_response *resp =
            http_request("POST", "statements", NULL, bodies[i]);

        ck_assert_msg(resp->status == 400, "'%s' answered %ld", bodies[i],
                      resp->status);
        expect_error(resp, 400);
        http_response_free(resp);
    }
}
END_TEST

START_TEST(test_statement_that_is_not_an_object_is_400)
{
    static const char *const bodies[] = {
        "\"statement\"", "42", "null", "[1, 2]", "[[]]", "",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct http_response *resp =
            http_request("POST", "statements", NULL, bodies[i]);

        ck_assert_msg(resp->status == 400, "'%s' answered %ld", bodies[i],
                      resp->status);
        expect_error(resp, 400);
        http_response_free(resp);
    }
}
END_TEST

/* Communication 3.2: a body whose Content-Type is not application/json
 * (nor multipart/mixed) is refused. */
START_TEST(test_post_with_wrong_content_type_is_400)
{
    static const char *const types[] = {
        "Content-Type: multipart/form-data; boundary=x",
        "Content-Type: text/plain",
        "Content-Type:",
    };
    struct names n;
    char id[37], *text;
    json_t *stmt;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    text = json_dumps(stmt, JSON_COMPACT);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *const headers[] = {types[i], NULL};
        struct http_response *resp =
            http_request("POST", "statements", headers, text);

        ck_assert_msg(resp->status == 400, "'%s' answered %ld", types[i],
                      resp->status);
        expect_error(resp, 400);
        http_response_free(resp);
    }
    expect_not_found(id);
    free(text);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Data 2.4.8 and 2.4.9: the LRS overwrites "stored" and sets "authority"
 * from the credential, whatever the client sent. */
START_TEST(test_stored_and_authority_are_set_by_the_lrs)
{
    struct names n;
    char id[37];
    json_t *stmt, *got, *authority;
    int64_t stored;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "stored",
                        json_string("2001-01-01T00:00:00.000Z"));
    json_object_set_new(stmt, "authority",
                        agent_new("mailto:impostor@lrsd.test"));
    json_decref(post_ok(stmt));
    got = get_statement(id);
    stored = stored_us(got);
    ck_assert_msg(stored > now_us() - 600 * 1000000LL,
                  "stored kept the client's value");
    authority = json_object_get(got, "authority");
    ck_assert(json_is_object(authority));
    ck_assert_msg(json_object_get(authority, "mbox") == NULL ||
                  strcmp(json_string_value(json_object_get(authority,
                         "mbox")), "mailto:impostor@lrsd.test") != 0,
                  "authority kept the client's value");
    json_decref(got);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* A given timestamp is kept as sent (as a point in time). */
START_TEST(test_given_timestamp_is_kept)
{
    struct names n;
    char id[37];
    json_t *stmt, *got;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "timestamp",
                        json_string("2023-06-01T08:30:15.250+02:00"));
    json_decref(post_ok(stmt));
    got = get_statement(id);
    ck_assert_int_eq(iso_us(json_string_value(json_object_get(got,
                         "timestamp"))),
                     iso_us("2023-06-01T06:30:15.250Z"));
    json_decref(got);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* ---- GET one statement (Communication 2.1.3) ---------------------------- */

/* The statement itself (not a StatementResult), with the headers the
 * specification asks for: Content-Type, exact Content-Length,
 * Consistent-Through, Last-Modified = stored (to the second). */
START_TEST(test_get_by_statement_id_returns_the_statement)
{
    struct names n;
    char id[37], *target;
    json_t *stmt;
    struct http_response *resp;
    int64_t stored, modified;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "result",
                        json_pack("{s:b, s:{s:f}}", "success", 1, "score",
                                  "scaled", 0.75));
    put_ok(id, stmt);
    target = query("statementId", id, NULL);
    resp = http_get(target);
    expect_status(resp, 200);
    ck_assert(is_json_type(resp));
    check_content_length(resp);
    ck_assert_msg(json_object_get(resp->json, "statements") == NULL,
                  "a StatementResult answered a statementId lookup");
    ck_assert_str_eq(json_string_value(json_object_get(resp->json, "id")),
                     id);
    ck_assert(json_equal(json_object_get(resp->json, "result"),
                         json_object_get(stmt, "result")));
    stored = stored_us(resp->json);
    modified = http_date_s(http_header(resp, "Last-Modified"));
    ck_assert_msg(modified == stored / 1000000,
                  "Last-Modified '%s' is not stored '%s'",
                  http_header(resp, "Last-Modified"),
                  json_string_value(json_object_get(resp->json, "stored")));
    ck_assert_ptr_nonnull(http_header(resp,
                                      "X-Experience-API-Consistent-Through"));
    http_response_free(resp);
    free(target);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_get_unknown_statement_id_is_404)
{
    char id[37];

    uuid_text(id);
    expect_not_found(id);
    free_and_get_expect(query("voidedStatementId", id, NULL), 404);
}
END_TEST

START_TEST(test_get_malformed_statement_id_is_400)
{
    get_expect("statements?statementId=12345", 400);
    get_expect("statements?voidedStatementId=not-a-uuid", 400);
    get_expect("statements?statementId=", 400);
}
END_TEST

START_TEST(test_get_statement_id_with_voided_statement_id_is_400)
{
    struct names n;
    char id[37];
    json_t *stmt;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    free_and_get_expect(query("statementId", id, "voidedStatementId", id,
                              NULL), 400);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Communication 2.1.3: statementId and voidedStatementId allow only
 * "attachments" and "format" beside them. */
START_TEST(test_single_lookup_with_other_parameters_is_400)
{
    static const char *const params[] = {"statementId", "voidedStatementId"};
    struct names n;
    char id[37], voiding[37], *agent;
    json_t *stmt;

    names_init(&n);
    uuid_text(id);
    uuid_text(voiding);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    agent = strf("{\"mbox\":\"%s\"}", n.mbox);
    for (size_t i = 0; i < 2; i++) {
        const char *p = params[i];

        free_and_get_expect(query(p, id, "agent", agent, NULL), 400);
        free_and_get_expect(query(p, id, "verb", n.verb, NULL), 400);
        free_and_get_expect(query(p, id, "activity", n.activity, NULL), 400);
        free_and_get_expect(query(p, id, "registration", n.registration,
                                  NULL), 400);
        free_and_get_expect(query(p, id, "related_activities", "false",
                                  NULL), 400);
        free_and_get_expect(query(p, id, "related_agents", "false", NULL),
                            400);
        free_and_get_expect(query(p, id, "since", "2020-01-01T00:00:00Z",
                                  NULL), 400);
        free_and_get_expect(query(p, id, "until", "2099-01-01T00:00:00Z",
                                  NULL), 400);
        free_and_get_expect(query(p, id, "limit", "1", NULL), 400);
        free_and_get_expect(query(p, id, "ascending", "true", NULL), 400);
    }
    free_and_get_expect(query("statementId", id, "format", "ids", NULL), 200);
    free_and_get_expect(query("statementId", id, "attachments", "false",
                              NULL), 200);
    free_and_get_expect(query("statementId", id, "format", "canonical",
                              "attachments", "false", NULL), 200);
    free(agent);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Communication 3.2: unknown parameters, and known ones in the wrong
 * case, are rejected. */
START_TEST(test_unknown_or_miscased_parameters_are_400)
{
    char id[37];

    uuid_text(id);
    get_expect("statements?foo=bar", 400);
    get_expect("statements?Limit=1", 400);
    get_expect("statements?LIMIT=1", 400);
    get_expect("statements?Ascending=true", 400);
    free_and_get_expect(query("StatementId", id, NULL), 400);
    free_and_get_expect(query("statementID", id, NULL), 400);
    free_and_get_expect(query("voidedStatementID", id, NULL), 400);
    get_expect("statements?related_Agents=true", 400);
}
END_TEST

/* Communication 1.1: HEAD answers as GET would, without the body. */
START_TEST(test_head_matches_get_without_body)
{
    struct names n;
    char id[37], *one, *list;
    json_t *stmt;
    struct http_response *get, *head;
    const char *cl;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    one = query("statementId", id, NULL);
    list = query("activity", n.activity, NULL);
    for (int i = 0; i < 2; i++) {
        const char *target = i == 0 ? one : list;

        get = http_get(target);
        head = http_request("HEAD", target, NULL, NULL);
        expect_status(get, 200);
        expect_status(head, 200);
        ck_assert_uint_eq(head->body_len, 0);
        ck_assert_str_eq(http_header(head, "Content-Type"),
                         http_header(get, "Content-Type"));
        ck_assert_str_eq(http_header(head, "X-Experience-API-Version"),
                         http_header(get, "X-Experience-API-Version"));
        ck_assert_ptr_nonnull(http_header(head,
                              "X-Experience-API-Consistent-Through"));
        if (i == 0)
            ck_assert_str_eq(http_header(head, "Last-Modified"),
                             http_header(get, "Last-Modified"));
        cl = http_header(head, "Content-Length");
        if (cl != NULL && i == 0)
            ck_assert_uint_eq(strtoull(cl, NULL, 10), get->body_len);
        http_response_free(get);
        http_response_free(head);
    }
    head = http_request("HEAD", "statements?statementId="
                        "00000000-0000-4000-8000-000000000000", NULL, NULL);
    expect_status(head, 404);
    ck_assert_uint_eq(head->body_len, 0);
    http_response_free(head);
    head = http_request("HEAD", "statements?foo=bar", NULL, NULL);
    expect_status(head, 400);
    http_response_free(head);
    free(one);
    free(list);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* On the wire: no bytes after the headers of a HEAD answer. */
START_TEST(test_head_sends_no_body_bytes)
{
    struct names n;
    char id[37], *request, *raw, *end;
    json_t *stmt;
    size_t len;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    put_ok(id, stmt);
    request = strf("HEAD %s/statements?statementId=%s HTTP/1.1\r\n"
                   "Host: lrsd.test\r\n%s\r\n"
                   "X-Experience-API-Version: 1.0.3\r\n"
                   "Connection: close\r\n\r\n",
                   base_path(), id, http_auth_line());
    raw = http_raw_exchange(request, &len);
    ck_assert_ptr_nonnull(raw);
    ck_assert_msg(strncmp(raw, "HTTP/1.1 200", 12) == 0, "answer: %.300s",
                  raw);
    end = strstr(raw, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    ck_assert_msg(end + 4 == raw + len, "%zu bytes follow the headers",
                  (size_t)(raw + len - end - 4));
    free(raw);
    free(request);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* ---- Queries (Communication 2.1.3, Data 2.5) ---------------------------- */

/* Posts count statements of n one at a time, a few milliseconds apart so
 * that their "stored" differ, and returns their ids in posting order. */
static json_t *
post_series(const struct names *n, size_t count)
{
    json_t *ids = json_array();

    for (size_t i = 0; i < count; i++) {
        char *id = post_one(names_statement(n, NULL));

        json_array_append_new(ids, json_string(id));
        free(id);
        sleep_ms(3);
    }
    return ids;
}

/* Asserts stmts are exactly ids, in that order. */
static void
expect_order(const json_t *stmts, const json_t *ids)
{
    ck_assert_msg(json_array_size(stmts) == json_array_size(ids),
                  "%zu statements, expected %zu", json_array_size(stmts),
                  json_array_size(ids));
    for (size_t i = 0; i < json_array_size(ids); i++)
        ck_assert_msg(strcmp(id_at(stmts, i),
                             json_string_value(json_array_get(ids, i))) == 0,
                      "statement %zu is %s, expected %s", i, id_at(stmts, i),
                      json_string_value(json_array_get(ids, i)));
}

static json_t *
reversed(const json_t *arr)
{
    json_t *out = json_array();

    for (size_t i = json_array_size(arr); i > 0; i--)
        json_array_append(out, json_array_get(arr, i - 1));
    return out;
}

/* A StatementResult of the matching statements, newest first. */
START_TEST(test_query_returns_statement_result_newest_first)
{
    struct names n;
    json_t *ids, *rev, *stmts;
    char *target;
    struct http_response *resp;
    int64_t through;

    names_init(&n);
    ids = post_series(&n, 3);
    target = query("activity", n.activity, NULL);
    resp = http_get(target);
    check_result_page(resp);
    check_content_length(resp);
    ck_assert_str_eq(check_result_page(resp), "");
    rev = reversed(ids);
    stmts = json_object_get(resp->json, "statements");
    expect_order(stmts, rev);
    for (size_t i = 1; i < json_array_size(stmts); i++)
        ck_assert(stored_us(json_array_get(stmts, i - 1)) >=
                  stored_us(json_array_get(stmts, i)));
    through = iso_us(http_header(resp, "X-Experience-API-Consistent-Through"));
    ck_assert_msg(through > 0, "Consistent-Through '%s'",
                  http_header(resp, "X-Experience-API-Consistent-Through"));
    ck_assert_msg(llabs(through - now_us()) < 600 * 1000000LL,
                  "Consistent-Through is not a recent time");
    http_response_free(resp);
    json_decref(rev);
    json_decref(ids);
    free(target);
    names_free(&n);
}
END_TEST

START_TEST(test_query_without_match_returns_empty_statements)
{
    char *verb = unique_iri("verb");
    char *target = query("verb", verb, NULL);
    struct http_response *resp = http_get(target);

    check_result_page(resp);
    ck_assert_uint_eq(json_array_size(json_object_get(resp->json,
                                                      "statements")), 0);
    ck_assert_str_eq(check_result_page(resp), "");
    http_response_free(resp);
    free(target);
    free(verb);
}
END_TEST

START_TEST(test_verb_filter)
{
    struct names n;
    char *other = unique_iri("verb"), *a, *b;
    json_t *stmts;

    names_init(&n);
    a = post_one(names_statement(&n, NULL));
    b = post_one(statement_new(NULL, n.mbox, other, n.activity));
    stmts = fetch_all_free(query("verb", n.verb, NULL));
    expect_ids(stmts, (const char *const[]){a}, 1);
    json_decref(stmts);
    stmts = fetch_all_free(query("verb", other, NULL));
    expect_ids(stmts, (const char *const[]){b}, 1);
    json_decref(stmts);
    free(a);
    free(b);
    free(other);
    names_free(&n);
}
END_TEST

static json_t *
group_with(const char *member_mbox, const char *group_mbox)
{
    json_t *g = json_pack("{s:s, s:s, s:[o]}", "objectType", "Group", "name",
                          "Test group", "member", agent_new(member_mbox));

    if (group_mbox != NULL)
        json_object_set_new(g, "mbox", json_string(group_mbox));
    return g;
}

static json_t *
substatement_new(json_t *actor, const char *verb, json_t *object)
{
    return json_pack("{s:s, s:o, s:{s:s}, s:o}", "objectType",
                     "SubStatement", "actor", actor, "verb", "id", verb,
                     "object", object);
}

/* agent matches the actor or the object, and Groups whose members match;
 * with related_agents also instructor, team and SubStatement agents. */
START_TEST(test_agent_filter_and_related_agents)
{
    struct names n;
    char *other = unique_mbox(), *group_mbox = unique_mbox();
    char *agent, *ids[6];
    json_t *s, *stmts;

    names_init(&n);
    ids[0] = post_one(names_statement(&n, NULL));
    s = statement_new(NULL, other, n.verb, n.activity);
    json_object_set_new(s, "object", agent_new(n.mbox));
    ids[1] = post_one(s);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "actor", group_with(n.mbox, NULL));
    ids[2] = post_one(s);
    s = statement_new(NULL, other, n.verb, n.activity);
    json_object_set_new(s, "context", json_pack("{s:o}", "instructor",
                                                agent_new(n.mbox)));
    ids[3] = post_one(s);
    s = statement_new(NULL, other, n.verb, n.activity);
    json_object_set_new(s, "context", json_pack("{s:o}", "team",
                        group_with(n.mbox, group_mbox)));
    ids[4] = post_one(s);
    s = statement_new(NULL, other, n.verb, n.activity);
    json_object_set_new(s, "object", substatement_new(agent_new(n.mbox),
                        n.verb, activity_new(n.activity)));
    ids[5] = post_one(s);

    agent = strf("{\"mbox\":\"%s\"}", n.mbox);
    stmts = fetch_all_free(query("agent", agent, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("agent", agent, "related_agents", "false",
                                 NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("agent", agent, "related_agents", "true",
                                 NULL));
    expect_ids(stmts, (const char *const *)ids, 6);
    json_decref(stmts);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
    free(agent);
    free(other);
    free(group_mbox);
    names_free(&n);
}
END_TEST

/* Each inverse functional identifier identifies; name and objectType in
 * the filter do not matter. */
START_TEST(test_agent_filter_by_each_identifier)
{
    struct names n;
    char sha1[41], *openid = unique_iri("openid"), *home = unique_iri("home");
    char *ids[3], *filter;
    json_t *s, *stmts;
    uuid_t u;

    names_init(&n);
    uuid_generate_random(u);
    for (int i = 0; i < 20; i++)
        sprintf(sha1 + 2 * i, "%02x", u[i % 16] ^ i);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "actor", json_pack("{s:s}", "mbox_sha1sum",
                                              sha1));
    ids[0] = post_one(s);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "actor", json_pack("{s:s}", "openid", openid));
    ids[1] = post_one(s);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "actor", json_pack("{s:s, s:{s:s, s:s}}", "name",
                        "Account Holder", "account", "homePage", home,
                        "name", "learner-7"));
    ids[2] = post_one(s);

    filter = strf("{\"mbox_sha1sum\":\"%s\"}", sha1);
    stmts = fetch_all_free(query("agent", filter, NULL));
    expect_ids(stmts, (const char *const *)ids, 1);
    json_decref(stmts);
    free(filter);
    filter = strf("{\"objectType\":\"Agent\",\"openid\":\"%s\"}", openid);
    stmts = fetch_all_free(query("agent", filter, NULL));
    expect_ids(stmts, (const char *const *)ids + 1, 1);
    json_decref(stmts);
    free(filter);
    filter = strf("{\"name\":\"Someone Else\",\"account\":{\"homePage\":"
                  "\"%s\",\"name\":\"learner-7\"}}", home);
    stmts = fetch_all_free(query("agent", filter, NULL));
    expect_ids(stmts, (const char *const *)ids + 2, 1);
    json_decref(stmts);
    free(filter);
    filter = strf("{\"account\":{\"homePage\":\"%s\",\"name\":\"learner-8\"}}",
                  home);
    stmts = fetch_all_free(query("agent", filter, NULL));
    ck_assert_uint_eq(json_array_size(stmts), 0);
    json_decref(stmts);
    free(filter);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(openid);
    free(home);
    names_free(&n);
}
END_TEST

START_TEST(test_invalid_agent_filter_is_400)
{
    static const char *const bad[] = {
        "not json", "{\"name\":\"No Identifier\"}", "{\"mbox\":\"foo@bar\"}",
        "{\"mbox\":\"mailto:a@lrsd.test\",\"openid\":\"http://lrsd.test/o\"}",
        "[\"mailto:a@lrsd.test\"]", "{\"objectType\":\"Activity\","
        "\"id\":\"http://lrsd.test/a\"}", "",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        free_and_get_expect(query("agent", bad[i], NULL), 400);
}
END_TEST

static json_t *
context_with(const char *kind, const char *activity)
{
    return json_pack("{s:{s:[o]}}", "contextActivities", kind,
                     activity_new(activity));
}

/* activity matches the object only; related_activities also context
 * activities and SubStatement activities. */
START_TEST(test_activity_filter_and_related_activities)
{
    static const char *const kinds[] = {"parent", "grouping", "category",
                                        "other"};
    struct names n;
    char *elsewhere = unique_iri("activity"), *ids[7];
    json_t *s, *stmts;

    names_init(&n);
    ids[0] = post_one(names_statement(&n, NULL));
    for (int i = 0; i < 4; i++) {
        s = statement_new(NULL, n.mbox, n.verb, elsewhere);
        json_object_set_new(s, "context", context_with(kinds[i],
                                                       n.activity));
        ids[1 + i] = post_one(s);
    }
    s = statement_new(NULL, n.mbox, n.verb, elsewhere);
    json_object_set_new(s, "object", substatement_new(agent_new(n.mbox),
                        n.verb, activity_new(n.activity)));
    ids[5] = post_one(s);
    s = statement_new(NULL, n.mbox, n.verb, elsewhere);
    json_object_set_new(s, "object", substatement_new(agent_new(n.mbox),
                        n.verb, activity_new(elsewhere)));
    json_object_set_new(json_object_get(s, "object"), "context",
                        context_with("parent", n.activity));
    ids[6] = post_one(s);

    stmts = fetch_all_free(query("activity", n.activity, NULL));
    expect_ids(stmts, (const char *const *)ids, 1);
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity,
                                 "related_activities", "true", NULL));
    expect_ids(stmts, (const char *const *)ids, 7);
    json_decref(stmts);
    for (int i = 0; i < 7; i++)
        free(ids[i]);
    free(elsewhere);
    names_free(&n);
}
END_TEST

START_TEST(test_registration_filter)
{
    struct names n;
    char other[37], *ids[3];
    json_t *s, *stmts;

    names_init(&n);
    uuid_text(other);
    for (int i = 0; i < 3; i++) {
        s = names_statement(&n, NULL);
        json_object_set_new(s, "context", json_pack("{s:s}", "registration",
                            i < 2 ? n.registration : other));
        ids[i] = post_one(s);
    }
    stmts = fetch_all_free(query("registration", n.registration, NULL));
    expect_ids(stmts, (const char *const *)ids, 2);
    json_decref(stmts);
    get_expect("statements?registration=not-a-uuid", 400);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    names_free(&n);
}
END_TEST

/* Filters combine: a statement must match all of them. */
START_TEST(test_filters_combine)
{
    struct names n;
    char *verb2 = unique_iri("verb"), *act2 = unique_iri("activity");
    char *other = unique_mbox(), *agent, *ids[4];
    json_t *s, *stmts;

    names_init(&n);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "context", json_pack("{s:s}", "registration",
                                                n.registration));
    ids[0] = post_one(s);
    ids[1] = post_one(statement_new(NULL, n.mbox, verb2, n.activity));
    ids[2] = post_one(statement_new(NULL, n.mbox, n.verb, act2));
    ids[3] = post_one(statement_new(NULL, other, n.verb, n.activity));
    agent = strf("{\"mbox\":\"%s\"}", n.mbox);
    stmts = fetch_all_free(query("verb", n.verb, "activity", n.activity,
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 2);
    ck_assert(contains_id(stmts, ids[0]) && contains_id(stmts, ids[3]));
    json_decref(stmts);
    stmts = fetch_all_free(query("agent", agent, "verb", n.verb, "activity",
                                 n.activity, NULL));
    expect_ids(stmts, (const char *const *)ids, 1);
    json_decref(stmts);
    stmts = fetch_all_free(query("agent", agent, "registration",
                                 n.registration, NULL));
    expect_ids(stmts, (const char *const *)ids, 1);
    json_decref(stmts);
    for (int i = 0; i < 4; i++)
        free(ids[i]);
    free(agent);
    free(verb2);
    free(act2);
    free(other);
    names_free(&n);
}
END_TEST

/* Formats microseconds as ISO 8601 with the given UTC offset (minutes). */
static char *
iso_text(int64_t us, int offset_min)
{
    time_t secs = (time_t)(us / 1000000) + offset_min * 60;
    struct tm tm;
    char date[32];

    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    if (offset_min == 0)
        return strf("%s.%06dZ", date, (int)(us % 1000000));
    return strf("%s.%06d%c%02d:%02d", date, (int)(us % 1000000),
                offset_min < 0 ? '-' : '+', abs(offset_min) / 60,
                abs(offset_min) % 60);
}

/* since is exclusive, until inclusive, both on "stored"; any offset. */
START_TEST(test_since_and_until)
{
    struct names n;
    json_t *ids, *stmts;
    int64_t t[3];
    char *ts[3], *shifted;

    names_init(&n);
    ids = post_series(&n, 3);
    for (int i = 0; i < 3; i++) {
        json_t *s = get_statement(json_string_value(json_array_get(ids, i)));

        t[i] = stored_us(s);
        ts[i] = strdup(json_string_value(json_object_get(s, "stored")));
        json_decref(s);
    }
    ck_assert_msg(t[0] < t[1] && t[1] < t[2], "stored does not increase");

    stmts = fetch_all_free(query("activity", n.activity, "since", ts[0],
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 2);
    ck_assert(!contains_id(stmts, json_string_value(json_array_get(ids, 0))));
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, "until", ts[1],
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 2);
    ck_assert(!contains_id(stmts, json_string_value(json_array_get(ids, 2))));
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, "since", ts[0],
                                 "until", ts[1], NULL));
    ck_assert_uint_eq(json_array_size(stmts), 1);
    ck_assert_str_eq(id_at(stmts, 0), json_string_value(json_array_get(ids,
                                                                       1)));
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, "since", ts[2],
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 0);
    json_decref(stmts);

    shifted = iso_text(t[0], -300);
    stmts = fetch_all_free(query("activity", n.activity, "since", shifted,
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 2);
    json_decref(stmts);
    free(shifted);
    shifted = iso_text(t[1], 120);
    stmts = fetch_all_free(query("activity", n.activity, "until", shifted,
                                 NULL));
    ck_assert_uint_eq(json_array_size(stmts), 2);
    json_decref(stmts);
    free(shifted);
    for (int i = 0; i < 3; i++)
        free(ts[i]);
    json_decref(ids);
    names_free(&n);
}
END_TEST

START_TEST(test_malformed_since_or_until_is_400)
{
    static const char *const bad[] = {"yesterday", "2024-13-45T99:00:00Z",
                                      "", "1700000000"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        free_and_get_expect(query("since", bad[i], NULL), 400);
        free_and_get_expect(query("until", bad[i], NULL), 400);
    }
}
END_TEST

/* limit pages the result; "more" continues it until it is exhausted, and
 * a "more" link is only given when more statements exist. */
START_TEST(test_limit_pages_through_more)
{
    struct names n;
    json_t *ids, *rev, *page, *all;
    char *target;
    struct http_response *resp;
    const char *more;
    int pages;

    names_init(&n);
    ids = post_series(&n, 5);
    target = query("activity", n.activity, "limit", "2", NULL);
    resp = http_get(target);
    more = check_result_page(resp);
    page = json_object_get(resp->json, "statements");
    ck_assert_uint_eq(json_array_size(page), 2);
    ck_assert_msg(more[0] == '/' && more[1] != '/',
                  "more '%s' is not an absolute path without host", more);
    http_response_free(resp);

    all = fetch_all_with(target, NULL, &pages);
    ck_assert_int_eq(pages, 3);
    rev = reversed(ids);
    expect_order(all, rev);
    json_decref(all);
    json_decref(rev);
    free(target);

    target = query("activity", n.activity, "limit", "5", NULL);
    resp = http_get(target);
    ck_assert_str_eq(check_result_page(resp), "");
    ck_assert_uint_eq(json_array_size(json_object_get(resp->json,
                                                      "statements")), 5);
    http_response_free(resp);
    free(target);
    json_decref(ids);
    names_free(&n);
}
END_TEST

START_TEST(test_limit_zero_means_the_server_maximum)
{
    struct names n;
    json_t *ids, *stmts;
    char *target;

    names_init(&n);
    ids = post_series(&n, 3);
    target = query("activity", n.activity, "limit", "0", NULL);
    stmts = fetch_page(target);
    ck_assert_uint_eq(json_array_size(stmts), 3);
    json_decref(stmts);
    free(target);
    json_decref(ids);
    names_free(&n);
}
END_TEST

START_TEST(test_invalid_limit_is_400)
{
    static const char *const bad[] = {"-1", "abc", "1.5", "", "2x", "1e3"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        free_and_get_expect(query("limit", bad[i], NULL), 400);
}
END_TEST

START_TEST(test_ascending_orders_oldest_first)
{
    struct names n;
    json_t *ids, *rev, *stmts;

    names_init(&n);
    ids = post_series(&n, 4);
    stmts = fetch_all_free(query("activity", n.activity, "ascending", "true",
                                 NULL));
    expect_order(stmts, ids);
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, "ascending",
                                 "false", NULL));
    rev = reversed(ids);
    expect_order(stmts, rev);
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, "ascending", "true",
                                 "limit", "1", NULL));
    expect_order(stmts, ids);
    json_decref(stmts);
    json_decref(rev);
    json_decref(ids);
    names_free(&n);
}
END_TEST

/* Boolean parameters take the JSON literals true and false only. */
START_TEST(test_boolean_parameters_must_be_true_or_false)
{
    static const char *const params[] = {"ascending", "related_agents",
                                         "related_activities",
                                         "attachments"};
    static const char *const bad[] = {"yes", "1", "TRUE", "False", ""};

    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
            free_and_get_expect(query(params[i], bad[j], NULL), 400);
    }
}
END_TEST

/* The "more" link keeps every parameter of the query: its filters, its
 * order and its format. */
START_TEST(test_more_keeps_the_query)
{
    struct names n;
    char *other_verb = unique_iri("verb");
    json_t *ids, *stmts, *extra;
    int pages;
    char *target;

    names_init(&n);
    ids = post_series(&n, 3);
    extra = json_pack("[o]", statement_new(NULL, n.mbox, other_verb,
                                           n.activity));
    json_decref(post_ok(extra));
    target = query("activity", n.activity, "verb", n.verb, "format", "ids",
                   "ascending", "true", "limit", "1", NULL);
    stmts = fetch_all_with(target, NULL, &pages);
    ck_assert_int_eq(pages, 3);
    expect_order(stmts, ids);
    for (size_t i = 0; i < json_array_size(stmts); i++) {
        json_t *verb = json_object_get(json_array_get(stmts, i), "verb");

        ck_assert_msg(json_object_get(verb, "display") == NULL,
                      "page %zu is not in the ids format", i + 1);
    }
    json_decref(stmts);
    json_decref(extra);
    json_decref(ids);
    free(target);
    free(other_verb);
    names_free(&n);
}
END_TEST

/* Collects a paged query while calling between(arg) after each page. Fails
 * the test when a statement comes twice. */
static json_t *
collect_pages(const char *target, void (*between)(void *), void *arg)
{
    json_t *all = json_array();
    char *next = strdup(target);
    int pages = 0;

    while (next != NULL) {
        struct http_response *resp = http_get(next);
        const char *more = check_result_page(resp);
        json_t *page = json_object_get(resp->json, "statements");

        if (pages > 0)
            ck_assert_msg(json_array_size(page) > 0,
                          "a more link led to an empty page");
        for (size_t i = 0; i < json_array_size(page); i++) {
            ck_assert_msg(!contains_id(all, id_at(page, i)),
                          "%s came twice while paging", id_at(page, i));
            json_array_append(all, json_array_get(page, i));
        }
        free(next);
        next = more[0] != '\0' ? strdup(more) : NULL;
        http_response_free(resp);
        ck_assert_int_lt(++pages, MAX_PAGES);
        if (between != NULL)
            between(arg);
    }
    return all;
}

static void
insert_two(void *arg)
{
    const struct names *n = arg;
    json_t *batch = json_pack("[o, o]", names_statement(n, NULL),
                              names_statement(n, NULL));

    json_decref(post_ok(batch));
    json_decref(batch);
}

/* Statements stored while a client pages neither push earlier ones out
 * of later pages nor bring them back twice. */
START_TEST(test_paging_with_interleaved_writes_skips_and_repeats_nothing)
{
    struct names n;
    json_t *ids, *rev, *all;
    char *target;

    names_init(&n);
    ids = post_series(&n, 7);
    rev = reversed(ids);

    target = query("activity", n.activity, "limit", "2", NULL);
    all = collect_pages(target, insert_two, &n);
    for (size_t i = 0; i < json_array_size(rev); i++)
        ck_assert_msg(contains_id(all, json_string_value(json_array_get(rev,
                      i))), "a statement was skipped (descending)");
    json_decref(all);
    free(target);

    target = query("activity", n.activity, "limit", "3", "ascending", "true",
                   NULL);
    all = collect_pages(target, insert_two, &n);
    for (size_t i = 0; i < json_array_size(ids); i++)
        ck_assert_msg(strcmp(id_at(all, i), json_string_value(
                             json_array_get(ids, i))) == 0,
                      "ascending paging lost the order at %zu", i);
    for (size_t i = 1; i < json_array_size(all); i++)
        ck_assert(stored_us(json_array_get(all, i - 1)) <=
                  stored_us(json_array_get(all, i)));
    json_decref(all);
    free(target);
    json_decref(rev);
    json_decref(ids);
    names_free(&n);
}
END_TEST

/* A client that keeps posting batches of three statements for names until
 * told to stop or until its budget is spent, so that a reader paging in
 * ascending order catches up with it in the end. */
struct writer {
    const struct names *names;
    atomic_int stop;         /* set by the reader */
    atomic_int failed;       /* a POST was not answered 200 */
    int batches;             /* posted so far */
};

#define WRITER_BUDGET 40     /* batches per round */

static void *
writer_run(void *arg)
{
    struct writer *w = arg;

    while (!atomic_load(&w->stop) && w->batches < WRITER_BUDGET) {
        json_t *batch = json_pack("[o, o, o]",
                                  names_statement(w->names, NULL),
                                  names_statement(w->names, NULL),
                                  names_statement(w->names, NULL));
        struct http_response *resp =
            http_send_json("POST", "statements", batch);

        if (resp->status != 200) {
            fprintf(stderr, "writer: POST answered %ld: %.300s\n",
                    resp->status, resp->body);
            atomic_store(&w->failed, 1);
            atomic_store(&w->stop, 1);
        }
        http_response_free(resp);
        json_decref(batch);
        w->batches++;
    }
    return NULL;
}

/* Pages through the query while the writer runs; every statement of ids
 * must come exactly once, in stored order. */
static void
page_while_writing(const struct names *n, const json_t *ids, bool ascending)
{
    struct writer w = {.names = n};
    pthread_t thread;
    char *target = query("activity", n->activity, "limit", "3", "ascending",
                         ascending ? "true" : "false", NULL);
    json_t *all;

    ck_assert_int_eq(pthread_create(&thread, NULL, writer_run, &w), 0);
    all = collect_pages(target, NULL, NULL);
    atomic_store(&w.stop, 1);
    pthread_join(thread, NULL);
    ck_assert_msg(!atomic_load(&w.failed), "the concurrent writer failed");
    for (size_t i = 0; i < json_array_size(ids); i++)
        ck_assert_msg(contains_id(all, json_string_value(
                             json_array_get(ids, i))),
                      "statement %zu was skipped (ascending=%d)", i,
                      ascending);
    for (size_t i = 1; i < json_array_size(all); i++) {
        int64_t a = stored_us(json_array_get(all, i - 1));
        int64_t b = stored_us(json_array_get(all, i));

        ck_assert_msg(ascending ? a <= b : a >= b,
                      "paging lost the order (ascending=%d)", ascending);
    }
    json_decref(all);
    free(target);
}

/* The same with another client writing all the time, so that commits land
 * in the middle of page queries. */
START_TEST(test_paging_during_concurrent_writes_skips_and_repeats_nothing)
{
    struct names n;
    json_t *ids;

    names_init(&n);
    ids = post_series(&n, 20);
    page_while_writing(&n, ids, false);
    page_while_writing(&n, ids, true);
    json_decref(ids);
    names_free(&n);
}
END_TEST

/* Communication 2.1.3, StatementRefs: a statement whose object refers to
 * a matching statement matches too, through chains of references; since
 * and until still apply to the referring statement itself; a reference in
 * context does not count. */
START_TEST(test_statement_refs_match_the_filters_of_their_target)
{
    struct names n;
    char *confirm = unique_iri("verb"), *other = unique_mbox();
    char *elsewhere = unique_iri("activity"), *agent, *ids[3], *ctx;
    json_t *s, *stmts, *target_stmt;

    names_init(&n);
    s = names_statement(&n, NULL);
    json_object_set_new(s, "context", json_pack("{s:s}", "registration",
                                                n.registration));
    ids[0] = post_one(s);
    sleep_ms(3);
    s = statement_new(NULL, other, confirm, elsewhere);
    json_object_set_new(s, "object", json_pack("{s:s, s:s}", "objectType",
                        "StatementRef", "id", ids[0]));
    ids[1] = post_one(s);
    sleep_ms(3);
    s = statement_new(NULL, other, confirm, elsewhere);
    json_object_set_new(s, "object", json_pack("{s:s, s:s}", "objectType",
                        "StatementRef", "id", ids[1]));
    ids[2] = post_one(s);
    s = statement_new(NULL, other, confirm, elsewhere);
    json_object_set_new(s, "context", json_pack("{s:{s:s, s:s}}",
                        "statement", "objectType", "StatementRef", "id",
                        ids[0]));
    ctx = post_one(s);

    agent = strf("{\"mbox\":\"%s\"}", n.mbox);
    stmts = fetch_all_free(query("agent", agent, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("activity", n.activity, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("verb", n.verb, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("registration", n.registration, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    /* With several filters the first walks the index and the others are
     * tested on each statement row: the inherited keys are there too. */
    stmts = fetch_all_free(query("verb", n.verb, "registration",
                                 n.registration, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("agent", agent, "activity", n.activity,
                                 "verb", n.verb, NULL));
    expect_ids(stmts, (const char *const *)ids, 3);
    json_decref(stmts);
    stmts = fetch_all_free(query("verb", confirm, "registration",
                                 n.registration, NULL));
    expect_ids(stmts, (const char *const *)ids + 1, 2);
    json_decref(stmts);

    target_stmt = get_statement(ids[0]);
    stmts = fetch_all_free(query("activity", n.activity, "since",
                                 json_string_value(json_object_get(
                                     target_stmt, "stored")), NULL));
    expect_ids(stmts, (const char *const *)ids + 1, 2);
    json_decref(stmts);
    json_decref(target_stmt);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(ctx);
    free(agent);
    free(confirm);
    free(other);
    free(elsewhere);
    names_free(&n);
}
END_TEST

/* ---- Voiding (Data 2.3.2, Communication 2.1.4) -------------------------- */

/* A voided statement is gone from lookups by statementId and from
 * queries, but voidedStatementId finds it; the voiding statement stays
 * visible, and matches filters through its reference. */
START_TEST(test_voided_statement_is_found_only_by_voided_statement_id)
{
    struct names n;
    char *target, *voiding, *agent, *target_q;
    json_t *got, *stmts;
    struct http_response *resp;

    names_init(&n);
    target = post_one(names_statement(&n, NULL));
    voiding = post_one(voiding_new(NULL, target));

    expect_not_found(target);
    got = get_statement_by("voidedStatementId", target);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "verb"), "id")), n.verb);
    json_decref(got);
    free_and_get_expect(query("voidedStatementId", voiding, NULL), 404);
    json_decref(get_statement(voiding));

    stmts = fetch_all_free(query("activity", n.activity, NULL));
    expect_ids(stmts, (const char *const[]){voiding}, 1);
    json_decref(stmts);
    agent = strf("{\"mbox\":\"%s\"}", n.mbox);
    stmts = fetch_all_free(query("agent", agent, NULL));
    expect_ids(stmts, (const char *const[]){voiding}, 1);
    json_decref(stmts);

    target_q = query("voidedStatementId", target, NULL);
    resp = http_request("HEAD", target_q, NULL, NULL);
    expect_status(resp, 200);
    ck_assert_uint_eq(resp->body_len, 0);
    http_response_free(resp);
    free(target_q);
    free(agent);
    free(voiding);
    free(target);
    names_free(&n);
}
END_TEST

/* A statement that voids another cannot itself be voided: lrsd refuses
 * the attempt with 400 and stores nothing of it. */
START_TEST(test_voiding_a_voiding_statement_is_400)
{
    struct names n;
    char *target, *voiding, w[37];
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(w);
    target = post_one(names_statement(&n, NULL));
    voiding = post_one(voiding_new(NULL, target));
    stmt = voiding_new(w, voiding);
    resp = http_send_json("POST", "statements", stmt);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(w);
    json_decref(get_statement(voiding));
    json_decref(get_statement_by("voidedStatementId", target));
    json_decref(stmt);
    free(voiding);
    free(target);
    names_free(&n);
}
END_TEST

/* Data 2.3.2: the target need not exist. The definition of "voided" (a
 * voiding statement refers to it) then also covers a target stored
 * later, and a statement voided in the same batch. */
START_TEST(test_voiding_applies_whenever_the_target_arrives)
{
    struct names n;
    char later[37], same_batch[37], *voiding;
    json_t *batch, *stmt;

    names_init(&n);
    uuid_text(later);
    voiding = post_one(voiding_new(NULL, later));
    json_decref(get_statement(voiding));
    stmt = names_statement(&n, later);
    put_ok(later, stmt);
    expect_not_found(later);
    json_decref(get_statement_by("voidedStatementId", later));
    json_decref(stmt);

    uuid_text(same_batch);
    batch = json_pack("[o, o]", names_statement(&n, same_batch),
                      voiding_new(NULL, same_batch));
    json_decref(post_ok(batch));
    json_decref(batch);
    expect_not_found(same_batch);
    json_decref(get_statement_by("voidedStatementId", same_batch));
    free(voiding);
    names_free(&n);
}
END_TEST

START_TEST(test_voiding_an_already_voided_statement_keeps_it_voided)
{
    struct names n;
    char *target, *voiding;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    target = post_one(names_statement(&n, NULL));
    voiding = post_one(voiding_new(NULL, target));
    stmt = voiding_new(NULL, target);
    resp = http_send_json("POST", "statements", stmt);
    ck_assert_msg(resp->status == 200 || resp->status == 400,
                  "voiding again answered %ld", resp->status);
    http_response_free(resp);
    expect_not_found(target);
    json_decref(get_statement_by("voidedStatementId", target));
    json_decref(stmt);
    free(voiding);
    free(target);
    names_free(&n);
}
END_TEST

/* ---- Formats (Communication 2.1.3 "format") ----------------------------- */

/* A statement with language maps in two languages everywhere. */
static json_t *
multilingual_statement(const struct names *n, const char *id)
{
    json_t *s = names_statement(n, id);
    char *course = strf("%s/course", n->activity);

    json_object_set_new(s, "verb", json_pack(
        "{s:s, s:{s:s, s:s}}", "id", n->verb, "display", "en-US",
        "attempted", "fr-FR", "a essayé"));
    json_object_set_new(s, "object", json_pack(
        "{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:s}}",
        "objectType", "Activity", "id", n->activity, "definition",
        "name", "en-US", "Quiz", "fr-FR", "Questionnaire",
        "description", "en-US", "A short quiz", "fr-FR", "Un questionnaire",
        "type", "http://adlnet.gov/expapi/activities/assessment"));
    json_object_set_new(s, "context", json_pack(
        "{s:o, s:{s:[{s:s, s:{s:{s:s, s:s}}}]}}",
        "instructor", json_pack("{s:s, s:s}", "name", "Ms Teacher", "mbox",
                                "mailto:teacher@lrsd.test"),
        "contextActivities", "parent", "id", course,
        "definition", "name", "en-US", "Course", "fr-FR", "Cours"));
    free(course);
    return s;
}

START_TEST(test_format_exact_returns_objects_as_sent)
{
    static const char *const parts[] = {"actor", "verb", "object",
                                        "context"};
    struct names n;
    char id[37];
    json_t *stmt;

    names_init(&n);
    uuid_text(id);
    stmt = multilingual_statement(&n, id);
    put_ok(id, stmt);
    for (int f = 0; f < 2; f++) {
        char *target = f == 0 ? query("statementId", id, NULL)
                              : query("statementId", id, "format", "exact",
                                      NULL);
        struct http_response *resp = http_get(target);

        expect_status(resp, 200);
        for (size_t i = 0; i < 4; i++)
            ck_assert_msg(json_equal(json_object_get(resp->json, parts[i]),
                                     json_object_get(stmt, parts[i])),
                          "%s differs from what was sent", parts[i]);
        http_response_free(resp);
        free(target);
    }
    json_decref(stmt);
    names_free(&n);
}
END_TEST

static void
expect_no_member(const json_t *obj, const char *key, const char *where)
{
    ck_assert_msg(json_is_object(obj), "%s is missing", where);
    ck_assert_msg(json_object_get(obj, key) == NULL,
                  "%s still has '%s' in the ids format", where, key);
}

/* format=ids keeps identifiers only: no names, displays or definitions,
 * and anonymous Group members reduced to their identifiers too. */
START_TEST(test_format_ids_keeps_identifiers_only)
{
    struct names n;
    char id[37], gid[37], *target;
    json_t *stmt, *got, *members;

    names_init(&n);
    uuid_text(id);
    uuid_text(gid);
    stmt = multilingual_statement(&n, id);
    put_ok(id, stmt);
    target = query("statementId", id, "format", "ids", NULL);
    got = get_json_ok(target);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "actor"), "mbox")), n.mbox);
    expect_no_member(json_object_get(got, "actor"), "name", "actor");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "verb"), "id")), n.verb);
    expect_no_member(json_object_get(got, "verb"), "display", "verb");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "object"), "id")), n.activity);
    expect_no_member(json_object_get(got, "object"), "definition", "object");
    expect_no_member(json_object_get(json_object_get(got, "context"),
                                     "instructor"), "name", "instructor");
    expect_no_member(json_array_get(json_object_get(json_object_get(
                         json_object_get(got, "context"),
                         "contextActivities"), "parent"), 0),
                     "definition", "parent activity");
    expect_no_member(json_object_get(got, "authority"), "name", "authority");
    json_decref(got);
    free(target);
    json_decref(stmt);

    stmt = names_statement(&n, gid);
    json_object_set_new(stmt, "actor", group_with(n.mbox, NULL));
    put_ok(gid, stmt);
    target = query("statementId", gid, "format", "ids", NULL);
    got = get_json_ok(target);
    members = json_object_get(json_object_get(got, "actor"), "member");
    ck_assert_uint_eq(json_array_size(members), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(members, 0), "mbox")), n.mbox);
    expect_no_member(json_array_get(members, 0), "name", "member");
    json_decref(got);
    free(target);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* The only key of a language map, or NULL when it has not exactly one. */
static const char *
only_language(const json_t *map)
{
    void *it = json_object_iter((json_t *)map);

    if (json_object_size(map) != 1 || it == NULL)
        return NULL;
    return json_object_iter_key(it);
}

static json_t *
get_canonical(const char *id, const char *accept_language)
{
    char line[200], *target = query("statementId", id, "format",
                                     "canonical", NULL);
    const char *const headers[] = {line, NULL};
    struct http_response *resp;
    json_t *got;

    if (accept_language != NULL)
        snprintf(line, sizeof(line), "Accept-Language: %s", accept_language);
    resp = http_request("GET", target, accept_language ? headers : NULL,
                        NULL);
    expect_status(resp, 200);
    got = json_incref(resp->json);
    http_response_free(resp);
    free(target);
    return got;
}

#define expect_language(map, lang)                                          \
    do {                                                                    \
        const char *l_ = only_language(map);                                \
        ck_assert_msg(l_ != NULL, "language map has %zu entries, not one",  \
                      json_object_size(map));                               \
        if ((lang) != NULL)                                                 \
            ck_assert_str_eq(l_, (lang));                                   \
    } while (0)

static void
expect_canonical(const char *id, const char *accept, const char *lang)
{
    json_t *got = get_canonical(id, accept);
    json_t *def = json_object_get(json_object_get(got, "object"),
                                  "definition");
    json_t *parent = json_array_get(json_object_get(json_object_get(
        json_object_get(got, "context"), "contextActivities"), "parent"), 0);

    expect_language(json_object_get(def, "name"), lang);
    expect_language(json_object_get(def, "description"), lang);
    expect_language(json_object_get(json_object_get(parent, "definition"),
                                    "name"), lang);
    expect_language(json_object_get(json_object_get(got, "verb"),
                                    "display"), lang);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(got, "actor"), "name")),
                     "Test Learner");
    json_decref(got);
}

/* format=canonical returns one language per map, chosen with the
 * request's Accept-Language as RFC 2616 14.4 describes (quality values,
 * prefix ranges), map by map; agents stay as sent. */
START_TEST(test_format_canonical_follows_accept_language)
{
    struct names n;
    char id[37];
    json_t *stmt;

    names_init(&n);
    uuid_text(id);
    stmt = multilingual_statement(&n, id);
    put_ok(id, stmt);
    expect_canonical(id, "fr-FR", "fr-FR");
    expect_canonical(id, "en-US", "en-US");
    expect_canonical(id, "de-DE;q=1.0, fr-FR;q=0.8, en-US;q=0.3", "fr-FR");
    expect_canonical(id, "en-US;q=0.2, fr-FR", "fr-FR");
    expect_canonical(id, "fr", "fr-FR");
    expect_canonical(id, "de-DE", NULL);
    expect_canonical(id, NULL, NULL);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

START_TEST(test_unknown_format_is_400)
{
    get_expect("statements?format=full", 400);
    get_expect("statements?format=IDS", 400);
    get_expect("statements?format=", 400);
}
END_TEST

/* ---- Attachments (Communication 1.5.2, Data 2.4.11) --------------------- */

#define BOUNDARY "lrsd-test-boundary-7f3a"
#define ATTACHMENT_TEXT "here is a simple attachment\n"

static json_t *
attachment_meta(const char *sha, size_t length, const char *file_url)
{
    json_t *a = json_pack("{s:s, s:{s:s}, s:s, s:I, s:s}", "usageType",
                          TEST_IRI "/attachment-usage/test", "display",
                          "en-US", "A test attachment", "contentType",
                          "text/plain", "length", (json_int_t)length,
                          "sha2", sha);

    if (file_url != NULL)
        json_object_set_new(a, "fileUrl", json_string(file_url));
    return a;
}

/* A multipart/mixed body: the statement part, then data (if not NULL)
 * with the given hash header. */
static char *
multipart_body(const json_t *stmt, const char *data, const char *hash)
{
    char *json = json_dumps(stmt, JSON_COMPACT);
    char *body;

    if (data == NULL)
        body = strf("--" BOUNDARY "\r\nContent-Type: application/json\r\n"
                    "\r\n%s\r\n--" BOUNDARY "--\r\n", json);
    else
        body = strf("--" BOUNDARY "\r\nContent-Type: application/json\r\n"
                    "\r\n%s\r\n--" BOUNDARY "\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Transfer-Encoding: binary\r\n"
                    "X-Experience-API-Hash: %s\r\n\r\n%s\r\n--" BOUNDARY
                    "--\r\n", json, hash, data);
    free(json);
    return body;
}

static struct http_response *
post_multipart(const char *body)
{
    const char *const headers[] = {
        "Content-Type: multipart/mixed; boundary=" BOUNDARY, NULL};

    return http_request("POST", "statements", headers, body);
}

/* Finds, in a multipart body, the part after the index-th delimiter:
 * its headers (up to the blank line) and its content. */
static bool
multipart_part(const char *body, const char *boundary, int index,
               char **headers, char **content)
{
    char *delim = strf("--%s", boundary);
    const char *p = body;
    const char *start, *blank, *end;

    for (int i = 0; i <= index; i++) {
        p = strstr(p, delim);
        if (p == NULL) {
            free(delim);
            return false;
        }
        p += strlen(delim);
    }
    start = p + 2;
    blank = strstr(start, "\r\n\r\n");
    end = strstr(start, delim);
    if (strncmp(p, "\r\n", 2) != 0 || blank == NULL || end == NULL ||
        blank > end) {
        free(delim);
        return false;
    }
    *headers = strndup(start, (size_t)(blank - start));
    *content = strndup(blank + 4, (size_t)(end - 2 - blank - 4));
    free(delim);
    return true;
}

static char *
boundary_of(const char *content_type)
{
    const char *b = strcasestr(content_type, "boundary=");
    size_t len;

    ck_assert_msg(b != NULL, "no boundary in '%s'", content_type);
    b += 9;
    if (*b == '"')
        return strndup(b + 1, strcspn(b + 1, "\""));
    len = strcspn(b, "; ");
    return strndup(b, len);
}

/* A statement posted with its attachment as a multipart part comes back,
 * with attachments=true, as multipart/mixed: the statement, then the
 * part with its hash; with attachments=false as JSON only. */
START_TEST(test_attachment_round_trip)
{
    struct names n;
    char id[37], *sha = sha256_hex(ATTACHMENT_TEXT, strlen(ATTACHMENT_TEXT));
    char *body, *target, *boundary, *headers, *content;
    json_t *stmt, *first;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "attachments", json_pack("[o]",
                        attachment_meta(sha, strlen(ATTACHMENT_TEXT),
                                        NULL)));
    body = multipart_body(stmt, ATTACHMENT_TEXT, sha);
    resp = post_multipart(body);
    expect_status(resp, 200);
    http_response_free(resp);

    target = query("statementId", id, "attachments", "true", NULL);
    resp = http_get(target);
    expect_status(resp, 200);
    ck_assert_msg(has_prefix_ci(http_header(resp, "Content-Type"),
                                "multipart/mixed"),
                  "attachments=true answered '%s'",
                  http_header(resp, "Content-Type"));
    boundary = boundary_of(http_header(resp, "Content-Type"));
    ck_assert(multipart_part(resp->body, boundary, 0, &headers, &content));
    ck_assert_msg(strcasestr(headers, "application/json") != NULL,
                  "first part headers: %s", headers);
    first = json_loads(content, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(first, "id")), id);
    json_decref(first);
    free(headers);
    free(content);
    ck_assert(multipart_part(resp->body, boundary, 1, &headers, &content));
    ck_assert_msg(strcasestr(headers, sha) != NULL,
                  "attachment part lacks its X-Experience-API-Hash: %s",
                  headers);
    ck_assert_msg(strcasestr(headers, "X-Experience-API-Hash") != NULL,
                  "attachment part headers: %s", headers);
    ck_assert_str_eq(content, ATTACHMENT_TEXT);
    free(headers);
    free(content);
    free(boundary);
    http_response_free(resp);
    free(target);

    target = query("statementId", id, "attachments", "false", NULL);
    resp = http_get(target);
    expect_status(resp, 200);
    ck_assert(is_json_type(resp));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
                         json_object_get(resp->json, "attachments"), 0),
                         "sha2")), sha);
    http_response_free(resp);
    free(target);
    free(body);
    json_decref(stmt);
    free(sha);
    names_free(&n);
}
END_TEST

/* Without its data part, or with data that does not hash to "sha2", a
 * statement with an attachment is refused, and nothing is stored. */
START_TEST(test_attachment_without_matching_data_is_400)
{
    struct names n;
    char id[37], *sha = sha256_hex(ATTACHMENT_TEXT, strlen(ATTACHMENT_TEXT));
    char *body;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "attachments", json_pack("[o]",
                        attachment_meta(sha, strlen(ATTACHMENT_TEXT),
                                        NULL)));
    body = multipart_body(stmt, NULL, NULL);
    resp = post_multipart(body);
    expect_error(resp, 400);
    http_response_free(resp);
    free(body);
    body = multipart_body(stmt, "different data\n", sha);
    resp = post_multipart(body);
    expect_error(resp, 400);
    http_response_free(resp);
    free(body);
    resp = http_send_json("POST", "statements", stmt);
    expect_error(resp, 400);
    http_response_free(resp);
    expect_not_found(id);
    json_decref(stmt);
    free(sha);
    names_free(&n);
}
END_TEST

/* Attachments that all have a fileUrl may come as plain JSON. */
START_TEST(test_attachment_with_file_url_needs_no_data)
{
    struct names n;
    char id[37], *sha = sha256_hex("remote", 6);
    json_t *stmt, *got;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    json_object_set_new(stmt, "attachments", json_pack("[o]",
                        attachment_meta(sha, 6, TEST_IRI "/files/remote")));
    json_decref(post_ok(stmt));
    got = get_statement(id);
    ck_assert(json_equal(json_object_get(got, "attachments"),
                         json_object_get(stmt, "attachments")));
    json_decref(got);
    json_decref(stmt);
    free(sha);
    names_free(&n);
}
END_TEST

/* ---- Headers ------------------------------------------------------------ */

static void
expect_consistent_through(const struct http_response *resp)
{
    const char *value = http_header(resp,
                                    "X-Experience-API-Consistent-Through");
    int64_t t = iso_us(value);

    ck_assert_msg(t > 0, "X-Experience-API-Consistent-Through '%s' on a %ld",
                  value ? value : "(absent)", resp->status);
    ck_assert_msg(llabs(t - now_us()) < 600 * 1000000LL,
                  "X-Experience-API-Consistent-Through %s is not recent",
                  value);
}

/* Communication 2.1.3: "on all responses to Statements Resource
 * requests", whatever the method and status. */
START_TEST(test_consistent_through_on_every_statements_response)
{
    struct names n;
    char id[37], *one, *list;
    json_t *stmt;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, id);
    one = query("statementId", id, NULL);
    list = query("activity", n.activity, NULL);

    resp = http_send_json("PUT", one, stmt);
    expect_status(resp, 204);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_send_json("POST", "statements", stmt);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_get(one);
    expect_status(resp, 200);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_get(list);
    expect_status(resp, 200);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_request("HEAD", list, NULL, NULL);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_get("statements?statementId="
                    "00000000-0000-4000-8000-000000000000");
    expect_status(resp, 404);
    expect_consistent_through(resp);
    http_response_free(resp);
    resp = http_get("statements?limit=nope");
    expect_status(resp, 400);
    expect_consistent_through(resp);
    http_response_free(resp);
    free(one);
    free(list);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* Every answer with a body says exactly how long it is. */
START_TEST(test_content_length_is_exact)
{
    static const char *const targets[] = {
        "about", "statements?limit=3", "statements?limit=nope",
        "statements?statementId=00000000-0000-4000-8000-000000000000",
    };

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        struct http_response *resp = http_get(targets[i]);

        ck_assert_msg(resp->status != 0, "no answer for %s", targets[i]);
        ck_assert(resp->body_len > 0);
        check_content_length(resp);
        ck_assert_uint_eq(http_header_count(resp, "Content-Length"), 1);
        ck_assert_uint_eq(http_header_count(resp, "Content-Type"), 1);
        http_response_free(resp);
    }
}
END_TEST

/* Statements are immutable: no DELETE; the 405 says what is allowed. */
START_TEST(test_delete_on_statements_is_405_with_allow)
{
    struct http_response *resp = http_request("DELETE", "statements", NULL,
                                              NULL);
    const char *allow;

    expect_error(resp, 405);
    allow = http_header(resp, "Allow");
    ck_assert_msg(header_lists(allow, "GET") && header_lists(allow, "PUT") &&
                  header_lists(allow, "POST") &&
                  header_lists(allow, "HEAD") &&
                  !header_lists(allow, "DELETE"),
                  "Allow: %s", allow ? allow : "(absent)");
    http_response_free(resp);
}
END_TEST

/* ---- CORS: a course in a browser on another origin ---------------------- */

#define COURSE_ORIGIN "https://courses.example.com"

static void
expect_allowed_origin(const struct http_response *resp)
{
    const char *origin = http_header(resp, "Access-Control-Allow-Origin");
    const char *creds = http_header(resp,
                                    "Access-Control-Allow-Credentials");

    ck_assert_msg(origin != NULL && (strcmp(origin, COURSE_ORIGIN) == 0 ||
                                     strcmp(origin, "*") == 0),
                  "Access-Control-Allow-Origin '%s' (status %ld)",
                  origin ? origin : "(absent)", resp->status);
    /* Browsers refuse "*" together with credentials. */
    ck_assert_msg(strcmp(origin, "*") != 0 || creds == NULL ||
                  strcmp(creds, "true") != 0,
                  "Allow-Origin * with Allow-Credentials true");
}

/* The preflight a browser sends before a cross-origin PUT or POST with
 * Authorization and X-Experience-API-Version; it carries neither. */
START_TEST(test_cors_preflight_allows_a_course_on_another_origin)
{
    static const char *const methods[] = {"PUT", "POST", "GET"};

    for (size_t i = 0; i < 3; i++) {
        char method_line[80];
        const char *const headers[] = {
            "Authorization:", "X-Experience-API-Version:",
            "Origin: " COURSE_ORIGIN, method_line,
            "Access-Control-Request-Headers: authorization,content-type,"
            "x-experience-api-version", NULL};
        struct http_response *resp;
        const char *allow_methods, *allow_headers;

        snprintf(method_line, sizeof(method_line),
                 "Access-Control-Request-Method: %s", methods[i]);
        resp = http_request("OPTIONS", "statements", headers, NULL);
        ck_assert_msg(resp->status == 200 || resp->status == 204,
                      "preflight answered %ld: %.300s", resp->status,
                      resp->body);
        expect_allowed_origin(resp);
        allow_methods = http_header(resp, "Access-Control-Allow-Methods");
        ck_assert_msg(header_lists(allow_methods, methods[i]),
                      "Access-Control-Allow-Methods '%s' lacks %s",
                      allow_methods ? allow_methods : "", methods[i]);
        allow_headers = http_header(resp, "Access-Control-Allow-Headers");
        ck_assert_msg(header_lists(allow_headers, "Authorization") &&
                      header_lists(allow_headers, "Content-Type") &&
                      header_lists(allow_headers,
                                   "X-Experience-API-Version"),
                      "Access-Control-Allow-Headers '%s'",
                      allow_headers ? allow_headers : "");
        http_response_free(resp);
    }
}
END_TEST

/* Answers, errors included, carry the CORS headers, and expose the xAPI
 * headers to the page's script. */
START_TEST(test_cors_headers_on_answers_and_errors)
{
    const char *const with_origin[] = {"Origin: " COURSE_ORIGIN, NULL};
    const char *const no_auth[] = {"Origin: " COURSE_ORIGIN,
                                   "Authorization:", NULL};
    struct http_response *resp;
    const char *exposed;

    resp = http_request("GET", "statements?limit=1", with_origin, NULL);
    expect_status(resp, 200);
    expect_allowed_origin(resp);
    exposed = http_header(resp, "Access-Control-Expose-Headers");
    ck_assert_msg(header_lists(exposed, "X-Experience-API-Version") &&
                  header_lists(exposed,
                               "X-Experience-API-Consistent-Through"),
                  "Access-Control-Expose-Headers '%s'",
                  exposed ? exposed : "(absent)");
    http_response_free(resp);
    resp = http_request("GET", "statements?limit=1", no_auth, NULL);
    expect_status(resp, 401);
    expect_allowed_origin(resp);
    http_response_free(resp);
    resp = http_request("GET", "statements?limit=nope", with_origin, NULL);
    expect_status(resp, 400);
    expect_allowed_origin(resp);
    http_response_free(resp);
    resp = http_request("GET", "about", no_auth, NULL);
    expect_status(resp, 200);
    expect_allowed_origin(resp);
    http_response_free(resp);
}
END_TEST

/* ---- Alternate request syntax (1.0.3 Communication 1.3) ----------------- */

/* "name=value&..." with values percent-encoded, NULL-terminated pairs. */
static char *
form(const char *name, ...)
{
    char *out = strdup("");
    va_list ap;

    va_start(ap, name);
    for (const char *n = name; n != NULL; n = va_arg(ap, const char *)) {
        char *value = http_escape(va_arg(ap, const char *));
        char *next = strf("%s%s%s=%s", out, out[0] ? "&" : "", n, value);

        free(value);
        free(out);
        out = next;
    }
    va_end(ap);
    return out;
}

static const char *const form_headers[] = {
    "Authorization:", "X-Experience-API-Version:",
    "Content-Type: application/x-www-form-urlencoded", NULL};

/* 1.0.3 requires it: a browser without CORS sends the method, the
 * headers and the content as form fields of a POST. */
START_TEST(test_alternate_syntax_put_and_get)
{
    struct names n;
    char id[37], *content, *body, *target;
    const char *auth = http_auth_line() + strlen("Authorization: ");
    json_t *stmt, *got;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, NULL);
    content = json_dumps(stmt, JSON_COMPACT);
    body = form("statementId", id, "content", content, "Authorization", auth,
                "X-Experience-API-Version", "1.0.3", "Content-Type",
                "application/json", NULL);
    resp = http_request("POST", "statements?method=PUT", form_headers, body);
    expect_status(resp, 204);
    http_response_free(resp);
    got = get_statement(id);
    json_decref(got);
    free(body);

    body = form("verb", n.verb, "Authorization", auth,
                "X-Experience-API-Version", "1.0.3", NULL);
    resp = http_request("POST", "statements?method=GET", form_headers, body);
    check_result_page(resp);
    ck_assert_uint_eq(json_array_size(json_object_get(resp->json,
                                                      "statements")), 1);
    ck_assert_str_eq(id_at(json_object_get(resp->json, "statements"), 0),
                     id);
    http_response_free(resp);
    free(body);

    target = strf("statements?method=GET&verb=%s", "x");
    body = form("Authorization", auth, "X-Experience-API-Version", "1.0.3",
                NULL);
    resp = http_request("POST", target, form_headers, body);
    expect_error(resp, 400);
    http_response_free(resp);
    free(body);
    free(target);
    free(content);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* A form without a Content-Type field carries JSON content. */
START_TEST(test_alternate_syntax_content_defaults_to_json)
{
    struct names n;
    char id[37], *content, *body;
    const char *auth = http_auth_line() + strlen("Authorization: ");
    json_t *stmt, *got;
    struct http_response *resp;

    names_init(&n);
    uuid_text(id);
    stmt = names_statement(&n, NULL);
    content = json_dumps(stmt, JSON_COMPACT);
    body = form("statementId", id, "content", content, "Authorization", auth,
                "X-Experience-API-Version", "1.0.3", NULL);
    resp = http_request("POST", "statements?method=PUT", form_headers, body);
    expect_status(resp, 204);
    http_response_free(resp);
    got = get_statement(id);
    ck_assert_str_eq(json_string_value(json_object_get(got, "id")), id);
    json_decref(got);
    free(body);
    free(content);
    json_decref(stmt);
    names_free(&n);
}
END_TEST

/* 2.0 removed the alternate syntax; a 2.0 request using it is refused. */
START_TEST(test_alternate_syntax_is_refused_in_2_0)
{
    const char *const v2[] = {
        "X-Experience-API-Version: 2.0.0",
        "Content-Type: application/x-www-form-urlencoded", NULL};
    struct http_response *resp =
        http_request("POST", "statements?method=GET", v2, "limit=1");

    expect_error(resp, 400);
    http_response_free(resp);
}
END_TEST

/* ---- The suite ---------------------------------------------------------- */

static void
add(Suite *s, const char *name, const TTest *const *tests, size_t n)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 300);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
}

#define ADD(suite, name, ...)                                               \
    do {                                                                    \
        const TTest *const list_[] = {__VA_ARGS__};                         \
        add((suite), (name), list_, sizeof(list_) / sizeof(list_[0]));      \
    } while (0)

static Suite *
statements_suite(void)
{
    Suite *s = suite_create("statements_api");

    ADD(s, "about", test_about_answers_without_credentials_or_version,
        test_about_head_has_headers_and_no_body,
        test_about_ignores_the_version_header);
    ADD(s, "authentication",
        test_no_credentials_is_401_with_basic_challenge,
        test_wrong_secret_is_401, test_unknown_key_is_401,
        test_malformed_authorization_is_401,
        test_unauthenticated_write_stores_nothing);
    ADD(s, "versioning", test_missing_version_header_is_400,
        test_missing_version_header_stores_nothing,
        test_missing_version_answers_in_the_credential_version,
        test_unsupported_version_headers_are_400,
        test_response_version_follows_the_request,
        test_error_responses_carry_the_version,
        test_statement_version_property);
    ADD(s, "put", test_put_stores_and_answers_204_without_body,
        test_put_204_has_nothing_after_the_headers,
        test_put_without_statement_id_is_400,
        test_put_with_id_differing_from_statement_id_is_400,
        test_put_with_malformed_statement_id_is_400,
        test_put_same_statement_again_is_204_and_changes_nothing,
        test_put_conflicting_statement_is_409_and_keeps_the_first);
    ADD(s, "post", test_post_single_statement_returns_its_new_id,
        test_post_batch_returns_ids_in_order,
        test_post_same_statement_again_changes_nothing,
        test_post_same_statement_with_lrs_properties_is_no_conflict,
        test_post_conflicting_statement_is_409_and_keeps_the_first,
        test_post_batch_with_an_invalid_statement_stores_none,
        test_post_batch_with_a_conflicting_statement_stores_none,
        test_post_batch_using_an_id_twice_is_400,
        test_post_batch_error_names_the_first_repeated_id,
        test_large_batch_error_names_the_first_invalid_statement,
        test_large_batch_is_stored_in_order,
        test_invalid_statement_error_names_the_field,
        test_malformed_json_is_400,
        test_statement_that_is_not_an_object_is_400,
        test_post_with_wrong_content_type_is_400,
        test_stored_and_authority_are_set_by_the_lrs,
        test_given_timestamp_is_kept);
    ADD(s, "get", test_get_by_statement_id_returns_the_statement,
        test_get_unknown_statement_id_is_404,
        test_get_malformed_statement_id_is_400,
        test_get_statement_id_with_voided_statement_id_is_400,
        test_single_lookup_with_other_parameters_is_400,
        test_unknown_or_miscased_parameters_are_400,
        test_head_matches_get_without_body, test_head_sends_no_body_bytes);
    ADD(s, "query", test_query_returns_statement_result_newest_first,
        test_query_without_match_returns_empty_statements, test_verb_filter,
        test_agent_filter_and_related_agents,
        test_agent_filter_by_each_identifier,
        test_invalid_agent_filter_is_400,
        test_activity_filter_and_related_activities,
        test_registration_filter, test_filters_combine, test_since_and_until,
        test_malformed_since_or_until_is_400, test_limit_pages_through_more,
        test_limit_zero_means_the_server_maximum, test_invalid_limit_is_400,
        test_ascending_orders_oldest_first,
        test_boolean_parameters_must_be_true_or_false,
        test_more_keeps_the_query,
        test_paging_with_interleaved_writes_skips_and_repeats_nothing,
        test_paging_during_concurrent_writes_skips_and_repeats_nothing,
        test_statement_refs_match_the_filters_of_their_target);
    ADD(s, "voiding",
        test_voided_statement_is_found_only_by_voided_statement_id,
        test_voiding_a_voiding_statement_is_400,
        test_voiding_applies_whenever_the_target_arrives,
        test_voiding_an_already_voided_statement_keeps_it_voided);
    ADD(s, "format", test_format_exact_returns_objects_as_sent,
        test_format_ids_keeps_identifiers_only,
        test_format_canonical_follows_accept_language,
        test_unknown_format_is_400);
    ADD(s, "attachments", test_attachment_round_trip,
        test_attachment_without_matching_data_is_400,
        test_attachment_with_file_url_needs_no_data);
    ADD(s, "headers", test_consistent_through_on_every_statements_response,
        test_content_length_is_exact,
        test_delete_on_statements_is_405_with_allow);
    ADD(s, "cors", test_cors_preflight_allows_a_course_on_another_origin,
        test_cors_headers_on_answers_and_errors);
    ADD(s, "alternate_syntax", test_alternate_syntax_put_and_get,
        test_alternate_syntax_content_defaults_to_json,
        test_alternate_syntax_is_refused_in_2_0);
    return s;
}

int
main(void)
{
    SRunner *runner;
    int failed;

    if (http_client_init() < 0)
        return EXIT_FAILURE;
    runner = srunner_create(statements_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    http_client_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
