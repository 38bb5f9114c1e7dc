/*
 * lrsd while its database is down: requests are answered 503 with
 * Retry-After at once, nothing is acknowledged that was not stored, and
 * lrsd serves again by itself once PostgreSQL is back.
 *
 * Runs under tests/with-lrsd, which runs under tests/with-postgres: the
 * test stops and restarts that cluster with LRSD_TEST_PGCTL.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "http/client.h"

static long long
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pg_ctl(const char *action)
{
    const char *ctl = getenv("LRSD_TEST_PGCTL");
    const char *dir = getenv("LRSD_TEST_PGDIR");
    char cmd[2048];

    ck_assert_msg(ctl != NULL && dir != NULL,
                  "run under tests/with-postgres (LRSD_TEST_PGCTL)");
    snprintf(cmd, sizeof(cmd), "%s -w -l %s/server.log %s >/dev/null 2>&1",
             ctl, dir, action);
    ck_assert_int_eq(system(cmd), 0);
}

static json_t *
statement(const char *id)
{
    json_t *s = json_pack(
        "{s:s, s:{s:s}, s:{s:s}, s:{s:s}}", "id", id, "actor", "mbox",
        "mailto:offline@example.com", "verb", "id",
        "http://adlnet.gov/expapi/verbs/experienced", "object", "id",
        "http://lrsd.test/course/offline");

    ck_assert_ptr_nonnull(s);
    return s;
}

static void
expect_unavailable(struct http_response *resp)
{
    const char *retry = http_header(resp, "Retry-After");

    ck_assert_msg(resp->status == 503, "status %ld: %.200s", resp->status,
                  resp->body);
    ck_assert_msg(retry != NULL && atoi(retry) >= 1,
                  "Retry-After '%s' on a 503", retry ? retry : "(none)");
    ck_assert_ptr_nonnull(resp->json);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(resp->json, "error"), "status")),
                     503);
}

/* Polls until a query answers 200, for at most limit_ms. */
static long
wait_until_served(long long limit_ms)
{
    long long start = monotonic_ms();
    long status = 0;

    while (monotonic_ms() - start < limit_ms) {
        struct http_response *resp = http_get("statements?limit=1");

        status = resp->status;
        http_response_free(resp);
        if (status == 200)
            break;
        usleep(100 * 1000);
    }
    return status;
}

START_TEST(test_database_down_gives_503_then_recovers)
{
    char id[37], target[96];
    uuid_t u;
    json_t *stmt;
    struct http_response *resp;
    long long start;

    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    stmt = statement(id);

    /* Warm: the credential is cached, connections are open. */
    resp = http_get("statements?limit=1");
    ck_assert_int_eq(resp->status, 200);
    http_response_free(resp);

    pg_ctl("-m fast stop");
    start = monotonic_ms();
    resp = http_get("statements?limit=1");
    expect_unavailable(resp);
    http_response_free(resp);
    resp = http_send_json("POST", "statements", stmt);
    expect_unavailable(resp);
    http_response_free(resp);
    /* "At once": well under any client's timeout, no hang. */
    ck_assert_int_lt(monotonic_ms() - start, 3000);

    pg_ctl("start");
    ck_assert_int_eq(wait_until_served(10000), 200);

    /* The refused statement was not stored; sent again, it is. */
    snprintf(target, sizeof(target), "statements?statementId=%s", id);
    resp = http_get(target);
    ck_assert_int_eq(resp->status, 404);
    http_response_free(resp);
    resp = http_send_json("POST", "statements", stmt);
    ck_assert_int_eq(resp->status, 200);
    http_response_free(resp);
    resp = http_get(target);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(resp->json, "id")),
                     id);
    http_response_free(resp);
    json_decref(stmt);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("unavailable");
    TCase *tc = tcase_create("database_down");
    SRunner *runner;
    int failed;

    if (http_client_init() < 0)
        return EXIT_FAILURE;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_database_down_gives_503_then_recovers);
    suite_add_tcase(s, tc);
    runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    http_client_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
