/*
 * Unit tests of xapi/validate.c.
 *
 * Most cases are data: every file under $LRSD_TEST_DATA/statements/valid
 * must validate, and every file under .../invalid must be rejected with
 * status 400 and a message that starts with the file's "error_path" and
 * ": " (tests/data/statements/README.md describes the format). A few C
 * tests below cover the version differences and the entry points' own
 * behaviour.
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/validate.h"

/* ---- the data files --------------------------------------------------- */

struct file_list {
    char **names; /* sorted file names, without directory */
    size_t n;
};

static struct file_list valid_files;
static struct file_list invalid_files;

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_json_name(const char *name)
{
    size_t len = strlen(name);

    return len > 5 && strcmp(name + len - 5, ".json") == 0;
}

static void
list_json_files(const char *kind, struct file_list *out)
{
    const char *root = getenv("LRSD_TEST_DATA");
    char dir_path[1024];
    struct dirent *entry;
    DIR *dir;

    out->names = NULL;
    out->n = 0;
    if (root == NULL)
        return;
    snprintf(dir_path, sizeof(dir_path), "%s/statements/%s", root, kind);
    dir = opendir(dir_path);
    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL) {
        if (!is_json_name(entry->d_name))
            continue;
        out->names = realloc(out->names, (out->n + 1) * sizeof(char *));
        if (out->names == NULL)
            abort();
        out->names[out->n++] = strdup(entry->d_name);
    }
    closedir(dir);
    if (out->n > 0)
        qsort(out->names, out->n, sizeof(char *), compare_names);
}

static void
free_file_list(struct file_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->n = 0;
}

static json_t *
load_case(const char *kind, const char *name)
{
    char path[1024];
    json_error_t jerr;
    json_t *doc;

    snprintf(path, sizeof(path), "%s/statements/%s/%s",
             getenv("LRSD_TEST_DATA"), kind, name);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
    ck_assert_msg(json_object_get(doc, "statement") != NULL,
                  "%s: no \"statement\"", path);
    return doc;
}

/* The versions a case applies to: "1.0.3", "2.0.0" or "both". */
static size_t
case_versions(const json_t *doc, const char *name, enum xapi_version out[2])
{
    const char *version = json_string_value(json_object_get(doc, "version"));

    ck_assert_msg(version != NULL, "%s: no \"version\"", name);
    if (strcmp(version, "1.0.3") == 0) {
        out[0] = XAPI_V1_0;
        return 1;
    }
    if (strcmp(version, "2.0.0") == 0) {
        out[0] = XAPI_V2_0;
        return 1;
    }
    ck_assert_msg(strcmp(version, "both") == 0, "%s: bad version %s", name,
                  version);
    out[0] = XAPI_V1_0;
    out[1] = XAPI_V2_0;
    return 2;
}

START_TEST(test_data_directories_are_populated)
{
    ck_assert_msg(getenv("LRSD_TEST_DATA") != NULL, "LRSD_TEST_DATA unset");
    ck_assert_uint_ge(valid_files.n, 20);
    ck_assert_uint_ge(invalid_files.n, 60);
}
END_TEST

START_TEST(test_valid_statement_files_validate)
{
    const char *name = valid_files.names[_i];
    json_t *doc = load_case("valid", name);
    const json_t *stmt = json_object_get(doc, "statement");
    char *before = json_dumps(stmt, JSON_SORT_KEYS);
    enum xapi_version versions[2];
    size_t n = case_versions(doc, name, versions);

    for (size_t i = 0; i < n; i++) {
        struct lrs_error err = {0};
        char *after;

        ck_assert_msg(
            xapi_validate_statement(stmt, versions[i], "statement", &err) == 0,
            "%s (v%d) rejected: %s", name, versions[i], err.message);
        ck_assert_int_eq(err.status, 0);
        after = json_dumps(stmt, JSON_SORT_KEYS);
        ck_assert_msg(strcmp(before, after) == 0, "%s: statement modified",
                      name);
        free(after);
    }
    free(before);
    json_decref(doc);
}
END_TEST

START_TEST(test_invalid_statement_files_fail_at_their_path)
{
    const char *name = invalid_files.names[_i];
    json_t *doc = load_case("invalid", name);
    const char *want = json_string_value(json_object_get(doc, "error_path"));
    enum xapi_version versions[2];
    size_t n = case_versions(doc, name, versions);

    ck_assert_msg(want != NULL, "%s: no \"error_path\"", name);
    for (size_t i = 0; i < n; i++) {
        struct lrs_error err = {0};
        size_t len = strlen(want);

        ck_assert_msg(xapi_validate_statement(json_object_get(doc, "statement"),
                                              versions[i], "statement",
                                              &err) == -1,
                      "%s (v%d) accepted", name, versions[i]);
        ck_assert_int_eq(err.status, 400);
        ck_assert_msg(strncmp(err.message, want, len) == 0 &&
                          strncmp(err.message + len, ": ", 2) == 0 &&
                          err.message[len + 2] != '\0',
                      "%s (v%d): expected \"%s: ...\", got \"%s\"", name,
                      versions[i], want, err.message);
    }
    json_decref(doc);
}
END_TEST

/* ---- C-level cases ------------------------------------------------------ */

static json_t *
parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(v != NULL, "bad test JSON: %s", jerr.text);
    return v;
}

/* A valid minimal statement with extra members spliced in before the
 * closing brace. */
static json_t *
statement_with(const char *extra)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"actor\": {\"mbox\": \"mailto:ada@example.com\"},"
             " \"verb\": {\"id\": \"http://example.com/verbs/did\"},"
             " \"object\": {\"id\": \"http://example.com/things/1\"}%s%s}",
             extra[0] != '\0' ? ", " : "", extra);
    return parse(text);
}

static int
validate(const json_t *stmt, enum xapi_version v, struct lrs_error *err)
{
    lrs_error_clear(err);
    return xapi_validate_statement(stmt, v, "statement", err);
}

START_TEST(test_validate_context_agents_only_in_2_0)
{
    json_t *stmt = statement_with(
        "\"context\": {\"contextAgents\": [{\"objectType\": \"contextAgent\","
        " \"agent\": {\"mbox\": \"mailto:c@example.com\"}}]}");
    struct lrs_error err;

    ck_assert_int_eq(validate(stmt, XAPI_V2_0, &err), 0);
    ck_assert_int_eq(validate(stmt, XAPI_V1_0, &err), -1);
    ck_assert_str_eq(err.message, "statement.context.contextAgents: "
                                  "not allowed before xAPI 2.0");
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_timestamp_offset_required_in_2_0)
{
    json_t *stmt = statement_with("\"timestamp\": \"2024-01-01T10:00:00\"");
    struct lrs_error err;

    ck_assert_int_eq(validate(stmt, XAPI_V1_0, &err), 0);
    ck_assert_int_eq(validate(stmt, XAPI_V2_0, &err), -1);
    ck_assert_str_eq(err.message, "statement.timestamp: must include a time "
                                  "zone offset in xAPI 2.0");
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_statement_version_2_0_only_in_2_0)
{
    json_t *v2 = statement_with("\"version\": \"2.0.0\"");
    json_t *v1 = statement_with("\"version\": \"1.0.3\"");
    struct lrs_error err;

    ck_assert_int_eq(validate(v2, XAPI_V2_0, &err), 0);
    ck_assert_int_eq(validate(v1, XAPI_V2_0, &err), 0);
    ck_assert_int_eq(validate(v1, XAPI_V1_0, &err), 0);
    ck_assert_int_eq(validate(v2, XAPI_V1_0, &err), -1);
    ck_assert_str_eq(err.message, "statement.version: must start with 1.0");
    json_decref(v1);
    json_decref(v2);
}
END_TEST

START_TEST(test_validate_uses_the_path_prefix)
{
    json_t *stmt =
        statement_with("\"context\": {\"contextActivities\": {\"parent\": "
                       "[{\"id\": \"no scheme\"}]}}");
    struct lrs_error err = {0};

    ck_assert_int_eq(
        xapi_validate_statement(stmt, XAPI_V1_0, "statements[2]", &err), -1);
    ck_assert_str_eq(err.message, "statements[2].context.contextActivities."
                                  "parent[0].id: must be an absolute IRI");
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_messages_name_rule_and_property)
{
    json_t *stmt = statement_with("\"foo\": 1");
    json_t *score = statement_with("\"result\": {\"score\": {\"scaled\": 2}}");
    struct lrs_error err;

    ck_assert_int_eq(validate(stmt, XAPI_V1_0, &err), -1);
    ck_assert_str_eq(err.message, "statement.foo: unknown property");
    ck_assert_int_eq(validate(score, XAPI_V2_0, &err), -1);
    ck_assert_str_eq(err.message,
                     "statement.result.score.scaled: must be between -1 and 1");
    json_decref(stmt);
    json_decref(score);
}
END_TEST

START_TEST(test_validate_survives_a_long_path_prefix)
{
    json_t *stmt = statement_with("\"result\": {\"success\": \"yes\"}");
    struct lrs_error err = {0};
    char prefix[600];

    memset(prefix, 'p', sizeof(prefix) - 1);
    prefix[sizeof(prefix) - 1] = '\0';
    ck_assert_int_eq(xapi_validate_statement(stmt, XAPI_V1_0, prefix, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert(strlen(err.message) < sizeof(err.message));
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_accepts_a_null_error)
{
    json_t *stmt = statement_with("\"id\": \"nope\"");

    ck_assert_int_eq(
        xapi_validate_statement(stmt, XAPI_V1_0, "statement", NULL), -1);
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_actor_accepts_agents_and_groups)
{
    json_t *agent = parse("{\"mbox\": \"mailto:a@example.com\"}");
    json_t *group = parse("{\"objectType\": \"Group\", \"member\": "
                          "[{\"mbox\": \"mailto:a@example.com\"}]}");
    json_t *bad = parse("{\"objectType\": \"Person\"}");
    struct lrs_error err = {0};

    ck_assert_int_eq(xapi_validate_actor(agent, XAPI_V1_0, "agent", &err), 0);
    ck_assert_int_eq(xapi_validate_actor(group, XAPI_V2_0, "agent", &err), 0);
    ck_assert_int_eq(xapi_validate_actor(bad, XAPI_V2_0, "agent", &err), -1);
    ck_assert_str_eq(err.message,
                     "agent.objectType: must be \"Agent\" or \"Group\"");
    json_decref(agent);
    json_decref(group);
    json_decref(bad);
}
END_TEST

START_TEST(test_validate_agent_rejects_groups)
{
    json_t *agent = parse("{\"objectType\": \"Agent\", \"account\": "
                          "{\"homePage\": \"https://example.com\", "
                          "\"name\": \"u1\"}}");
    json_t *group = parse("{\"objectType\": \"Group\", "
                          "\"mbox\": \"mailto:g@example.com\"}");
    json_t *text = parse("\"mailto:a@example.com\"");
    struct lrs_error err = {0};

    ck_assert_int_eq(xapi_validate_agent(agent, XAPI_V1_0, "agent", &err), 0);
    ck_assert_int_eq(xapi_validate_agent(group, XAPI_V1_0, "agent", &err), -1);
    ck_assert_str_eq(err.message, "agent.objectType: must be \"Agent\"");
    ck_assert_int_eq(xapi_validate_agent(text, XAPI_V1_0, "agent", &err), -1);
    ck_assert_str_eq(err.message, "agent: must be an object");
    json_decref(agent);
    json_decref(group);
    json_decref(text);
}
END_TEST

START_TEST(test_validate_rejects_sub_statement_nesting)
{
    json_t *stmt =
        parse("{\"actor\": {\"mbox\": \"mailto:a@example.com\"},"
              " \"verb\": {\"id\": \"http://example.com/v\"},"
              " \"object\": {\"objectType\": \"SubStatement\","
              "  \"actor\": {\"mbox\": \"mailto:a@example.com\"},"
              "  \"verb\": {\"id\": \"http://example.com/v\"},"
              "  \"object\": {\"objectType\": \"SubStatement\","
              "   \"actor\": {\"mbox\": \"mailto:a@example.com\"},"
              "   \"verb\": {\"id\": \"http://example.com/v\"},"
              "   \"object\": {\"id\": \"http://example.com/o\"}}}}");
    struct lrs_error err;

    ck_assert_int_eq(validate(stmt, XAPI_V2_0, &err), -1);
    ck_assert_str_eq(err.message, "statement.object.object.objectType: "
                                  "a SubStatement must not contain a "
                                  "SubStatement");
    json_decref(stmt);
}
END_TEST

START_TEST(test_validate_leaves_error_alone_on_success)
{
    json_t *bad = statement_with("\"stored\": \"never\"");
    json_t *good = statement_with("\"stored\": \"2024-01-01T00:00:00Z\"");
    struct lrs_error err;

    ck_assert_int_eq(validate(bad, XAPI_V1_0, &err), -1);
    ck_assert_int_eq(validate(good, XAPI_V1_0, &err), 0);
    ck_assert_int_eq(err.status, 0);
    ck_assert_str_eq(err.message, "");
    json_decref(bad);
    json_decref(good);
}
END_TEST

static Suite *
validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *data = tcase_create("data");
    TCase *api = tcase_create("api");

    tcase_add_test(data, test_data_directories_are_populated);
    tcase_add_loop_test(data, test_valid_statement_files_validate, 0,
                        (int)valid_files.n);
    tcase_add_loop_test(data, test_invalid_statement_files_fail_at_their_path,
                        0, (int)invalid_files.n);
    suite_add_tcase(s, data);

    tcase_add_test(api, test_validate_context_agents_only_in_2_0);
    tcase_add_test(api, test_validate_timestamp_offset_required_in_2_0);
    tcase_add_test(api, test_validate_statement_version_2_0_only_in_2_0);
    tcase_add_test(api, test_validate_uses_the_path_prefix);
    tcase_add_test(api, test_validate_messages_name_rule_and_property);
    tcase_add_test(api, test_validate_survives_a_long_path_prefix);
    tcase_add_test(api, test_validate_accepts_a_null_error);
    tcase_add_test(api, test_validate_actor_accepts_agents_and_groups);
    tcase_add_test(api, test_validate_agent_rejects_groups);
    tcase_add_test(api, test_validate_rejects_sub_statement_nesting);
    tcase_add_test(api, test_validate_leaves_error_alone_on_success);
    suite_add_tcase(s, api);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    list_json_files("valid", &valid_files);
    list_json_files("invalid", &invalid_files);
    sr = srunner_create(validate_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free_file_list(&valid_files);
    free_file_list(&invalid_files);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
