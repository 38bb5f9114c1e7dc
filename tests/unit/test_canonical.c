/* Unit tests for xapi/canonical: the format parameter and the ids and
 * canonical rewrites. The rewrite cases live as JSON files under
 * tests/data/canonical, each holding {"comment", "format",
 * "accept_language" (optional), "input", "expected"}. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/canonical.h"

#define MAX_CASES 256

static char *case_paths[MAX_CASES];
static size_t case_count;

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_cases(void)
{
    const char *root = getenv("LRSD_TEST_DATA");
    char dir_path[1024];
    DIR *dir;
    struct dirent *entry;

    snprintf(dir_path, sizeof(dir_path), "%s/canonical",
             root != NULL ? root : "tests/data");
    dir = opendir(dir_path);
    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL && case_count < MAX_CASES) {
        size_t len = strlen(entry->d_name);
        char path[2048];

        if (len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        case_paths[case_count] = strdup(path);
        if (case_paths[case_count] != NULL)
            case_count++;
    }
    closedir(dir);
    qsort(case_paths, case_count, sizeof(case_paths[0]), compare_names);
}

static json_t *
load(const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, 0, &error);

    ck_assert_msg(json != NULL, "bad test JSON: %s", error.text);
    return json;
}

/* ------------------------------------------------------------------------
 * format parameter
 * ------------------------------------------------------------------------ */

START_TEST(test_format_parse_accepts_the_three_formats)
{
    enum xapi_format f = XAPI_FORMAT_EXACT;

    ck_assert_int_eq(xapi_format_parse("ids", &f), 0);
    ck_assert_int_eq(f, XAPI_FORMAT_IDS);
    ck_assert_int_eq(xapi_format_parse("canonical", &f), 0);
    ck_assert_int_eq(f, XAPI_FORMAT_CANONICAL);
    ck_assert_int_eq(xapi_format_parse("exact", &f), 0);
    ck_assert_int_eq(f, XAPI_FORMAT_EXACT);
}
END_TEST

START_TEST(test_format_parse_defaults_to_exact_when_absent)
{
    enum xapi_format f = XAPI_FORMAT_IDS;

    ck_assert_int_eq(xapi_format_parse(NULL, &f), 0);
    ck_assert_int_eq(f, XAPI_FORMAT_EXACT);
}
END_TEST

START_TEST(test_format_parse_rejects_unknown_values)
{
    static const char *const bad[] = {"", "IDS", "Exact", "id", "canonical ",
                                      "full", "exactly"};
    enum xapi_format f;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(xapi_format_parse(bad[i], &f) == -1, "'%s'", bad[i]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Data-driven rewrites
 * ------------------------------------------------------------------------ */

START_TEST(test_format_apply_data_case_gives_expected_statement)
{
    const char *path = case_paths[_i];
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    enum xapi_format format;
    json_t *input;
    char *got;
    char *want;

    ck_assert_msg(root != NULL, "%s: %s", path, error.text);
    ck_assert_msg(xapi_format_parse(json_string_value(json_object_get(
                                        root, "format")), &format) == 0,
                  "%s: bad format", path);
    input = json_object_get(root, "input");
    ck_assert_int_eq(
        xapi_format_apply(input, format,
                          json_string_value(
                              json_object_get(root, "accept_language"))),
        0);
    got = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
    want = json_dumps(json_object_get(root, "expected"),
                      JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(input, json_object_get(root, "expected")),
                  "%s:\n got %s\nwant %s", path, got, want);
    free(got);
    free(want);
    json_decref(root);
}
END_TEST

START_TEST(test_format_data_directory_is_not_empty)
{
    ck_assert_uint_ge(case_count, 10);
}
END_TEST

/* ------------------------------------------------------------------------
 * Accept-Language edge cases
 * ------------------------------------------------------------------------ */

/* The entry of a one-map statement that canonical keeps for a header. */
static char *
chosen_for(const char *map_text, const char *accept_language)
{
    char text[1024];
    json_t *stmt;
    json_t *display;
    char *key;

    snprintf(text, sizeof(text),
             "{\"verb\":{\"id\":\"http://x/v\",\"display\":%s}}", map_text);
    stmt = load(text);
    ck_assert_int_eq(
        xapi_format_apply(stmt, XAPI_FORMAT_CANONICAL, accept_language), 0);
    display = json_object_get(json_object_get(stmt, "verb"), "display");
    ck_assert_uint_eq(json_object_size(display), 1);
    key = strdup(json_object_iter_key(json_object_iter(display)));
    json_decref(stmt);
    return key;
}

static void
assert_chosen(const char *map_text, const char *header, const char *want)
{
    char *got = chosen_for(map_text, header);

    ck_assert_msg(strcmp(got, want) == 0, "header '%s' chose %s, want %s",
                  header != NULL ? header : "(none)", got, want);
    free(got);
}

START_TEST(test_canonical_ignores_malformed_header_elements)
{
    const char *map = "{\"en-US\":\"a\",\"fr\":\"b\",\"de\":\"c\"}";

    assert_chosen(map, "fr;q=2, de", "de");
    assert_chosen(map, "fr;q=abc, de;q=0.1", "de");
    assert_chosen(map, "f@r, de;q=0.5", "de");
    assert_chosen(map, ",,, ;q=1, de", "de");
    assert_chosen(map, "", "en-US");
    assert_chosen(map, "   ", "en-US");
}
END_TEST

START_TEST(test_canonical_reads_whitespace_and_uppercase_q)
{
    const char *map = "{\"en-US\":\"a\",\"fr\":\"b\",\"de\":\"c\"}";

    assert_chosen(map, " fr ; Q=0.2 ,\tde ; q = 0.1, en ;q=0.15", "fr");
    assert_chosen(map, "fr;q=0.200, de;q=0.3", "de");
    assert_chosen(map, "fr;level=1;q=0.9, de;q=0.3", "fr");
}
END_TEST

START_TEST(test_canonical_everything_refused_still_returns_one_entry)
{
    assert_chosen("{\"en\":\"a\",\"fr\":\"b\"}", "en;q=0, fr;q=0", "en");
    assert_chosen("{\"en\":\"a\",\"fr\":\"b\"}", "*;q=0", "en");
}
END_TEST

START_TEST(test_canonical_keeps_single_entry_and_empty_maps)
{
    json_t *stmt = load("{\"verb\":{\"id\":\"http://x/v\",\"display\":{}},"
                        "\"object\":{\"id\":\"http://x/a\",\"definition\":{"
                        "\"name\":{\"ja-JP\":\"x\"}}}}");
    json_t *want = json_deep_copy(stmt);

    ck_assert_int_eq(xapi_format_apply(stmt, XAPI_FORMAT_CANONICAL, "fr"), 0);
    ck_assert(json_equal(stmt, want));
    json_decref(stmt);
    json_decref(want);
}
END_TEST

START_TEST(test_canonical_with_many_ranges_uses_the_first_ones)
{
    char header[4096] = "";
    size_t used = 0;

    /* 40 refused languages, then the wanted one past the cap: the cap
     * keeps the first 32 ranges, so fr (33rd onward) is not seen and the
     * fallback, the first entry not refused, decides. */
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(header + used, sizeof(header) - used,
                                 "x%d;q=0, ", i);
    snprintf(header + used, sizeof(header) - used, "fr");
    assert_chosen("{\"de\":\"a\",\"fr\":\"b\"}", header, "de");
}
END_TEST

START_TEST(test_format_apply_ignores_non_objects)
{
    json_t *array = json_array();

    ck_assert_int_eq(xapi_format_apply(array, XAPI_FORMAT_IDS, NULL), 0);
    ck_assert_int_eq(xapi_format_apply(NULL, XAPI_FORMAT_CANONICAL, "en"), 0);
    ck_assert_uint_eq(json_array_size(array), 0);
    json_decref(array);
}
END_TEST

static Suite *
canonical_suite(void)
{
    Suite *s = suite_create("canonical");
    TCase *parse = tcase_create("parse");
    TCase *data = tcase_create("data");
    TCase *lang = tcase_create("accept-language");

    tcase_add_test(parse, test_format_parse_accepts_the_three_formats);
    tcase_add_test(parse, test_format_parse_defaults_to_exact_when_absent);
    tcase_add_test(parse, test_format_parse_rejects_unknown_values);
    suite_add_tcase(s, parse);

    tcase_add_test(data, test_format_data_directory_is_not_empty);
    tcase_add_loop_test(data,
                        test_format_apply_data_case_gives_expected_statement,
                        0, (int)case_count);
    suite_add_tcase(s, data);

    tcase_add_test(lang, test_canonical_ignores_malformed_header_elements);
    tcase_add_test(lang, test_canonical_reads_whitespace_and_uppercase_q);
    tcase_add_test(lang,
                   test_canonical_everything_refused_still_returns_one_entry);
    tcase_add_test(lang, test_canonical_keeps_single_entry_and_empty_maps);
    tcase_add_test(lang, test_canonical_with_many_ranges_uses_the_first_ones);
    tcase_add_test(lang, test_format_apply_ignores_non_objects);
    suite_add_tcase(s, lang);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    list_cases();
    sr = srunner_create(canonical_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (size_t i = 0; i < case_count; i++)
        free(case_paths[i]);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
