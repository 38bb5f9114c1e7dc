/* Unit tests for xapi/statement: completion, columns, index keys, and the
 * splicing of "stored" on the way out. */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/formats.h"
#include "xapi/statement.h"

#define ACTOR_MBOX                                                           \
    "{\"objectType\":\"Agent\",\"mbox\":\"mailto:xapi@adlnet.gov\"}"
#define VERB_ATTENDED                                                        \
    "{\"id\":\"http://adlnet.gov/expapi/verbs/attended\","                   \
    "\"display\":{\"en-US\":\"attended\"}}"
#define OBJECT_ACTIVITY                                                      \
    "{\"objectType\":\"Activity\",\"id\":\"http://example.com/act\"}"
#define AUTHORITY                                                            \
    "{\"objectType\":\"Agent\",\"account\":{\"homePage\":"                   \
    "\"http://lrs.example.com\",\"name\":\"key1\"}}"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static json_t *
load(const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, JSON_DECODE_ANY, &error);

    ck_assert_msg(json != NULL, "bad test JSON: %s", error.text);
    return json;
}

/* Builds a row from text with the standard authority; returns the
 * completed statement (the caller decrefs it). */
static json_t *
build(const char *text, enum xapi_version v, struct xapi_row *row)
{
    json_t *stmt = load(text);
    json_t *authority = load(AUTHORITY);
    struct lrs_error err = {0};

    ck_assert_msg(xapi_row_build(stmt, authority, v, row, &err) == 0,
                  "row_build failed: %d %s", err.status, err.message);
    json_decref(authority);
    return stmt;
}

static json_t *
body_json(const struct xapi_row *row)
{
    ck_assert_uint_eq(strlen(row->body), row->body_len);
    return load(row->body);
}

static bool
row_has_key(const struct xapi_row *row, enum xapi_index_kind kind,
            const char *value)
{
    unsigned char digest[XAPI_KEY_DIGEST_LEN];

    ck_assert_int_eq(xapi_key_digest(kind, value, digest), 0);
    for (size_t i = 0; i < row->nkeys; i++) {
        if (row->keys[i].kind == kind &&
            memcmp(row->keys[i].digest, digest, sizeof(digest)) == 0)
            return true;
    }
    return false;
}

static size_t
row_count_kind(const struct xapi_row *row, enum xapi_index_kind kind)
{
    size_t count = 0;

    for (size_t i = 0; i < row->nkeys; i++)
        count += row->keys[i].kind == kind;
    return count;
}

/* Asserts that the keys of one kind are exactly the given values. */
static void
assert_kind_keys(const struct xapi_row *row, enum xapi_index_kind kind,
                 const char *const values[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(row_has_key(row, kind, values[i]),
                      "kind %d lacks key %s", kind, values[i]);
    ck_assert_uint_eq(row_count_kind(row, kind), n);
}

#define ASSERT_KEYS(row, kind, ...)                                          \
    do {                                                                     \
        static const char *const expected_[] = {__VA_ARGS__};               \
        assert_kind_keys((row), (kind), expected_,                           \
                         sizeof(expected_) / sizeof(expected_[0]));          \
    } while (0)

static const char *
member_string(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* ------------------------------------------------------------------------
 * Completion
 * ------------------------------------------------------------------------ */

START_TEST(test_row_build_generates_lowercase_uuid_without_id)
{
    const char *text = "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                       ",\"object\":" OBJECT_ACTIVITY "}";
    struct xapi_row a;
    struct xapi_row b;
    json_t *sa = build(text, XAPI_V1_0, &a);
    json_t *sb = build(text, XAPI_V1_0, &b);
    json_t *body = body_json(&a);

    ck_assert(xapi_is_uuid(a.id));
    for (const char *c = a.id; *c != '\0'; c++)
        ck_assert(!isupper((unsigned char)*c));
    ck_assert_str_eq(member_string(body, "id"), a.id);
    ck_assert_str_eq(member_string(sa, "id"), a.id);
    ck_assert_str_ne(a.id, b.id);
    json_decref(body);
    json_decref(sa);
    json_decref(sb);
    xapi_row_free(&a);
    xapi_row_free(&b);
}
END_TEST

START_TEST(test_row_build_lowercases_a_given_id)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"id\":\"7CCD3322-E1A5-411A-A67D-6A735C76F119\",\"actor\":"
        ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY "}", XAPI_V1_0, &row);
    json_t *body = body_json(&row);

    ck_assert_str_eq(row.id, "7ccd3322-e1a5-411a-a67d-6a735c76f119");
    ck_assert_str_eq(member_string(body, "id"), row.id);
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_replaces_a_submitted_authority)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"authority\":{\"objectType\":\"Agent\","
        "\"mbox\":\"mailto:forged@example.com\"}}", XAPI_V1_0, &row);
    json_t *body = body_json(&row);
    json_t *expected = load(AUTHORITY);

    ck_assert(json_equal(json_object_get(body, "authority"), expected));
    ck_assert_ptr_null(strstr(row.body, "forged@example.com"));
    ck_assert(!row_has_key(&row, XAPI_KEY_AGENT_RELATED,
                           "mbox:mailto:forged@example.com"));
    ck_assert(row_has_key(&row, XAPI_KEY_AGENT_RELATED,
                          "account:http://lrs.example.com key1"));
    json_decref(expected);
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_null_authority_keeps_statements_own)
{
    json_t *stmt = load("{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                        ",\"object\":" OBJECT_ACTIVITY ",\"authority\":"
                        AUTHORITY "}");
    struct lrs_error err = {0};
    struct xapi_row row;
    json_t *body;
    json_t *expected = load(AUTHORITY);

    ck_assert_int_eq(xapi_row_build(stmt, NULL, XAPI_V1_0, &row, &err), 0);
    body = body_json(&row);
    ck_assert(json_equal(json_object_get(body, "authority"), expected));
    json_decref(expected);
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_sets_version_by_request_when_absent)
{
    const char *text = "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                       ",\"object\":" OBJECT_ACTIVITY "}";
    struct xapi_row r1;
    struct xapi_row r2;
    json_t *s1 = build(text, XAPI_V1_0, &r1);
    json_t *s2 = build(text, XAPI_V2_0, &r2);
    json_t *b1 = body_json(&r1);
    json_t *b2 = body_json(&r2);

    ck_assert_str_eq(member_string(b1, "version"), "1.0.0");
    ck_assert_str_eq(member_string(b2, "version"), "2.0.0");
    json_decref(b1);
    json_decref(b2);
    json_decref(s1);
    json_decref(s2);
    xapi_row_free(&r1);
    xapi_row_free(&r2);
}
END_TEST

START_TEST(test_row_build_keeps_a_submitted_version)
{
    struct xapi_row row;
    json_t *stmt = build("{\"version\":\"1.0.3\",\"actor\":" ACTOR_MBOX
                         ",\"verb\":" VERB_ATTENDED ",\"object\":"
                         OBJECT_ACTIVITY "}", XAPI_V2_0, &row);
    json_t *body = body_json(&row);

    ck_assert_str_eq(member_string(body, "version"), "1.0.3");
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_wraps_single_context_activities)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ","
        "\"object\":{\"objectType\":\"SubStatement\",\"actor\":" ACTOR_MBOX
        ",\"verb\":" VERB_ATTENDED ",\"object\":" OBJECT_ACTIVITY ","
        "\"context\":{\"contextActivities\":{\"other\":"
        "{\"id\":\"http://example.com/sub-other\"}}}},"
        "\"context\":{\"contextActivities\":{"
        "\"parent\":{\"id\":\"http://example.com/parent\"},"
        "\"grouping\":[{\"id\":\"http://example.com/g1\"},"
        "{\"id\":\"http://example.com/g2\"}]}}}", XAPI_V1_0, &row);
    json_t *body = body_json(&row);
    json_t *ca = json_object_get(json_object_get(body, "context"),
                                 "contextActivities");
    json_t *sub_ca = json_object_get(
        json_object_get(json_object_get(body, "object"), "context"),
        "contextActivities");
    json_t *parent = json_object_get(ca, "parent");

    ck_assert(json_is_array(parent));
    ck_assert_uint_eq(json_array_size(parent), 1);
    ck_assert_str_eq(member_string(json_array_get(parent, 0), "id"),
                     "http://example.com/parent");
    ck_assert_uint_eq(json_array_size(json_object_get(ca, "grouping")), 2);
    ck_assert(json_is_array(json_object_get(sub_ca, "other")));
    ck_assert_uint_eq(json_array_size(json_object_get(sub_ca, "other")), 1);
    ck_assert_uint_eq(row.nparents, 1);
    ck_assert_str_eq(row.parents[0], "http://example.com/parent");
    ck_assert_uint_eq(row.ngroupings, 2);
    ck_assert_str_eq(row.groupings[0], "http://example.com/g1");
    ck_assert_str_eq(row.groupings[1], "http://example.com/g2");
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_body_has_no_stored_nor_added_timestamp)
{
    struct xapi_row row;
    json_t *stmt = build("{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                         ",\"object\":" OBJECT_ACTIVITY ","
                         "\"stored\":\"2013-05-18T05:32:34.804Z\"}",
                         XAPI_V1_0, &row);
    json_t *body = body_json(&row);

    ck_assert_ptr_null(json_object_get(body, "stored"));
    ck_assert_ptr_null(json_object_get(body, "timestamp"));
    ck_assert(!row.has_timestamp);
    ck_assert_int_eq(row.timestamp_us, 0);
    /* Compact: no whitespace between tokens. */
    ck_assert_ptr_null(strstr(row.body, ", "));
    ck_assert_ptr_null(strstr(row.body, "\": "));
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_build_reads_timestamp_as_epoch_microseconds)
{
    struct xapi_row row;
    json_t *stmt = build("{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                         ",\"object\":" OBJECT_ACTIVITY ","
                         "\"timestamp\":\"2015-11-18T12:17:00.123456+01:00\"}",
                         XAPI_V1_0, &row);
    json_t *body = body_json(&row);

    ck_assert(row.has_timestamp);
    ck_assert_int_eq(row.timestamp_us, 1447845420123456LL);
    /* The body keeps the timestamp exactly as it was sent. */
    ck_assert_str_eq(member_string(body, "timestamp"),
                     "2015-11-18T12:17:00.123456+01:00");
    json_decref(body);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

/* jansson allocations fail once this many have succeeded; -1: never. */
static long jansson_allocations_left = -1;

static void *
failing_malloc(size_t size)
{
    if (jansson_allocations_left == 0)
        return NULL;
    if (jansson_allocations_left > 0)
        jansson_allocations_left--;
    return malloc(size);
}

START_TEST(test_row_build_fails_cleanly_when_memory_runs_out)
{
    const char *text =
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ","
        "\"object\":{\"objectType\":\"SubStatement\",\"actor\":" ACTOR_MBOX
        ",\"verb\":" VERB_ATTENDED ",\"object\":" OBJECT_ACTIVITY ","
        "\"context\":{\"contextActivities\":{\"other\":"
        "{\"id\":\"http://example.com/o\"}}}},\"context\":{"
        "\"contextActivities\":{\"parent\":{\"id\":\"http://example.com/p\"}}"
        "}}";
    bool succeeded = false;
    int failures = 0;

    json_set_alloc_funcs(failing_malloc, free);
    for (long budget = 0; budget < 200 && !succeeded; budget++) {
        json_t *stmt = load(text);
        json_t *authority = load(AUTHORITY);
        struct lrs_error err = {0};
        struct xapi_row row;
        int rc;

        jansson_allocations_left = budget;
        rc = xapi_row_build(stmt, authority, XAPI_V1_0, &row, &err);
        jansson_allocations_left = -1;
        if (rc == 0) {
            succeeded = true;
            xapi_row_free(&row);
        } else {
            failures++;
            ck_assert_int_eq(err.status, 500);
            ck_assert_ptr_null(row.body);
            ck_assert_ptr_null(row.keys);
        }
        json_decref(stmt);
        json_decref(authority);
    }
    json_set_alloc_funcs(malloc, free);
    ck_assert(succeeded);
    /* Completion allocates (id, version, authority, arrays, the body), so
     * the early budgets must have failed. */
    ck_assert_int_ge(failures, 5);
}
END_TEST

/* ------------------------------------------------------------------------
 * Columns
 * ------------------------------------------------------------------------ */

START_TEST(test_row_columns_for_an_activity_statement)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ","
        "\"object\":{\"id\":\"http://example.com/act\"},"
        "\"context\":{\"registration\":"
        "\"EC531277-B57B-4C15-8D91-D292C5B2B8F7\"}}", XAPI_V1_0, &row);

    ck_assert_str_eq(row.actor_key, "mbox:mailto:xapi@adlnet.gov");
    ck_assert_str_eq(row.verb_id, "http://adlnet.gov/expapi/verbs/attended");
    ck_assert_str_eq(row.object_type, "Activity");
    ck_assert_str_eq(row.object_id, "http://example.com/act");
    ck_assert_str_eq(row.registration,
                     "ec531277-b57b-4c15-8d91-d292c5b2b8f7");
    ck_assert_str_eq(row.voids, "");
    ck_assert_str_eq(row.ref_target, "");
    ck_assert_uint_eq(row.nparents, 0);
    ck_assert_uint_eq(row.ngroupings, 0);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_columns_for_a_voiding_statement)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":{\"id\":"
        "\"http://adlnet.gov/expapi/verbs/voided\"},\"object\":{"
        "\"objectType\":\"StatementRef\","
        "\"id\":\"E05AA883-ACAF-40AD-BF54-02C8CE485FB0\"}}", XAPI_V1_0, &row);

    ck_assert_str_eq(row.object_type, "StatementRef");
    ck_assert_str_eq(row.voids, "e05aa883-acaf-40ad-bf54-02c8ce485fb0");
    ck_assert_str_eq(row.ref_target, "e05aa883-acaf-40ad-bf54-02c8ce485fb0");
    ck_assert_str_eq(row.object_id, "e05aa883-acaf-40ad-bf54-02c8ce485fb0");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_columns_other_verb_on_statement_ref_no_void)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":{"
        "\"objectType\":\"StatementRef\","
        "\"id\":\"e05aa883-acaf-40ad-bf54-02c8ce485fb0\"}}", XAPI_V1_0, &row);

    ck_assert_str_eq(row.voids, "");
    ck_assert_str_eq(row.ref_target, "e05aa883-acaf-40ad-bf54-02c8ce485fb0");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_columns_voided_verb_on_activity_no_void)
{
    struct xapi_row row;
    json_t *stmt = build("{\"actor\":" ACTOR_MBOX ",\"verb\":{\"id\":"
                         "\"http://adlnet.gov/expapi/verbs/voided\"},"
                         "\"object\":" OBJECT_ACTIVITY "}", XAPI_V1_0, &row);

    ck_assert_str_eq(row.voids, "");
    ck_assert_str_eq(row.ref_target, "");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_row_columns_for_an_anonymous_group_object)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":{\"objectType\":\"Group\",\"member\":[" ACTOR_MBOX "]},"
        "\"verb\":" VERB_ATTENDED ",\"object\":{\"objectType\":\"Group\","
        "\"member\":[{\"openid\":\"http://openid.example.com/u1\"}]}}",
        XAPI_V1_0, &row);

    ck_assert_ptr_null(row.actor_key);
    ck_assert_str_eq(row.object_type, "Group");
    ck_assert_ptr_null(row.object_id);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

/* ------------------------------------------------------------------------
 * Index keys
 * ------------------------------------------------------------------------ */

START_TEST(test_keys_of_a_simple_activity_statement)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"context\":{\"registration\":"
        "\"EC531277-B57B-4C15-8D91-D292C5B2B8F7\"}}", XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_VERB,
                "http://adlnet.gov/expapi/verbs/attended");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT_RELATED, "mbox:mailto:xapi@adlnet.gov",
                "account:http://lrs.example.com key1");
    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY, "http://example.com/act");
    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY_RELATED, "http://example.com/act");
    ASSERT_KEYS(&row, XAPI_KEY_REGISTRATION,
                "ec531277-b57b-4c15-8d91-d292c5b2b8f7");
    ck_assert_uint_eq(row.nkeys, 7);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_group_actor_matches_group_and_each_member)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":{\"objectType\":\"Group\",\"name\":\"Team\","
        "\"mbox\":\"mailto:team@example.com\",\"member\":["
        "{\"mbox_sha1sum\":\"CD35D9D5E8AC3C4B5D1E8F3A3D5E0F7C9B1A2D3E\"},"
        "{\"account\":{\"homePage\":\"http://example.com\",\"name\":\"u2\"}}"
        "]},\"verb\":" VERB_ATTENDED ",\"object\":" OBJECT_ACTIVITY "}",
        XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:team@example.com",
                "mbox_sha1sum:cd35d9d5e8ac3c4b5d1e8f3a3d5e0f7c9b1a2d3e",
                "account:http://example.com u2");
    ck_assert_str_eq(row.actor_key, "mbox:mailto:team@example.com");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_anonymous_group_matches_members_only)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":{\"objectType\":\"Group\",\"member\":[" ACTOR_MBOX ","
        "{\"openid\":\"http://openid.example.com/u1\"}]},"
        "\"verb\":" VERB_ATTENDED ",\"object\":" OBJECT_ACTIVITY "}",
        XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov",
                "openid:http://openid.example.com/u1");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_agent_object_is_agent_key_not_activity)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":{"
        "\"objectType\":\"Agent\",\"mbox\":\"mailto:Other@Example.COM\"}}",
        XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov",
                "mbox:mailto:Other@example.com");
    ck_assert_uint_eq(row_count_kind(&row, XAPI_KEY_ACTIVITY), 0);
    ck_assert_uint_eq(row_count_kind(&row, XAPI_KEY_ACTIVITY_RELATED), 0);
    ck_assert_str_eq(row.object_type, "Agent");
    ck_assert_str_eq(row.object_id, "mbox:mailto:Other@example.com");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_related_agents_cover_authority_and_context)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"context\":{"
        "\"instructor\":{\"mbox\":\"mailto:teacher@example.com\"},"
        "\"team\":{\"objectType\":\"Group\",\"member\":["
        "{\"mbox\":\"mailto:mate@example.com\"}]}}}", XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT_RELATED, "mbox:mailto:xapi@adlnet.gov",
                "account:http://lrs.example.com key1",
                "mbox:mailto:teacher@example.com",
                "mbox:mailto:mate@example.com");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_related_activities_cover_context_lists)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"context\":{\"contextActivities\":{"
        "\"parent\":[{\"id\":\"http://example.com/p\"}],"
        "\"grouping\":{\"id\":\"http://example.com/g\"},"
        "\"category\":[{\"id\":\"http://example.com/c\"}],"
        "\"other\":[{\"id\":\"http://example.com/o\"},"
        "{\"id\":\"http://example.com/act\"}]}}}", XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY, "http://example.com/act");
    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY_RELATED, "http://example.com/act",
                "http://example.com/p", "http://example.com/g",
                "http://example.com/c", "http://example.com/o");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_substatement_gives_only_related_keys)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":{"
        "\"objectType\":\"SubStatement\","
        "\"actor\":{\"mbox\":\"mailto:sub@example.com\"},"
        "\"verb\":{\"id\":\"http://example.com/verbs/planned\"},"
        "\"object\":{\"id\":\"http://example.com/sub-act\"},"
        "\"context\":{\"instructor\":{\"openid\":\"http://example.com/i\"},"
        "\"contextActivities\":{\"parent\":"
        "{\"id\":\"http://example.com/sub-parent\"}}}}}", XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_VERB,
                "http://adlnet.gov/expapi/verbs/attended");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT_RELATED, "mbox:mailto:xapi@adlnet.gov",
                "account:http://lrs.example.com key1",
                "mbox:mailto:sub@example.com",
                "openid:http://example.com/i");
    ck_assert_uint_eq(row_count_kind(&row, XAPI_KEY_ACTIVITY), 0);
    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY_RELATED, "http://example.com/sub-act",
                "http://example.com/sub-parent");
    ck_assert_str_eq(row.object_type, "SubStatement");
    ck_assert_ptr_null(row.object_id);
    /* The sub-statement's parent is not a parent of the statement. */
    ck_assert_uint_eq(row.nparents, 0);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_substatement_agent_object_is_related_only)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":{"
        "\"objectType\":\"SubStatement\",\"actor\":" ACTOR_MBOX ","
        "\"verb\":" VERB_ATTENDED ",\"object\":{\"objectType\":\"Group\","
        "\"mbox\":\"mailto:g@example.com\",\"member\":["
        "{\"mbox\":\"mailto:m@example.com\"}]}}}", XAPI_V1_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov");
    ck_assert(row_has_key(&row, XAPI_KEY_AGENT_RELATED,
                          "mbox:mailto:g@example.com"));
    ck_assert(row_has_key(&row, XAPI_KEY_AGENT_RELATED,
                          "mbox:mailto:m@example.com"));
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_include_2_0_context_agents_and_groups)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"context\":{\"contextAgents\":[{"
        "\"objectType\":\"contextAgent\",\"agent\":{\"objectType\":\"Agent\","
        "\"mbox\":\"mailto:player-1@example.com\"},\"relevantTypes\":["
        "\"https://example.com/types/player\"]}],\"contextGroups\":[{"
        "\"objectType\":\"contextGroup\",\"group\":{\"objectType\":\"Group\","
        "\"mbox\":\"mailto:team-1@example.com\",\"member\":[{"
        "\"objectType\":\"Agent\",\"mbox\":\"mailto:player-2@example.com\"}"
        "]},\"relevantTypes\":[\"https://example.com/types/team\"]}]}}",
        XAPI_V2_0, &row);

    ASSERT_KEYS(&row, XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov");
    ASSERT_KEYS(&row, XAPI_KEY_AGENT_RELATED, "mbox:mailto:xapi@adlnet.gov",
                "account:http://lrs.example.com key1",
                "mbox:mailto:player-1@example.com",
                "mbox:mailto:team-1@example.com",
                "mbox:mailto:player-2@example.com");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_keys_are_deduplicated)
{
    struct xapi_row row;
    json_t *stmt = build(
        "{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED ",\"object\":"
        OBJECT_ACTIVITY ",\"context\":{\"instructor\":" ACTOR_MBOX ","
        "\"contextActivities\":{\"parent\":[" OBJECT_ACTIVITY ","
        OBJECT_ACTIVITY "]}}}", XAPI_V1_0, &row);

    for (size_t i = 0; i < row.nkeys; i++) {
        for (size_t j = i + 1; j < row.nkeys; j++)
            ck_assert(row.keys[i].kind != row.keys[j].kind ||
                      memcmp(row.keys[i].digest, row.keys[j].digest,
                             XAPI_KEY_DIGEST_LEN) != 0);
    }
    ASSERT_KEYS(&row, XAPI_KEY_AGENT_RELATED, "mbox:mailto:xapi@adlnet.gov",
                "account:http://lrs.example.com key1");
    ASSERT_KEYS(&row, XAPI_KEY_ACTIVITY_RELATED, "http://example.com/act");
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

/* ------------------------------------------------------------------------
 * Digests and actor keys
 * ------------------------------------------------------------------------ */

static void
assert_digest_hex(enum xapi_index_kind kind, const char *value,
                  const char *hex)
{
    unsigned char digest[XAPI_KEY_DIGEST_LEN];
    char text[2 * XAPI_KEY_DIGEST_LEN + 1];

    ck_assert_int_eq(xapi_key_digest(kind, value, digest), 0);
    for (size_t i = 0; i < XAPI_KEY_DIGEST_LEN; i++)
        snprintf(text + 2 * i, 3, "%02x", digest[i]);
    ck_assert_str_eq(text, hex);
}

START_TEST(test_key_digest_is_truncated_sha256_of_kind_value)
{
    /* Reference values: sha256(bytes([kind]) + value)[:16] in Python. */
    assert_digest_hex(XAPI_KEY_VERB, "http://adlnet.gov/expapi/verbs/attended",
                      "70e80d1ad09e7edb4c9e6d82c153b904");
    assert_digest_hex(XAPI_KEY_AGENT, "mbox:mailto:xapi@adlnet.gov",
                      "1379d3852b4b40f1b3dfa24d02f1145c");
}
END_TEST

START_TEST(test_key_digest_is_deterministic_and_differs_by_kind)
{
    unsigned char a[XAPI_KEY_DIGEST_LEN];
    unsigned char b[XAPI_KEY_DIGEST_LEN];
    unsigned char c[XAPI_KEY_DIGEST_LEN];
    unsigned char d[XAPI_KEY_DIGEST_LEN];

    ck_assert_int_eq(xapi_key_digest(XAPI_KEY_ACTIVITY, "http://x/a", a), 0);
    ck_assert_int_eq(xapi_key_digest(XAPI_KEY_ACTIVITY, "http://x/a", b), 0);
    ck_assert_int_eq(
        xapi_key_digest(XAPI_KEY_ACTIVITY_RELATED, "http://x/a", c), 0);
    ck_assert_int_eq(xapi_key_digest(XAPI_KEY_ACTIVITY, "http://x/b", d), 0);
    ck_assert_mem_eq(a, b, XAPI_KEY_DIGEST_LEN);
    ck_assert(memcmp(a, c, XAPI_KEY_DIGEST_LEN) != 0);
    ck_assert(memcmp(a, d, XAPI_KEY_DIGEST_LEN) != 0);
}
END_TEST

static void
assert_actor_key(const char *actor_text, const char *expected)
{
    json_t *actor = load(actor_text);
    char *key = xapi_actor_key(actor);

    if (expected == NULL) {
        ck_assert_ptr_null(key);
    } else {
        ck_assert_ptr_nonnull(key);
        ck_assert_str_eq(key, expected);
    }
    free(key);
    json_decref(actor);
}

START_TEST(test_actor_key_forms_for_each_identifier)
{
    assert_actor_key("{\"mbox\":\"mailto:a@b.example\"}",
                     "mbox:mailto:a@b.example");
    assert_actor_key(
        "{\"mbox_sha1sum\":\"ABCDEF0123456789ABCDEF0123456789ABCDEF01\"}",
        "mbox_sha1sum:abcdef0123456789abcdef0123456789abcdef01");
    assert_actor_key("{\"openid\":\"http://openid.example.com/Joe\"}",
                     "openid:http://openid.example.com/Joe");
    assert_actor_key("{\"account\":{\"homePage\":\"http://www.example.com\","
                     "\"name\":\"Joe Q\"}}",
                     "account:http://www.example.com Joe Q");
}
END_TEST

START_TEST(test_actor_key_lowercases_domain_not_local_part)
{
    assert_actor_key("{\"mbox\":\"MAILTO:Joe.Bloggs@Example.COM\"}",
                     "mbox:mailto:Joe.Bloggs@example.com");
}
END_TEST

START_TEST(test_actor_key_ignores_object_type_and_name)
{
    assert_actor_key("{\"objectType\":\"Group\",\"name\":\"G\","
                     "\"mbox\":\"mailto:a@b.example\",\"member\":[]}",
                     "mbox:mailto:a@b.example");
    assert_actor_key("{\"objectType\":\"Agent\",\"name\":\"A\","
                     "\"mbox\":\"mailto:a@b.example\"}",
                     "mbox:mailto:a@b.example");
}
END_TEST

START_TEST(test_actor_key_is_null_without_identity)
{
    assert_actor_key("{\"objectType\":\"Group\",\"member\":[{\"mbox\":"
                     "\"mailto:a@b.example\"}]}", NULL);
    assert_actor_key("{\"account\":{\"homePage\":\"http://x.example\"}}",
                     NULL);
    assert_actor_key("\"mailto:a@b.example\"", NULL);
}
END_TEST

/* ------------------------------------------------------------------------
 * Splicing stored
 * ------------------------------------------------------------------------ */

START_TEST(test_body_with_stored_adds_stored_and_timestamp)
{
    const char *body = "{\"id\":\"x\",\"verb\":{\"id\":\"v\"}}";
    const char *stored = "2024-01-02T03:04:05.678Z";
    size_t len = 0;
    char *out = xapi_body_with_stored(body, strlen(body), stored, true, &len);
    json_t *json;

    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, strlen(out));
    json = load(out);
    ck_assert_str_eq(member_string(json, "stored"), stored);
    ck_assert_str_eq(member_string(json, "timestamp"), stored);
    ck_assert_str_eq(member_string(json, "id"), "x");
    ck_assert_uint_eq(json_object_size(json), 4);
    json_decref(json);
    free(out);
}
END_TEST

START_TEST(test_body_with_stored_keeps_the_statements_timestamp)
{
    const char *body = "{\"timestamp\":\"2015-11-18T12:17:00+01:00\"}";
    size_t len = 0;
    char *out = xapi_body_with_stored(body, strlen(body),
                                      "2024-01-02T03:04:05.678Z", false, &len);
    json_t *json;

    ck_assert_ptr_nonnull(out);
    json = load(out);
    ck_assert_str_eq(member_string(json, "timestamp"),
                     "2015-11-18T12:17:00+01:00");
    ck_assert_str_eq(member_string(json, "stored"),
                     "2024-01-02T03:04:05.678Z");
    ck_assert_uint_eq(json_object_size(json), 2);
    json_decref(json);
    free(out);
}
END_TEST

START_TEST(test_body_with_stored_handles_an_empty_object)
{
    size_t len = 0;
    char *out = xapi_body_with_stored("{}", 2, "2024-01-02T03:04:05.678Z",
                                      true, &len);

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "{\"stored\":\"2024-01-02T03:04:05.678Z\","
                          "\"timestamp\":\"2024-01-02T03:04:05.678Z\"}");
    free(out);
}
END_TEST

START_TEST(test_body_with_stored_round_trips_a_built_row)
{
    struct xapi_row row;
    json_t *stmt = build("{\"actor\":" ACTOR_MBOX ",\"verb\":" VERB_ATTENDED
                         ",\"object\":" OBJECT_ACTIVITY "}", XAPI_V1_0, &row);
    size_t len = 0;
    char *out = xapi_body_with_stored(row.body, row.body_len,
                                      "2024-01-02T03:04:05.678Z", true, &len);
    json_t *json = load(out);

    ck_assert_str_eq(member_string(json, "id"), row.id);
    ck_assert_str_eq(member_string(json, "stored"),
                     "2024-01-02T03:04:05.678Z");
    ck_assert_str_eq(member_string(json, "timestamp"),
                     "2024-01-02T03:04:05.678Z");
    json_object_del(json, "stored");
    json_object_del(json, "timestamp");
    ck_assert(json_equal(json, stmt));
    json_decref(json);
    free(out);
    json_decref(stmt);
    xapi_row_free(&row);
}
END_TEST

START_TEST(test_body_with_stored_refuses_non_object_text)
{
    size_t len = 0;

    ck_assert_ptr_null(xapi_body_with_stored("[1,2]", 5, "x", true, &len));
    ck_assert_ptr_null(xapi_body_with_stored("{}", 2, "a\"b", true, &len));
}
END_TEST

/* Bodies written one after another into one buffer of the summed
 * maxima come out as xapi_body_with_stored makes them, within bounds. */
START_TEST(test_body_put_stored_shares_one_buffer)
{
    static const char *const bodies[] = {
        "{\"id\":\"x\"}", "{}", "{\"a\":1 \n}", "{ }",
        "{\"timestamp\":\"2015-11-18T12:17:00Z\"}",
    };
    const size_t nbodies = sizeof(bodies) / sizeof(bodies[0]);
    const char *stored = "2024-01-02T03:04:05.678Z";
    size_t size = 0, used = 0;
    char *buf;

    for (size_t i = 0; i < nbodies; i++)
        size += xapi_body_with_stored_max(strlen(bodies[i]), strlen(stored),
                                          i % 2 == 0);
    buf = malloc(size);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < nbodies; i++) {
        size_t len = 0, want_len = 0;
        char *want = xapi_body_with_stored(bodies[i], strlen(bodies[i]),
                                           stored, i % 2 == 0, &want_len);

        ck_assert_ptr_nonnull(want);
        ck_assert_int_eq(xapi_body_put_stored(buf + used, bodies[i],
                                              strlen(bodies[i]), stored,
                                              i % 2 == 0, &len),
                         0);
        ck_assert_uint_eq(len, want_len);
        ck_assert_str_eq(buf + used, want);
        ck_assert_uint_lt(len, xapi_body_with_stored_max(
                                   strlen(bodies[i]), strlen(stored),
                                   i % 2 == 0));
        used += len + 1;
        free(want);
    }
    ck_assert_uint_le(used, size);
    free(buf);
}
END_TEST

START_TEST(test_body_put_stored_refuses_what_it_cannot_splice)
{
    char buf[128];
    size_t len = 7;

    ck_assert_int_eq(xapi_body_put_stored(buf, "[1,2]", 5,
                                          "2024-01-02T03:04:05.678Z", true,
                                          &len),
                     -1);
    ck_assert_int_eq(xapi_body_put_stored(buf, "{}", 2, "a\"b", false, &len),
                     -1);
    ck_assert_uint_eq(len, 7);
}
END_TEST

static Suite *
statement_suite(void)
{
    Suite *s = suite_create("statement");
    TCase *build_tc = tcase_create("completion");
    TCase *columns = tcase_create("columns");
    TCase *keys = tcase_create("keys");
    TCase *out = tcase_create("output");

    tcase_add_test(build_tc,
                   test_row_build_generates_lowercase_uuid_without_id);
    tcase_add_test(build_tc, test_row_build_lowercases_a_given_id);
    tcase_add_test(build_tc, test_row_build_replaces_a_submitted_authority);
    tcase_add_test(build_tc,
                   test_row_build_null_authority_keeps_statements_own);
    tcase_add_test(build_tc,
                   test_row_build_sets_version_by_request_when_absent);
    tcase_add_test(build_tc, test_row_build_keeps_a_submitted_version);
    tcase_add_test(build_tc,
                   test_row_build_wraps_single_context_activities);
    tcase_add_test(build_tc,
                   test_row_build_body_has_no_stored_nor_added_timestamp);
    tcase_add_test(build_tc,
                   test_row_build_reads_timestamp_as_epoch_microseconds);
    tcase_add_test(build_tc,
                   test_row_build_fails_cleanly_when_memory_runs_out);
    suite_add_tcase(s, build_tc);

    tcase_add_test(columns, test_row_columns_for_an_activity_statement);
    tcase_add_test(columns, test_row_columns_for_a_voiding_statement);
    tcase_add_test(columns,
                   test_row_columns_other_verb_on_statement_ref_no_void);
    tcase_add_test(columns,
                   test_row_columns_voided_verb_on_activity_no_void);
    tcase_add_test(columns, test_row_columns_for_an_anonymous_group_object);
    suite_add_tcase(s, columns);

    tcase_add_test(keys, test_keys_of_a_simple_activity_statement);
    tcase_add_test(keys, test_keys_group_actor_matches_group_and_each_member);
    tcase_add_test(keys,
                   test_keys_anonymous_group_matches_members_only);
    tcase_add_test(keys, test_keys_agent_object_is_agent_key_not_activity);
    tcase_add_test(keys,
                   test_keys_related_agents_cover_authority_and_context);
    tcase_add_test(keys, test_keys_related_activities_cover_context_lists);
    tcase_add_test(keys, test_keys_substatement_gives_only_related_keys);
    tcase_add_test(keys, test_keys_substatement_agent_object_is_related_only);
    tcase_add_test(keys, test_keys_include_2_0_context_agents_and_groups);
    tcase_add_test(keys, test_keys_are_deduplicated);
    tcase_add_test(keys, test_key_digest_is_truncated_sha256_of_kind_value);
    tcase_add_test(keys, test_key_digest_is_deterministic_and_differs_by_kind);
    tcase_add_test(keys, test_actor_key_forms_for_each_identifier);
    tcase_add_test(keys,
                   test_actor_key_lowercases_domain_not_local_part);
    tcase_add_test(keys, test_actor_key_ignores_object_type_and_name);
    tcase_add_test(keys, test_actor_key_is_null_without_identity);
    suite_add_tcase(s, keys);

    tcase_add_test(out, test_body_with_stored_adds_stored_and_timestamp);
    tcase_add_test(out, test_body_with_stored_keeps_the_statements_timestamp);
    tcase_add_test(out, test_body_with_stored_handles_an_empty_object);
    tcase_add_test(out, test_body_with_stored_round_trips_a_built_row);
    tcase_add_test(out,
                   test_body_with_stored_refuses_non_object_text);
    tcase_add_test(out, test_body_put_stored_shares_one_buffer);
    tcase_add_test(out,
                   test_body_put_stored_refuses_what_it_cannot_splice);
    suite_add_tcase(s, out);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(statement_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
