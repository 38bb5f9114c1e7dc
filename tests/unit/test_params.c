/* Unit tests for http/params.c and the Basic header parser. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"
#include "http/form.h"
#include "http/params.h"
#include "xapi/statement.h"

#define PAGE_LIMIT 100

static int
parse(struct param_list *p, struct statements_get *g, struct lrs_error *err)
{
    return params_statements_get(p, XAPI_V1_0, 1, PAGE_LIMIT, g, err);
}

static bool
has_filter(const struct statements_get *g, enum xapi_index_kind kind,
           const char *value)
{
    unsigned char digest[XAPI_KEY_DIGEST_LEN];

    ck_assert_int_eq(xapi_key_digest(kind, value, digest), 0);
    for (size_t i = 0; i < g->query.nfilters; i++) {
        if (g->query.filters[i].kind == kind &&
            memcmp(g->query.filters[i].digest, digest, sizeof(digest)) == 0)
            return true;
    }
    return false;
}

START_TEST(test_params_defaults_to_newest_first_and_page_limit)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert(!g.query.ascending);
    ck_assert_int_eq(g.query.limit, PAGE_LIMIT);
    ck_assert_int_eq(g.format, XAPI_FORMAT_EXACT);
    ck_assert_int_eq(g.query.store_id, 1);
    params_statements_get_free(&g);
}
END_TEST

START_TEST(test_params_limit_zero_means_page_limit)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    params_add(&p, "limit", "0");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert_int_eq(g.query.limit, PAGE_LIMIT);
    params_statements_get_free(&g);
    p.count = 0;
    params_add(&p, "limit", "7");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert_int_eq(g.query.limit, 7);
    params_statements_get_free(&g);
}
END_TEST

START_TEST(test_params_rejects_negative_or_garbage_limit)
{
    const char *bad[] = {"-1", "ten", "", "5x", "+3"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct param_list p = {0};
        struct statements_get g;
        struct lrs_error err = {0};

        params_add(&p, "limit", bad[i]);
        ck_assert_int_eq(parse(&p, &g, &err), -1);
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.message, "limit: must be a non-negative integer");
    }
}
END_TEST

START_TEST(test_params_rejects_unknown_and_miscased_names)
{
    const char *bad[] = {"foo", "LIMIT", "StatementId", "Verb"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct param_list p = {0};
        struct statements_get g;
        struct lrs_error err = {0};

        params_add(&p, bad[i], "1");
        ck_assert_int_eq(parse(&p, &g, &err), -1);
        ck_assert_int_eq(err.status, 400);
        ck_assert_ptr_nonnull(strstr(err.message, "unknown parameter"));
        ck_assert_int_eq(strncmp(err.message, bad[i], strlen(bad[i])), 0);
    }
}
END_TEST

START_TEST(test_params_single_lookup_allows_only_format_and_attachments)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    params_add(&p, "statementId", "0C1D52B4-3E9C-4B0E-9F0B-1C2D3E4F5A6B");
    params_add(&p, "format", "ids");
    params_add(&p, "attachments", "true");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert(g.single);
    ck_assert(!g.query.voided);
    ck_assert(g.attachments);
    ck_assert_str_eq(g.statement_id, "0c1d52b4-3e9c-4b0e-9f0b-1c2d3e4f5a6b");
    params_statements_get_free(&g);

    params_add(&p, "limit", "1");
    ck_assert_int_eq(parse(&p, &g, &err), -1);
    ck_assert_str_eq(err.message, "limit: not allowed with statementId or "
                                  "voidedStatementId");
}
END_TEST

START_TEST(test_params_rejects_both_ids_and_bad_uuid)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    params_add(&p, "statementId", "0c1d52b4-3e9c-4b0e-9f0b-1c2d3e4f5a6b");
    params_add(&p, "voidedStatementId", "0c1d52b4-3e9c-4b0e-9f0b-1c2d3e4f5a6b");
    ck_assert_int_eq(parse(&p, &g, &err), -1);
    ck_assert_int_eq(err.status, 400);

    p.count = 0;
    params_add(&p, "voidedStatementId", "not-a-uuid");
    ck_assert_int_eq(parse(&p, &g, &err), -1);
    ck_assert_str_eq(err.message, "voidedStatementId: must be a UUID");
}
END_TEST

START_TEST(test_params_filters_become_index_keys)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    params_add(&p, "agent", "{\"mbox\":\"mailto:a@example.com\"}");
    params_add(&p, "verb", "http://adlnet.gov/expapi/verbs/answered");
    params_add(&p, "activity", "http://example.com/course/1");
    params_add(&p, "registration", "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert_uint_eq(g.query.nfilters, 4);
    ck_assert(has_filter(&g, XAPI_KEY_AGENT, "mbox:mailto:a@example.com"));
    ck_assert(has_filter(&g, XAPI_KEY_VERB,
                         "http://adlnet.gov/expapi/verbs/answered"));
    ck_assert(has_filter(&g, XAPI_KEY_ACTIVITY, "http://example.com/course/1"));
    ck_assert(has_filter(&g, XAPI_KEY_REGISTRATION,
                         "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"));
    params_statements_get_free(&g);
}
END_TEST

START_TEST(test_params_related_flags_select_broad_keys)
{
    struct param_list p = {0};
    struct statements_get g;
    struct lrs_error err = {0};

    params_add(&p, "agent", "{\"mbox\":\"mailto:a@example.com\"}");
    params_add(&p, "related_agents", "true");
    params_add(&p, "activity", "http://example.com/course/1");
    params_add(&p, "related_activities", "true");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    ck_assert(
        has_filter(&g, XAPI_KEY_AGENT_RELATED, "mbox:mailto:a@example.com"));
    ck_assert(has_filter(&g, XAPI_KEY_ACTIVITY_RELATED,
                         "http://example.com/course/1"));
    ck_assert(!has_filter(&g, XAPI_KEY_AGENT, "mbox:mailto:a@example.com"));
    params_statements_get_free(&g);
}
END_TEST

START_TEST(test_params_rejects_malformed_filter_values)
{
    const char *cases[][3] = {
        {"agent", "not json", "agent:"},
        {"agent", "{\"mbox\":\"a@example.com\"}", "agent.mbox"},
        {"verb", "not an iri", "verb: must be an absolute IRI"},
        {"registration", "1234", "registration: must be a UUID"},
        {"since", "yesterday", "since: must be an ISO 8601 timestamp"},
        {"ascending", "yes", "ascending: must be true or false"},
        {"format", "full", "format: must be exact, ids or canonical"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct param_list p = {0};
        struct statements_get g;
        struct lrs_error err = {0};

        params_add(&p, cases[i][0], cases[i][1]);
        ck_assert_int_eq(parse(&p, &g, &err), -1);
        ck_assert_int_eq(err.status, 400);
        ck_assert_msg(strncmp(err.message, cases[i][2], strlen(cases[i][2])) ==
                          0,
                      "%s=%s gave '%s'", cases[i][0], cases[i][1], err.message);
    }
}
END_TEST

START_TEST(test_params_more_cursor_restores_query_and_position)
{
    struct param_list p = {0}, next = {0};
    struct statements_get g, g2;
    struct lrs_error err = {0};
    char *token;

    params_add(&p, "verb", "http://example.com/verbs/a&b=c");
    params_add(&p, "limit", "3");
    params_add(&p, "ascending", "true");
    ck_assert_int_eq(parse(&p, &g, &err), 0);
    token = params_more_token(&g, 12345);
    ck_assert_ptr_nonnull(token);
    ck_assert_uint_eq(strcspn(token, "+/=&?%"), strlen(token));

    params_add(&next, "more", token);
    ck_assert_int_eq(parse(&next, &g2, &err), 0);
    ck_assert_int_eq(g2.query.after_seq, 12345);
    ck_assert_int_eq(g2.query.limit, 3);
    ck_assert(g2.query.ascending);
    ck_assert(has_filter(&g2, XAPI_KEY_VERB, "http://example.com/verbs/a&b=c"));
    params_statements_get_free(&g2);
    params_statements_get_free(&g);
    free(token);
}
END_TEST

START_TEST(test_params_rejects_forged_more_cursor)
{
    const char *bad[] = {"abc", "!!!", "MTIz"};
    /* "MTIz" decodes to "123" with no parameters: valid. */
    for (size_t i = 0; i < 2; i++) {
        struct param_list p = {0};
        struct statements_get g;
        struct lrs_error err = {0};

        params_add(&p, "more", bad[i]);
        ck_assert_int_eq(parse(&p, &g, &err), -1);
        ck_assert_str_eq(err.message, "more: not a cursor this server issued");
    }
    {
        struct param_list p = {0};
        struct statements_get g;
        struct lrs_error err = {0};

        params_add(&p, "more", bad[2]);
        ck_assert_int_eq(parse(&p, &g, &err), 0);
        ck_assert_int_eq(g.query.after_seq, 123);
        params_statements_get_free(&g);
    }
}
END_TEST

START_TEST(test_auth_parses_basic_header)
{
    char key[64], secret[64];

    /* base64("user:pa:ss") */
    ck_assert_int_eq(auth_parse_basic("Basic dXNlcjpwYTpzcw==", key,
                                      sizeof(key), secret, sizeof(secret)),
                     0);
    ck_assert_str_eq(key, "user");
    ck_assert_str_eq(secret, "pa:ss");
    ck_assert_int_eq(auth_parse_basic("basic   dXNlcjpwYTpzcw== ", key,
                                      sizeof(key), secret, sizeof(secret)),
                     0);
}
END_TEST

START_TEST(test_auth_rejects_other_schemes_and_garbage)
{
    char key[64], secret[64];

    ck_assert_int_eq(
        auth_parse_basic(NULL, key, sizeof(key), secret, sizeof(secret)), -1);
    ck_assert_int_eq(auth_parse_basic("Bearer abc", key, sizeof(key), secret,
                                      sizeof(secret)),
                     -1);
    /* base64("nocolon") */
    ck_assert_int_eq(auth_parse_basic("Basic bm9jb2xvbg==", key, sizeof(key),
                                      secret, sizeof(secret)),
                     -1);
    ck_assert_int_eq(
        auth_parse_basic("Basic ***", key, sizeof(key), secret, sizeof(secret)),
        -1);
}
END_TEST

START_TEST(test_form_splits_headers_params_and_content)
{
    const char *body = "statementId=abc&content=%7B%22a%22%3A+1%7D"
                       "&authorization=Basic+dXNlcjpwYXNz"
                       "&X-Experience-API-Version=1.0.3&Content-Type="
                       "application%2Fjson";
    struct form f;
    struct lrs_error err = {0};

    ck_assert_int_eq(form_parse(body, strlen(body), &f, &err), 0);
    ck_assert_str_eq(params_get(&f.params, "statementId"), "abc");
    ck_assert_uint_eq(f.params.count, 1);
    ck_assert_str_eq(params_get(&f.headers, "Authorization"),
                     "Basic dXNlcjpwYXNz");
    ck_assert_str_eq(params_get(&f.headers, "X-Experience-API-Version"),
                     "1.0.3");
    ck_assert_str_eq(params_get(&f.headers, "Content-Type"),
                     "application/json");
    ck_assert_str_eq(f.content, "{\"a\": 1}");
    ck_assert_uint_eq(f.content_len, 8);
    form_free(&f);
}
END_TEST

START_TEST(test_form_rejects_broken_escapes)
{
    struct form f;
    struct lrs_error err = {0};

    ck_assert_int_eq(form_parse("content=%zz", 11, &f, &err), -1);
    ck_assert_int_eq(err.status, 400);
}
END_TEST

static Suite *
params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("params");

    tcase_add_test(tc, test_params_defaults_to_newest_first_and_page_limit);
    tcase_add_test(tc, test_params_limit_zero_means_page_limit);
    tcase_add_test(tc, test_params_rejects_negative_or_garbage_limit);
    tcase_add_test(tc, test_params_rejects_unknown_and_miscased_names);
    tcase_add_test(
        tc, test_params_single_lookup_allows_only_format_and_attachments);
    tcase_add_test(tc, test_params_rejects_both_ids_and_bad_uuid);
    tcase_add_test(tc, test_params_filters_become_index_keys);
    tcase_add_test(tc, test_params_related_flags_select_broad_keys);
    tcase_add_test(tc, test_params_rejects_malformed_filter_values);
    tcase_add_test(tc, test_params_more_cursor_restores_query_and_position);
    tcase_add_test(tc, test_params_rejects_forged_more_cursor);
    tcase_add_test(tc, test_auth_parses_basic_header);
    tcase_add_test(tc, test_auth_rejects_other_schemes_and_garbage);
    tcase_add_test(tc, test_form_splits_headers_params_and_content);
    tcase_add_test(tc, test_form_rejects_broken_escapes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(params_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
