/* Unit tests for xapi/json_parse, held to jansson: for every input, both
 * parsers must agree on whether it is JSON, and when it is, build equal
 * values. The inputs are every JSON file under tests/data, hand-written
 * cases for each rule, and seeded random mutations of the data files. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xapi/json_parse.h"

#define MAX_FILES 512

static char *file_text[MAX_FILES];
static size_t file_len[MAX_FILES];
static int file_count;

static void
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    ck_assert_int_ge(n, 0);
    file_text[file_count] = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(file_text[file_count]);
    ck_assert_uint_eq(fread(file_text[file_count], 1, (size_t)n, f),
                      (size_t)n);
    fclose(f);
    file_len[file_count] = (size_t)n;
    file_count++;
}

static void
read_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *entry;

    if (d == NULL)
        return;
    while ((entry = readdir(d)) != NULL && file_count < MAX_FILES) {
        char path[4096];
        struct stat st;
        size_t len = strlen(entry->d_name);

        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            read_tree(path);
        else if (len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0)
            read_file(path);
    }
    closedir(d);
}

static void
load_data(void)
{
    const char *root = getenv("LRSD_TEST_DATA");

    if (file_count == 0)
        read_tree(root != NULL ? root : "tests/data");
}

/* Parses text with both parsers and checks that they agree. Returns 1
 * when it was JSON, 0 when both refused it. */
static int
agree(const char *text, size_t len, const char *what)
{
    json_error_t jerr;
    struct xapi_json_error err;
    json_t *want, *got = xapi_json_parse(text, len, &err);
    int ok;

    /* A raw NUL byte is never JSON. jansson reads its input through a
     * buffer that a NUL byte ends early, and so takes some texts that
     * hold one; lrsd must refuse them all. */
    if (memchr(text, '\0', len) != NULL) {
        ck_assert_msg(got == NULL, "%s: a NUL byte was taken", what);
        return 0;
    }
    want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    ok = want != NULL;

    if (want == NULL) {
        ck_assert_msg(got == NULL, "%s: jansson refused it (%s), lrsd took "
                      "it: %.*s", what, jerr.text, (int)(len > 200 ? 200
                      : len), text);
        ck_assert_msg(err.text[0] != '\0', "%s: no reason given", what);
        ck_assert_int_ge(err.line, 1);
        ck_assert_int_ge(err.column, 1);
        ck_assert_uint_le(err.offset, len);
    } else {
        char *a, *b;

        ck_assert_msg(got != NULL, "%s: jansson took it, lrsd refused it "
                      "at line %d column %d (%s): %.*s", what, err.line,
                      err.column, err.text, (int)(len > 200 ? 200 : len),
                      text);
        ck_assert_msg(json_equal(want, got), "%s: different values", what);
        /* json_equal takes 1 and 1.0 as unequal already; the text also
         * catches member order. */
        a = json_dumps(want, JSON_COMPACT);
        b = json_dumps(got, JSON_COMPACT);
        ck_assert_str_eq(b, a);
        free(a);
        free(b);
    }
    json_decref(want);
    json_decref(got);
    return ok;
}

static int
agree_str(const char *text)
{
    return agree(text, strlen(text), text);
}

START_TEST(test_data_files)
{
    load_data();
    /* The data holds well over a hundred JSON files: a missing folder must
     * fail rather than compare nothing. */
    ck_assert_int_ge(file_count, 100);
    for (int i = 0; i < file_count; i++)
        ck_assert_int_eq(agree(file_text[i], file_len[i], "data file"), 1);
}
END_TEST

START_TEST(test_accepted)
{
    static const char *const cases[] = {
        "{}", "[]", " \t\r\n[ ] \n", "[true,false,null]",
        "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}", "[0,-0,1,-1,123456789012345678]",
        "[9223372036854775807,-9223372036854775808]",
        "[1000000000000000000,-1000000000000000000]",
        "[0.5,-0.25,1e3,1E3,1e+3,1e-3,2.5E-10,0e0,-0.0]",
        "[1e-400,4.9e-324,1.7976931348623157e308]",
        "[\"\",\"plain\",\"caf\\u00e9\",\"\\ud83d\\ude00\",\"\\u20ac\"]",
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\x7f\"]",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]",
        "{\"k\\u00e9y\":1,\"k\\\"2\":2}", "{\"a\\nb\":{\"a\\nc\":[1]}}",
        "{\"\":0}", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_int_eq(agree_str(cases[i]), 1);
}
END_TEST

START_TEST(test_refused)
{
    static const char *const cases[] = {
        "", " ", "1", "\"a\"", "true", "null", "{}x", "[] []", "[1,]",
        "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}",
        "[01]", "[1.]", "[.5]", "[+1]", "[-]", "[1e]", "[1e+]", "[0x10]",
        "[1e400]", "[-1e400]", "[9223372036854775808]",
        "[-9223372036854775809]", "[99999999999999999999]", "[tru]",
        "[True]", "[nul]", "[NaN]", "[Infinity]", "[\"a]", "[\"\\x\"]",
        "[\"\\u12\"]", "[\"\\u12G4\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]", "[\"\\ud800x\"]", "[\"\\u0000\"]",
        "{\"\\u0000\":1}", "[\"tab\there\"]", "[\"nl\nhere\"]",
        "[\"\xc0\xaf\"]", "[\"\xc3\"]", "[\"\xe0\x80\xaf\"]",
        "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xf8\x88\"]",
        "[\"\x80\"]", "[\xc3\xa9]", "\xef\xbb\xbf[]", "{\"a\":1,\"a\":2}",
        "{\"a\":1,\"\\u0061\":2}", "[1 2]", "{\"a\" 1}", "[}", "{]",
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_int_eq(agree_str(cases[i]), 0);
    /* A NUL byte is no white space, nor allowed in a string. */
    ck_assert_int_eq(agree("[1,\0 2]", 7, "NUL between values"), 0);
    ck_assert_int_eq(agree("[\"a\0b\"]", 7, "NUL in a string"), 0);
}
END_TEST

START_TEST(test_depth_limit)
{
    size_t n = XAPI_JSON_MAX_DEPTH + 1;
    char *text = malloc(2 * n + 1);

    ck_assert_ptr_nonnull(text);
    memset(text, '[', n);
    memset(text + n, ']', n);
    text[2 * n] = '\0';
    ck_assert_int_eq(agree(text, 2 * n, "too deep"), 0);
    ck_assert_int_eq(agree(text + 1, 2 * n - 2, "deepest allowed"), 1);
    free(text);
}
END_TEST

START_TEST(test_error_position)
{
    struct xapi_json_error err;
    const char text[] = "{\n  \"caf\xc3\xa9\": tru\n}";

    ck_assert_ptr_null(xapi_json_parse(text, strlen(text), &err));
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.column, 11);
    ck_assert_str_eq(err.text, "invalid token");
    ck_assert_ptr_null(xapi_json_parse(NULL, 0, NULL));
}
END_TEST

/* A small deterministic generator, so that failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Bytes a mutation writes: JSON's own punctuation and escapes, the edges
 * of UTF-8, controls, digits and signs. */
static const char *const pieces[] = {
    "\"", "\\", "{", "}", "[", "]", ":", ",", " ", "\n", "\t", "0", "1",
    "-", "+", ".", "e", "E", "\\u", "\\ud83d", "\\ude00", "\\u0000",
    "\\n", "\\/", "\xc3", "\xa9", "\xc3\xa9", "\xed\xa0\x80", "\xf0\x9f",
    "\xff", "\x01", "\x7f", "true", "null", "1e999", "9223372036854775808",
    "\"a\":1,", "\"id\":", "[[", "]]", "\0",
};

static size_t
mutate(const char *src, size_t len, char *out, size_t cap)
{
    size_t n = len < cap ? len : cap;
    int edits = 1 + (int)(rng() % 3);

    memcpy(out, src, n);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t at = rng() % n;
        const char *piece = pieces[rng() % (sizeof(pieces) /
                                            sizeof(pieces[0]))];
        size_t plen = piece[0] == '\0' ? 1 : strlen(piece);

        switch (rng() % 4) {
        case 0: /* replace a byte with a piece */
            if (n - 1 + plen > cap)
                break;
            memmove(out + at + plen, out + at + 1, n - at - 1);
            memcpy(out + at, piece, plen);
            n = n - 1 + plen;
            break;
        case 1: /* insert a piece */
            if (n + plen > cap)
                break;
            memmove(out + at + plen, out + at, n - at);
            memcpy(out + at, piece, plen);
            n += plen;
            break;
        case 2: /* delete a byte */
            memmove(out + at, out + at + 1, n - at - 1);
            n--;
            break;
        default: /* cut the text short */
            n = at;
            break;
        }
    }
    return n;
}

START_TEST(test_mutations)
{
    enum { ROUNDS = 40, CAP = 1 << 16 };
    char *buf = malloc(CAP);
    int accepted = 0, refused = 0;

    ck_assert_ptr_nonnull(buf);
    load_data();
    ck_assert_int_ge(file_count, 100);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < file_count; i++) {
            size_t n = mutate(file_text[i], file_len[i], buf, CAP);

            if (agree(buf, n, "mutation"))
                accepted++;
            else
                refused++;
        }
    }
    /* Both outcomes must be well represented for the comparison to mean
     * something. */
    ck_assert_int_ge(accepted, file_count);
    ck_assert_int_ge(refused, file_count);
    free(buf);
}
END_TEST

static Suite *
json_parse_suite(void)
{
    Suite *s = suite_create("json_parse");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_data_files);
    tcase_add_test(tc, test_accepted);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_error_position);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(json_parse_suite());
    int failed;

    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < file_count; i++)
        free(file_text[i]);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
