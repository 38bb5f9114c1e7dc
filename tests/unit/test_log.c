/* Unit tests for core/: log value quoting, level parsing, base64 and the
 * growable buffer. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"

START_TEST(test_log_quote_leaves_plain_tokens_alone)
{
    char buf[64];

    ck_assert_str_eq(log_quote(buf, sizeof(buf), "/xapi/statements"),
                     "/xapi/statements");
}
END_TEST

START_TEST(test_log_quote_escapes_spaces_quotes_and_controls)
{
    char buf[64];

    ck_assert_str_eq(log_quote(buf, sizeof(buf), "a b\"c\n"),
                     "\"a b\\\"c\\x0a\"");
    ck_assert_str_eq(log_quote(buf, sizeof(buf), ""), "\"\"");
    ck_assert_str_eq(log_quote(buf, sizeof(buf), "k=v"), "\"k=v\"");
}
END_TEST

START_TEST(test_log_quote_truncates_within_buffer)
{
    char buf[8];

    log_quote(buf, sizeof(buf), "a long value with spaces");
    ck_assert_uint_lt(strlen(buf), sizeof(buf));
    ck_assert_int_eq(buf[0], '"');
    ck_assert_int_eq(buf[strlen(buf) - 1], '"');
}
END_TEST

START_TEST(test_log_level_parse_accepts_the_four_levels_only)
{
    enum log_level level;

    ck_assert_int_eq(log_level_parse("debug", &level), 0);
    ck_assert_int_eq(level, LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("error", &level), 0);
    ck_assert_int_eq(level, LOG_ERROR);
    ck_assert_int_eq(log_level_parse("verbose", &level), -1);
}
END_TEST

START_TEST(test_error_set_formats_and_returns_minus_one)
{
    struct lrs_error err;

    ck_assert_int_eq(lrs_error_set(&err, 400, "%s: must be %d", "x.y", 3), -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.message, "x.y: must be 3");
    lrs_error_clear(&err);
    ck_assert_int_eq(err.status, 0);
}
END_TEST

START_TEST(test_base64_round_trips_all_lengths)
{
    unsigned char data[64];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (int url = 0; url <= 1; url++) {
        for (size_t len = 0; len <= sizeof(data); len++) {
            char *text = base64_encode(data, len, url);
            size_t out_len;
            unsigned char *back;

            ck_assert_ptr_nonnull(text);
            back = base64_decode(text, strlen(text), &out_len);
            ck_assert_ptr_nonnull(back);
            ck_assert_uint_eq(out_len, len);
            ck_assert_int_eq(memcmp(back, data, len), 0);
            free(text);
            free(back);
        }
    }
}
END_TEST

START_TEST(test_base64_known_vectors)
{
    char *text = base64_encode("foobar", 6, false);
    size_t len;
    unsigned char *back;

    ck_assert_str_eq(text, "Zm9vYmFy");
    free(text);
    text = base64_encode("fo", 2, false);
    ck_assert_str_eq(text, "Zm8=");
    free(text);
    back = base64_decode("dXNlcjpwYXNz", 12, &len);
    ck_assert_str_eq((char *)back, "user:pass");
    free(back);
}
END_TEST

START_TEST(test_base64_rejects_foreign_characters)
{
    size_t len;

    ck_assert_ptr_null(base64_decode("ab$d", 4, &len));
    ck_assert_ptr_null(base64_decode("a", 1, &len));
}
END_TEST

START_TEST(test_buf_grows_and_keeps_its_bytes)
{
    struct buf b;
    char expect[5000];

    buf_init(&b);
    for (size_t i = 0; i < sizeof(expect); i++) {
        char c = (char)('a' + i % 26);

        expect[i] = c;
        buf_append(&b, &c, 1);
    }
    ck_assert(!b.failed);
    ck_assert_uint_eq(b.len, sizeof(expect));
    ck_assert_uint_ge(b.cap, b.len);
    /* Doubling from the first allocation of 256: a power of two. */
    ck_assert_uint_ge(b.cap, 256);
    ck_assert_uint_eq(b.cap & (b.cap - 1), 0);
    ck_assert_int_eq(memcmp(b.data, expect, sizeof(expect)), 0);
    buf_append(&b, "xyz", 0);
    ck_assert_uint_eq(b.len, sizeof(expect));
    buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_buf_reset_keeps_memory)
{
    struct buf b;
    char *data;
    size_t cap;

    buf_init(&b);
    buf_append(&b, "hello", 5);
    data = b.data;
    cap = b.cap;
    buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_eq(b.data, data);
    ck_assert_uint_eq(b.cap, cap);
    buf_append(&b, "hi", 2);
    ck_assert_int_eq(memcmp(b.data, "hi", 2), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_buf_failure_sticks_until_reset)
{
    struct buf b;

    buf_init(&b);
    buf_append(&b, "abc", 3);
    ck_assert(!buf_reserve(&b, SIZE_MAX - 1));
    ck_assert(b.failed);
    buf_append(&b, "def", 3);
    ck_assert_uint_eq(b.len, 3);
    ck_assert(!buf_reserve(&b, 1));
    ck_assert_int_eq(memcmp(b.data, "abc", 3), 0);
    buf_reset(&b);
    ck_assert(!b.failed);
    ck_assert(buf_reserve(&b, 1));
    buf_free(&b);
}
END_TEST

static Suite *
core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_log_quote_leaves_plain_tokens_alone);
    tcase_add_test(tc, test_log_quote_escapes_spaces_quotes_and_controls);
    tcase_add_test(tc, test_log_quote_truncates_within_buffer);
    tcase_add_test(tc, test_log_level_parse_accepts_the_four_levels_only);
    tcase_add_test(tc, test_error_set_formats_and_returns_minus_one);
    tcase_add_test(tc, test_base64_round_trips_all_lengths);
    tcase_add_test(tc, test_base64_known_vectors);
    tcase_add_test(tc, test_base64_rejects_foreign_characters);
    tcase_add_test(tc, test_buf_grows_and_keeps_its_bytes);
    tcase_add_test(tc, test_buf_reset_keeps_memory);
    tcase_add_test(tc, test_buf_failure_sticks_until_reset);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(core_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
