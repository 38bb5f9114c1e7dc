/* Unit tests for xapi/compare. The cases live as JSON files under
 * tests/data/compare/equal and tests/data/compare/different, each holding
 * {"comment": why, "a": statement, "b": statement}. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/compare.h"

#define MAX_CASES 256

struct case_list {
    char *paths[MAX_CASES];
    size_t n;
};

static struct case_list equal_cases;
static struct case_list different_cases;

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the .json files of one directory under LRSD_TEST_DATA/compare. */
static void
list_cases(const char *subdir, struct case_list *list)
{
    const char *root = getenv("LRSD_TEST_DATA");
    char dir_path[1024];
    DIR *dir;
    struct dirent *entry;

    list->n = 0;
    snprintf(dir_path, sizeof(dir_path), "%s/compare/%s",
             root != NULL ? root : "tests/data", subdir);
    dir = opendir(dir_path);
    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL && list->n < MAX_CASES) {
        size_t len = strlen(entry->d_name);
        char path[2048];

        if (len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        list->paths[list->n] = strdup(path);
        if (list->paths[list->n] != NULL)
            list->n++;
    }
    closedir(dir);
    qsort(list->paths, list->n, sizeof(list->paths[0]), compare_names);
}

static void
free_cases(struct case_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->paths[i]);
    list->n = 0;
}

static json_t *
load_case(const char *path, json_t **a, json_t **b)
{
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);

    ck_assert_msg(root != NULL, "%s: %s", path, error.text);
    *a = json_object_get(root, "a");
    *b = json_object_get(root, "b");
    ck_assert_msg(json_is_object(*a) && json_is_object(*b),
                  "%s: needs objects a and b", path);
    return root;
}

START_TEST(test_compare_data_equal_pairs_equal_both_ways)
{
    const char *path = equal_cases.paths[_i];
    json_t *a;
    json_t *b;
    json_t *root = load_case(path, &a, &b);

    ck_assert_msg(xapi_statements_equal(a, b), "a != b in %s", path);
    ck_assert_msg(xapi_statements_equal(b, a), "b != a in %s", path);
    json_decref(root);
}
END_TEST

START_TEST(test_compare_data_different_pairs_differ)
{
    const char *path = different_cases.paths[_i];
    json_t *a;
    json_t *b;
    json_t *root = load_case(path, &a, &b);

    ck_assert_msg(!xapi_statements_equal(a, b), "a == b in %s", path);
    ck_assert_msg(!xapi_statements_equal(b, a), "b == a in %s", path);
    /* Each side still equals itself: the difference is between them. */
    ck_assert_msg(xapi_statements_equal(a, a), "a != a in %s", path);
    ck_assert_msg(xapi_statements_equal(b, b), "b != b in %s", path);
    json_decref(root);
}
END_TEST

START_TEST(test_compare_data_directories_are_not_empty)
{
    /* A missing data directory would otherwise pass vacuously. */
    ck_assert_uint_ge(equal_cases.n, 10);
    ck_assert_uint_ge(different_cases.n, 10);
}
END_TEST

static json_t *
load(const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, JSON_DECODE_ANY, &error);

    ck_assert_msg(json != NULL, "bad test JSON: %s", error.text);
    return json;
}

START_TEST(test_compare_rejects_non_objects)
{
    json_t *stmt = load("{\"verb\":{\"id\":\"http://x/v\"}}");
    json_t *array = load("[]");

    ck_assert(!xapi_statements_equal(stmt, NULL));
    ck_assert(!xapi_statements_equal(NULL, stmt));
    ck_assert(!xapi_statements_equal(stmt, array));
    json_decref(stmt);
    json_decref(array);
}
END_TEST

START_TEST(test_compare_leaves_both_statements_unchanged)
{
    json_t *a = load("{\"actor\":{\"mbox\":\"mailto:a@B.example\"},"
                     "\"context\":{\"contextActivities\":{\"parent\":"
                     "{\"id\":\"http://x/p\"}}}}");
    json_t *b = load("{\"actor\":{\"mbox\":\"mailto:a@b.example\"},"
                     "\"context\":{\"contextActivities\":{\"parent\":"
                     "[{\"id\":\"http://x/p\"}]}}}");
    char *before_a = json_dumps(a, JSON_COMPACT);
    char *before_b = json_dumps(b, JSON_COMPACT);
    char *after_a;
    char *after_b;

    ck_assert(xapi_statements_equal(a, b));
    after_a = json_dumps(a, JSON_COMPACT);
    after_b = json_dumps(b, JSON_COMPACT);
    ck_assert_str_eq(before_a, after_a);
    ck_assert_str_eq(before_b, after_b);
    free(before_a);
    free(before_b);
    free(after_a);
    free(after_b);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_compare_member_order_ignored_in_context_team)
{
    json_t *a = load("{\"context\":{\"team\":{\"objectType\":\"Group\","
                     "\"member\":[{\"mbox\":\"mailto:x@e.example\"},"
                     "{\"mbox\":\"mailto:y@e.example\"}]}}}");
    json_t *b = load("{\"context\":{\"team\":{\"objectType\":\"Group\","
                     "\"member\":[{\"mbox\":\"mailto:y@E.example\"},"
                     "{\"mbox\":\"mailto:x@e.example\"}]}}}");

    ck_assert(xapi_statements_equal(a, b));
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_compare_large_integers_compare_exactly)
{
    json_t *a = load("{\"result\":{\"extensions\":{\"http://x/e\":"
                     "9007199254740993}}}");
    json_t *b = load("{\"result\":{\"extensions\":{\"http://x/e\":"
                     "9007199254740992}}}");

    ck_assert(!xapi_statements_equal(a, b));
    json_decref(a);
    json_decref(b);
}
END_TEST

static Suite *
compare_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *data = tcase_create("data");
    TCase *code = tcase_create("code");

    tcase_add_test(data, test_compare_data_directories_are_not_empty);
    tcase_add_loop_test(data, test_compare_data_equal_pairs_equal_both_ways,
                        0, (int)equal_cases.n);
    tcase_add_loop_test(data,
                        test_compare_data_different_pairs_differ, 0,
                        (int)different_cases.n);
    suite_add_tcase(s, data);

    tcase_add_test(code, test_compare_rejects_non_objects);
    tcase_add_test(code, test_compare_leaves_both_statements_unchanged);
    tcase_add_test(code, test_compare_member_order_ignored_in_context_team);
    tcase_add_test(code, test_compare_large_integers_compare_exactly);
    suite_add_tcase(s, code);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    list_cases("equal", &equal_cases);
    list_cases("different", &different_cases);
    sr = srunner_create(compare_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free_cases(&equal_cases);
    free_cases(&different_cases);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
