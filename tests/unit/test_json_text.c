/* Unit tests for xapi/json_text: its text must be exactly what
 * json_dumps writes with JSON_COMPACT, for every JSON file under
 * tests/data (statements valid and invalid, comparison and format cases)
 * and for values chosen to reach each escape and number form. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xapi/json_text.h"

/* Checks that both writers agree on value, and that the length returned
 * is the text's. */
static void
assert_same_as_jansson(const json_t *value, const char *what)
{
    char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = xapi_json_text(value, &len);

    ck_assert_ptr_nonnull(expected);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(strcmp(got, expected) == 0, "%s:\n got %s\nwant %s", what,
                  got, expected);
    ck_assert_uint_eq(len, strlen(expected));
    free(expected);
    free(got);
}

static void
assert_text_from(const char *json, const char *what)
{
    json_error_t error;
    json_t *value = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                               &error);

    ck_assert_msg(value != NULL, "%s: bad test JSON: %s", what, error.text);
    assert_same_as_jansson(value, what);
    json_decref(value);
}

/* Compares every .json file below dir; returns how many were read. */
static int
compare_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *entry;
    int count = 0;

    if (d == NULL)
        return 0;
    while ((entry = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t len = strlen(entry->d_name);

        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            count += compare_tree(path);
        } else if (len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0) {
            json_error_t error;
            json_t *value = json_load_file(path, JSON_DECODE_ANY, &error);

            ck_assert_msg(value != NULL, "%s: %s", path, error.text);
            assert_same_as_jansson(value, path);
            json_decref(value);
            count++;
        }
    }
    closedir(d);
    return count;
}

START_TEST(test_every_data_file)
{
    const char *root = getenv("LRSD_TEST_DATA");

    /* The data holds well over a hundred statements: a missing folder
     * must fail rather than compare nothing. */
    ck_assert_int_ge(compare_tree(root != NULL ? root : "tests/data"), 100);
}
END_TEST

START_TEST(test_escapes)
{
    assert_text_from("\"quote \\\" backslash \\\\ slash /\"", "specials");
    assert_text_from("\"\\b\\f\\n\\r\\t\"", "short escapes");
    assert_text_from("\"\\u0001\\u001f\\u007f\"", "other controls");
    assert_text_from("\"nul \\u0000 inside\"", "NUL");
    assert_text_from("\"caf\\u00e9 \\u2028 \\ud83d\\ude00\"", "UTF-8");
    assert_text_from("{\"k\\\"ey\\n\":\"v\"}", "escaped key");
    assert_text_from("\"\"", "empty string");
}
END_TEST

START_TEST(test_numbers)
{
    assert_text_from("[0,-1,9223372036854775807,-9223372036854775808]",
                     "integers");
    assert_text_from("[0.5,-0.0,1.0,100.0,1e20,1.5e-7,0.1,3.14159265358979]",
                     "reals");
    assert_text_from("[1E+300,2.2250738585072014e-308,123456789012345678.0]",
                     "extreme reals");
}
END_TEST

START_TEST(test_structure)
{
    assert_text_from("{}", "empty object");
    assert_text_from("[]", "empty array");
    assert_text_from("[true,false,null,{},[[]],{\"a\":{\"b\":[1,{}]}}]",
                     "nesting");
    assert_text_from("{\"z\":1,\"a\":2,\"m\":3}", "member order");
}
END_TEST

START_TEST(test_large_text_grows)
{
    json_t *array = json_array();
    char chunk[5000];

    memset(chunk, 'x', sizeof(chunk) - 1);
    chunk[sizeof(chunk) - 1] = '\0';
    for (int i = 0; i < 50; i++)
        json_array_append_new(array, json_string(chunk));
    assert_same_as_jansson(array, "250 KB of strings");
    json_decref(array);
}
END_TEST

START_TEST(test_null_value)
{
    size_t len = 7;

    ck_assert_ptr_null(xapi_json_text(NULL, &len));
    ck_assert_uint_eq(len, 7);
}
END_TEST

static Suite *
json_text_suite(void)
{
    Suite *s = suite_create("json_text");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_every_data_file);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_structure);
    tcase_add_test(tc, test_large_text_grows);
    tcase_add_test(tc, test_null_value);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(json_text_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
