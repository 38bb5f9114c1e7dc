/*
 * Unit tests of xapi/formats.c: each value format with examples that must
 * pass and examples that must not, taken from the xAPI specification, RFC
 * 5646, RFC 3339 and the ADL conformance suite.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/formats.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- UUIDs ---------------------------------------------------------- */

START_TEST(test_uuid_accepts_standard_form)
{
    ck_assert(xapi_is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0"));
    ck_assert(xapi_is_uuid("E05AA883-ACAF-40AD-BF54-02C8CE485FB0"));
    ck_assert(xapi_is_uuid("00000000-0000-0000-0000-000000000000"));
}
END_TEST

START_TEST(test_uuid_rejects_malformed)
{
    static const char *const bad[] = {
        "",
        "fd41c918b88b4b20a0a5a4c32391aaa0",
        "AA97B177-9383-4934-8543-0F91A7A028368",  /* too many digits */
        "MA97B177-9383-4934-8543-0F91A7A02836",   /* not hex */
        "fd41c918-b88b-4b20-a0a5-a4c32391aaa",    /* too short */
        "{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}", /* braces */
        "fd41c918_b88b-4b20-a0a5-a4c32391aaa0",   /* wrong separator */
        "fd41c918-b88b4-b20-a0a5-a4c32391aaa0",   /* dash misplaced */
    };

    for (size_t i = 0; i < NITEMS(bad); i++)
        ck_assert_msg(!xapi_is_uuid(bad[i]), "accepted %s", bad[i]);
    ck_assert(!xapi_is_uuid(NULL));
}
END_TEST

START_TEST(test_uuid_normalize_lowercases)
{
    char out[37];

    ck_assert_int_eq(
        xapi_uuid_normalize("E05AA883-ACAF-40AD-BF54-02C8CE485FB0", out), 0);
    ck_assert_str_eq(out, "e05aa883-acaf-40ad-bf54-02c8ce485fb0");
    ck_assert_int_eq(xapi_uuid_normalize("not-a-uuid", out), -1);
}
END_TEST

/* ---- IRIs ------------------------------------------------------------ */

START_TEST(test_iri_accepts_absolute_iris)
{
    static const char *const good[] = {
        "http://adlnet.gov/expapi/verbs/completed",
        "https://example.com/a?b=c&d=%2F#frag",
        "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "urn:isbn:0451450523",
        "tag:example.com,2024:xapi",
        "mailto:ada@example.com",
        "x-custom+scheme.v1:thing",
        "https://例え.jp/活動/€",
        "http://[2001:db8::1]/path",
    };

    for (size_t i = 0; i < NITEMS(good); i++)
        ck_assert_msg(xapi_is_iri(good[i]), "rejected %s", good[i]);
}
END_TEST

START_TEST(test_iri_rejects_relative_and_malformed)
{
    static const char *const bad[] = {
        "",
        "example.com/no/scheme",
        "/absolute/path",
        "should fail",
        "ab=c://should.fail.com", /* '=' not allowed in a scheme */
        "1http://example.com",    /* scheme starts with a letter */
        ":no-scheme",
        "http:",                  /* nothing after the colon */
        "http://example.com/a b", /* space */
        "http://example.com/\t",  /* control character */
        "http://example.com/<x>",
        "http://example.com/\"q\"",
        "http://example.com/{x}",
        "http://example.com/a|b",
        "http://example.com/a\\b",
        "http://example.com/%zz",
        "http://example.com/%4",
        "http://example.com/#a#b",
        "http://example.com/\xc2\x85", /* C1 control U+0085 */
    };

    for (size_t i = 0; i < NITEMS(bad); i++)
        ck_assert_msg(!xapi_is_iri(bad[i]), "accepted %s", bad[i]);
    ck_assert(!xapi_is_iri(NULL));
}
END_TEST

/* ---- mailto and SHA-1 ------------------------------------------------ */

START_TEST(test_mailto_accepts_addresses)
{
    ck_assert(xapi_is_mailto("mailto:ada@example.com"));
    ck_assert(xapi_is_mailto("mailto:first.last+tag@sub.example.co.uk"));
}
END_TEST

START_TEST(test_mailto_rejects_others)
{
    static const char *const bad[] = {
        "ada@example.com",
        "mailto:",
        "mailto:ada",
        "mailto:@example.com",
        "mailto:ada@",
        "mailto:a@b@example.com",
        "mailto:ada @example.com",
        "MAILTO:ada@example.com",
        "http://example.com",
    };

    for (size_t i = 0; i < NITEMS(bad); i++)
        ck_assert_msg(!xapi_is_mailto(bad[i]), "accepted %s", bad[i]);
    ck_assert(!xapi_is_mailto(NULL));
}
END_TEST

START_TEST(test_sha1_requires_forty_hex_digits)
{
    ck_assert(xapi_is_sha1_hex("cd9b00a5611f94eaa7b1661edab976068e364975"));
    ck_assert(xapi_is_sha1_hex("CD9B00A5611F94EAA7B1661EDAB976068E364975"));
    ck_assert(!xapi_is_sha1_hex("cd9b00a5611f94eaa7b1661edab976068e36497"));
    ck_assert(!xapi_is_sha1_hex("cd9b00a5611f94eaa7b1661edab976068e3649751"));
    ck_assert(!xapi_is_sha1_hex("gd9b00a5611f94eaa7b1661edab976068e364975"));
    ck_assert(!xapi_is_sha1_hex(""));
    ck_assert(!xapi_is_sha1_hex(NULL));
}
END_TEST

/* ---- language tags ------------------------------------------------------ */

START_TEST(test_language_tag_accepts_rfc5646_examples)
{
    static const char *const good[] = {
        "de",
        "fr",
        "ja",
        "i-enochian",
        "zh-Hant",
        "zh-Hans",
        "sr-Cyrl",
        "sr-Latn",
        "zh-cmn-Hans-CN",
        "cmn-Hans-CN",
        "zh-yue-HK",
        "yue-HK",
        "zh-Hans-CN",
        "sr-Latn-RS",
        "sl-rozaj",
        "sl-rozaj-biske",
        "sl-nedis",
        "de-CH-1901",
        "sl-IT-nedis",
        "hy-Latn-IT-arevela",
        "de-DE",
        "en-US",
        "es-419",
        "de-CH-x-phonebk",
        "az-Arab-x-AZE-derbend",
        "x-whatever",
        "qaa-Qaaa-QM-x-southern",
        "de-Qaaa",
        "sr-Latn-QM",
        "sr-Qaaa-RS",
        "en-US-u-islamcal",
        "zh-CN-a-myext-x-private",
        "en-a-myext-b-another",
        "tlh",
        "ase",
        "EN-us",
        "en-GB-oed",
        "i-klingon",
        "art-lojban",
        "zh-min-nan",
        "sgn-BE-FR",
        "english",
        "de-1996",
    };

    for (size_t i = 0; i < NITEMS(good); i++)
        ck_assert_msg(xapi_is_language_tag(good[i]), "rejected %s", good[i]);
}
END_TEST

START_TEST(test_language_tag_rejects_rfc5646_counterexamples)
{
    static const char *const bad[] = {
        "",
        "a",
        "a12345",
        "a12345678",
        "de-419-DE",
        "a-DE",
        "ar-a-aaa-b-bbb-a-ccc", /* two extensions with one singleton */
        "zh-z-aaa-z-bbb-c-ccc", /* same, from the conformance suite */
        "de-DE-1901-1901",      /* repeated variant */
        "en-",
        "-en",
        "en--US",
        "en_US",
        "en US",
        "x",
        "x-",
        "en-x",
        "en-a",
        "en-a-b",
        "toolongtag",
        "en-US-abcdefghi",
        "en-Latn-Latn",
        "123",
        "i-notregistered",
    };

    for (size_t i = 0; i < NITEMS(bad); i++)
        ck_assert_msg(!xapi_is_language_tag(bad[i]), "accepted %s", bad[i]);
    ck_assert(!xapi_is_language_tag(NULL));
}
END_TEST

START_TEST(test_language_tag_rejects_too_many_subtags)
{
    char tag[400] = "en-x";

    for (int i = 0; i < 70; i++)
        strcat(tag, "-ab");
    ck_assert(!xapi_is_language_tag(tag));
}
END_TEST

/* ---- timestamps ----------------------------------------------------- */

static int64_t
parse_ok(const char *text, bool require_offset)
{
    int64_t us = -1;

    ck_assert_msg(xapi_timestamp_parse(text, require_offset, &us) == 0,
                  "rejected %s", text);
    return us;
}

START_TEST(test_timestamp_parses_to_utc_microseconds)
{
    ck_assert_int_eq(parse_ok("1970-01-01T00:00:00Z", true), 0);
    ck_assert_int_eq(parse_ok("2013-05-18T05:32:34.804Z", true),
                     INT64_C(1368855154804000));
    ck_assert_int_eq(parse_ok("2023-05-04T12:00:00-05:00", true),
                     parse_ok("2023-05-04T17:00:00.000Z", true));
    ck_assert_int_eq(parse_ok("2024-01-01T05:30:00+05:30", true),
                     parse_ok("2024-01-01T00:00:00Z", true));
    ck_assert_int_eq(parse_ok("2024-01-01T05:30:00+0530", true),
                     parse_ok("2024-01-01T00:00:00+00:00", true));
    ck_assert_int_eq(parse_ok("2024-01-01T03:00:00+03", true),
                     parse_ok("2024-01-01T00:00:00z", true));
}
END_TEST

START_TEST(test_timestamp_keeps_microseconds_and_truncates_beyond)
{
    int64_t base = parse_ok("2024-02-29T23:59:59Z", true);

    ck_assert_int_eq(parse_ok("2024-02-29T23:59:59.123456789Z", true),
                     base + 123456);
    ck_assert_int_eq(parse_ok("2024-02-29T23:59:59.5Z", true), base + 500000);
    ck_assert_int_eq(parse_ok("2024-02-29T23:59:59,25Z", true), base + 250000);
}
END_TEST

START_TEST(test_timestamp_handles_dates_before_the_epoch)
{
    ck_assert_int_eq(parse_ok("1969-12-31T23:59:59.999Z", true), -1000);
    ck_assert_int_eq(parse_ok("1900-03-01T00:00:00Z", true),
                     INT64_C(-2203891200) * 1000000);
}
END_TEST

START_TEST(test_timestamp_offset_required_only_when_asked)
{
    int64_t us;

    ck_assert_int_eq(parse_ok("2013-05-18T05:32:34.804", false),
                     parse_ok("2013-05-18T05:32:34.804Z", true));
    ck_assert_int_eq(xapi_timestamp_parse("2013-05-18T05:32:34.804", true, &us),
                     -1);
    ck_assert_int_eq(parse_ok("2013-05-18T05:32", false),
                     parse_ok("2013-05-18T05:32:00Z", true));
}
END_TEST

START_TEST(test_timestamp_rejects_invalid)
{
    static const char *const bad[] = {
        "",
        "should fail",
        "01/011/2015",
        "2015-01-01",
        "2015-01-01 12:00:00Z",       /* space separator */
        "2008-09-15T15:53:00.601-00", /* unknown offset, RFC 3339 */
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T12:60:00Z",
        "2024-01-01T12:00:61Z",
        "2024-01-01T12:00:00.Z",
        "2024-01-01T12:00:00+24:00",
        "2024-01-01T12:00:00+05:",
        "2024-01-01T12:00:00+5:30",
        "2024-01-01T12:00:00ZZ",
        "2024-01-01T12:00:00Z ",
        "24-01-01T12:00:00Z",
        "2024-1-01T12:00:00Z",
        "2024-01-01T1:00:00Z",
    };
    int64_t us;

    for (size_t i = 0; i < NITEMS(bad); i++) {
        ck_assert_msg(xapi_timestamp_parse(bad[i], false, &us) == -1,
                      "accepted %s", bad[i]);
    }
    ck_assert_int_eq(xapi_timestamp_parse(NULL, false, &us), -1);
}
END_TEST

START_TEST(test_timestamp_format_is_utc_milliseconds)
{
    char out[32];

    xapi_timestamp_format(0, out, sizeof(out));
    ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    xapi_timestamp_format(INT64_C(1368855154804999), out, sizeof(out));
    ck_assert_str_eq(out, "2013-05-18T05:32:34.804Z");
    xapi_timestamp_format(-1000, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
    xapi_timestamp_format(parse_ok("2000-02-29T23:59:59.5+01:00", true), out,
                          sizeof(out));
    ck_assert_str_eq(out, "2000-02-29T22:59:59.500Z");
}
END_TEST

START_TEST(test_timestamp_format_keeps_milliseconds_000_and_999)
{
    char out[32];

    xapi_timestamp_format(INT64_C(1709164800000000), out, sizeof(out));
    ck_assert_str_eq(out, "2024-02-29T00:00:00.000Z");
    xapi_timestamp_format(INT64_C(1709164800999999), out, sizeof(out));
    ck_assert_str_eq(out, "2024-02-29T00:00:00.999Z");
    xapi_timestamp_format(INT64_C(1709164800000999), out, sizeof(out));
    ck_assert_str_eq(out, "2024-02-29T00:00:00.000Z");
    xapi_timestamp_format(INT64_C(253402300799999999), out, sizeof(out));
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(test_timestamp_format_rounds_negative_times_down)
{
    char out[32];

    xapi_timestamp_format(-1, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
    xapi_timestamp_format(-1000000, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31T23:59:59.000Z");
    xapi_timestamp_format(-1000001, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31T23:59:58.999Z");
    xapi_timestamp_format(INT64_C(-2203847999001000), out, sizeof(out));
    ck_assert_str_eq(out, "1900-03-01T12:00:00.999Z");
}
END_TEST

START_TEST(test_timestamp_format_pads_years_below_1000)
{
    char out[32];

    xapi_timestamp_format(INT64_C(-30610224000000001), out, sizeof(out));
    ck_assert_str_eq(out, "0999-12-31T23:59:59.999Z");
    xapi_timestamp_format(INT64_C(-62135596800000000), out, sizeof(out));
    ck_assert_str_eq(out, "0001-01-01T00:00:00.000Z");
    /* Year 0 (1 BC in the proleptic Gregorian calendar). */
    xapi_timestamp_format(INT64_C(-62167219200000000), out, sizeof(out));
    ck_assert_str_eq(out, "0000-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_timestamp_format_is_defined_outside_four_digit_years)
{
    char out[32];

    xapi_timestamp_format(INT64_C(253402300800000000), out, sizeof(out));
    ck_assert_str_eq(out, "10000-01-01T00:00:00.000Z");
    xapi_timestamp_format(INT64_C(-62167219200000001), out, sizeof(out));
    ck_assert_str_eq(out, "-001-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(test_timestamp_format_truncates_to_a_short_buffer)
{
    char out[11];

    memset(out, 'x', sizeof(out));
    xapi_timestamp_format(INT64_C(1709164800000000), out, sizeof(out));
    ck_assert_str_eq(out, "2024-02-29");
}
END_TEST

START_TEST(test_timestamp_format_round_trips_parse)
{
    static const char *const samples[] = {
        "2024-03-14T09:26:53.589Z", "1999-12-31T23:59:59.999Z",
        "2038-01-19T03:14:08.000Z", "0001-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z", "1600-02-29T12:00:00.001Z",
    };
    char out[32];

    for (size_t i = 0; i < NITEMS(samples); i++) {
        xapi_timestamp_format(parse_ok(samples[i], true), out, sizeof(out));
        ck_assert_str_eq(out, samples[i]);
    }
}
END_TEST

/* ---- durations ------------------------------------------------------ */

START_TEST(test_duration_accepts_iso8601_forms)
{
    static const char *const good[] = {
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1H0M0.1S",
        "P1DT12H36M0.12567S",
        "PT0S",
        "P0D",
        "P1M",
        "PT1M",
        "P1Y2M3DT4H5M6S",
        "PT0,5S",
        "P0.5Y",
        "PT1.5H",
        "P2.5W",
    };

    for (size_t i = 0; i < NITEMS(good); i++)
        ck_assert_msg(xapi_is_duration(good[i]), "rejected %s", good[i]);
}
END_TEST

START_TEST(test_duration_rejects_malformed)
{
    static const char *const bad[] = {
        "",         "P",           "PT",
        "P1DT",     "T1H",         "1D",
        "PA1H0M0S", "should fail", "P4W1D",
        "P1WT1H",   "P1D1Y",       "P1Y1Y",
        "PT1S1M",   "PT1.5M30S",   "P1.5YT1H",
        "PT.5S",    "PT1.S",       "P1H",
        "PT1D",     "P-1D",        "P0003-01-29T04:35:59",
        "pT1S",     "PT1s",        "P1DT1H ",
    };

    for (size_t i = 0; i < NITEMS(bad); i++)
        ck_assert_msg(!xapi_is_duration(bad[i]), "accepted %s", bad[i]);
    ck_assert(!xapi_is_duration(NULL));
}
END_TEST

static Suite *
formats_suite(void)
{
    Suite *s = suite_create("formats");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_uuid_accepts_standard_form);
    tcase_add_test(tc, test_uuid_rejects_malformed);
    tcase_add_test(tc, test_uuid_normalize_lowercases);
    tcase_add_test(tc, test_iri_accepts_absolute_iris);
    tcase_add_test(tc, test_iri_rejects_relative_and_malformed);
    tcase_add_test(tc, test_mailto_accepts_addresses);
    tcase_add_test(tc, test_mailto_rejects_others);
    tcase_add_test(tc, test_sha1_requires_forty_hex_digits);
    tcase_add_test(tc, test_language_tag_accepts_rfc5646_examples);
    tcase_add_test(tc, test_language_tag_rejects_rfc5646_counterexamples);
    tcase_add_test(tc, test_language_tag_rejects_too_many_subtags);
    tcase_add_test(tc, test_timestamp_parses_to_utc_microseconds);
    tcase_add_test(tc, test_timestamp_keeps_microseconds_and_truncates_beyond);
    tcase_add_test(tc, test_timestamp_handles_dates_before_the_epoch);
    tcase_add_test(tc, test_timestamp_offset_required_only_when_asked);
    tcase_add_test(tc, test_timestamp_rejects_invalid);
    tcase_add_test(tc, test_timestamp_format_is_utc_milliseconds);
    tcase_add_test(tc, test_timestamp_format_round_trips_parse);
    tcase_add_test(tc, test_timestamp_format_keeps_milliseconds_000_and_999);
    tcase_add_test(tc, test_timestamp_format_rounds_negative_times_down);
    tcase_add_test(tc, test_timestamp_format_pads_years_below_1000);
    tcase_add_test(tc,
                   test_timestamp_format_is_defined_outside_four_digit_years);
    tcase_add_test(tc, test_timestamp_format_truncates_to_a_short_buffer);
    tcase_add_test(tc, test_duration_accepts_iso8601_forms);
    tcase_add_test(tc, test_duration_rejects_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(formats_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
