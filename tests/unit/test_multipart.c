/* Unit tests for http/multipart.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

static int
parse(const char *body, struct multipart *m, struct lrs_error *err)
{
    return multipart_parse(body, strlen(body), "xyz", m, err);
}

START_TEST(test_multipart_boundary_plain_and_quoted)
{
    char b[80];

    ck_assert_int_eq(multipart_boundary("multipart/mixed; boundary=abc123",
                                        b, sizeof(b)),
                     0);
    ck_assert_str_eq(b, "abc123");
    ck_assert_int_eq(multipart_boundary("multipart/mixed;boundary=\"a b\"; "
                                        "charset=x",
                                        b, sizeof(b)),
                     0);
    ck_assert_str_eq(b, "a b");
    ck_assert_int_eq(multipart_boundary("multipart/mixed;", b, sizeof(b)),
                     -1);
    ck_assert_int_eq(multipart_boundary("multipart/mixed", b, sizeof(b)), -1);
}
END_TEST

START_TEST(test_multipart_splits_parts_with_headers)
{
    const char *body = "--xyz\r\nContent-Type: application/json\r\n\r\n"
                       "{\"a\":1}\r\n--xyz\r\n"
                       "Content-Type:text/plain\r\n"
                       "Content-Transfer-Encoding: binary\r\n"
                       "X-Experience-API-Hash: abcd\r\n\r\n"
                       "line1\r\nline2\r\n--xyz--\r\n";
    struct multipart m;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse(body, &m, &err), 0);
    ck_assert_uint_eq(m.count, 2);
    ck_assert_str_eq(m.parts[0].content_type, "application/json");
    ck_assert_uint_eq(m.parts[0].len, 7);
    ck_assert_int_eq(memcmp(m.parts[0].data, "{\"a\":1}", 7), 0);
    ck_assert_str_eq(m.parts[1].content_type, "text/plain");
    ck_assert_str_eq(m.parts[1].hash, "abcd");
    ck_assert_str_eq(m.parts[1].encoding, "binary");
    ck_assert_uint_eq(m.parts[1].len, 12);
    ck_assert_int_eq(memcmp(m.parts[1].data, "line1\r\nline2", 12), 0);
}
END_TEST

START_TEST(test_multipart_accepts_leading_crlf_and_no_final_crlf)
{
    const char *body = "\r\n--xyz\r\nContent-Type:application/json\r\n\r\n"
                       "[]\r\n--xyz--";
    struct multipart m;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse(body, &m, &err), 0);
    ck_assert_uint_eq(m.count, 1);
    ck_assert_uint_eq(m.parts[0].len, 2);
}
END_TEST

START_TEST(test_multipart_rejects_body_not_starting_with_boundary)
{
    struct multipart m;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse("junk\r\n--xyz\r\n\r\n{}\r\n--xyz--", &m, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.message,
                     "body: must begin with the multipart boundary");
}
END_TEST

START_TEST(test_multipart_rejects_missing_close)
{
    struct multipart m;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse("--xyz\r\nContent-Type: application/json\r\n\r\n"
                           "{}",
                           &m, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
}
END_TEST

START_TEST(test_multipart_part_without_headers_is_allowed)
{
    struct multipart m;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse("--xyz\r\n\r\nabc\r\n--xyz--\r\n", &m, &err), 0);
    ck_assert_uint_eq(m.count, 1);
    ck_assert_str_eq(m.parts[0].content_type, "");
    ck_assert_uint_eq(m.parts[0].len, 3);
}
END_TEST

static Suite *
multipart_suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *tc = tcase_create("multipart");

    tcase_add_test(tc, test_multipart_boundary_plain_and_quoted);
    tcase_add_test(tc, test_multipart_splits_parts_with_headers);
    tcase_add_test(tc, test_multipart_accepts_leading_crlf_and_no_final_crlf);
    tcase_add_test(tc, test_multipart_rejects_body_not_starting_with_boundary);
    tcase_add_test(tc, test_multipart_rejects_missing_close);
    tcase_add_test(tc, test_multipart_part_without_headers_is_allowed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(multipart_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
