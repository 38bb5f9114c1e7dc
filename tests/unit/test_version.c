/* Unit tests for xapi/version: the X-Experience-API-Version header. */
#include <check.h>
#include <stdlib.h>

#include "xapi/version.h"

START_TEST(test_version_accepts_every_1_0_patch)
{
    static const char *const headers[] = {"1.0", "1.0.0", "1.0.1", "1.0.2",
                                          "1.0.3", "1.0.9", "1.0.10"};

    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        enum xapi_version v = XAPI_V2_0;

        ck_assert_msg(xapi_version_parse(headers[i], &v) == 0, "%s",
                      headers[i]);
        ck_assert_int_eq(v, XAPI_V1_0);
    }
}
END_TEST

START_TEST(test_version_accepts_2_0_and_its_patches)
{
    static const char *const headers[] = {"2.0", "2.0.0", "2.0.1"};

    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        enum xapi_version v = XAPI_V1_0;

        ck_assert_msg(xapi_version_parse(headers[i], &v) == 0, "%s",
                      headers[i]);
        ck_assert_int_eq(v, XAPI_V2_0);
    }
}
END_TEST

START_TEST(test_version_rejects_missing_and_unsupported)
{
    static const char *const headers[] = {
        "",      "1",      "2",     "0.9",    "0.95",   "1.1",   "1.1.0",
        "3.0.0", "1.0.",   "1.0.x", "1.0.0.1", " 1.0.3", "1.0.3 ", "v1.0.3",
        "1.00",  "10.0.0", "2.0.a", "1.0-rc",
    };
    enum xapi_version v;

    ck_assert_int_eq(xapi_version_parse(NULL, &v), -1);
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        ck_assert_msg(xapi_version_parse(headers[i], &v) == -1, "'%s'",
                      headers[i]);
}
END_TEST

START_TEST(test_version_parse_leaves_output_alone_on_failure)
{
    enum xapi_version v = XAPI_V2_0;

    ck_assert_int_eq(xapi_version_parse("1.1", &v), -1);
    ck_assert_int_eq(v, XAPI_V2_0);
}
END_TEST

START_TEST(test_version_string_is_the_answered_version)
{
    ck_assert_str_eq(xapi_version_string(XAPI_V1_0), "1.0.3");
    ck_assert_str_eq(xapi_version_string(XAPI_V2_0), "2.0.0");
}
END_TEST

START_TEST(test_version_string_round_trips_through_parse)
{
    enum xapi_version versions[] = {XAPI_V1_0, XAPI_V2_0};

    for (size_t i = 0; i < 2; i++) {
        enum xapi_version back;

        ck_assert_int_eq(
            xapi_version_parse(xapi_version_string(versions[i]), &back), 0);
        ck_assert_int_eq(back, versions[i]);
    }
}
END_TEST

static Suite *
version_suite(void)
{
    Suite *s = suite_create("version");
    TCase *tc = tcase_create("version");

    tcase_add_test(tc, test_version_accepts_every_1_0_patch);
    tcase_add_test(tc, test_version_accepts_2_0_and_its_patches);
    tcase_add_test(tc, test_version_rejects_missing_and_unsupported);
    tcase_add_test(tc, test_version_parse_leaves_output_alone_on_failure);
    tcase_add_test(tc, test_version_string_is_the_answered_version);
    tcase_add_test(tc, test_version_string_round_trips_through_parse);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(version_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
