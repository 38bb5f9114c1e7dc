/*
 * The store against a real PostgreSQL (suite db): migrations, the schema
 * file, the writer (group commit, conflicts, voiding, StatementRef keys),
 * queries (filters, paging, since/until), credentials, and behaviour when
 * the database goes away. Started by tests/with-postgres, which provides
 * an empty database in LRSD_TEST_DATABASE.
 */
#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "store/keys.h"
#include "store/migrate.h"
#include "store/migrations.h"
#include "store/statements.h"
#include "store/store.h"
#include "xapi/compare.h"
#include "xapi/formats.h"
#include "xapi/statement.h"

static const char *conninfo;
static struct store *st;

/* ---- helpers ---- */

static void
new_uuid(char out[37])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* conninfo with dbname replaced (a later keyword overrides). */
static char *
conninfo_for(const char *dbname)
{
    size_t len = strlen(conninfo) + strlen(dbname) + 16;
    char *out = malloc(len);

    ck_assert_ptr_nonnull(out);
    snprintf(out, len, "%s dbname=%s", conninfo, dbname);
    return out;
}

/* Runs sql on a database; fails the test unless it succeeds. Returns the
 * result (caller clears). */
static PGresult *
db_exec(const char *info, const char *sql)
{
    PGconn *pg = PQconnectdb(info);
    PGresult *res;

    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect: %s",
                  PQerrorMessage(pg));
    res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
                      PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(res));
    PQfinish(pg);
    return res;
}

static void
db_run(const char *info, const char *sql)
{
    PQclear(db_exec(info, sql));
}

/* A statement by an mbox actor: verb and activity ids as given. */
static json_t *
statement_new(const char *id, const char *mbox, const char *verb,
              const char *activity)
{
    json_t *s = json_pack("{s:{s:s}, s:{s:s, s:{s:s}}, s:{s:s, s:s}}",
                          "actor", "mbox", mbox, "verb", "id", verb,
                          "display", "en-US", "did", "object", "objectType",
                          "Activity", "id", activity);

    ck_assert_ptr_nonnull(s);
    if (id != NULL)
        json_object_set_new(s, "id", json_string(id));
    return s;
}

/* A statement whose object is a StatementRef to target (voiding when
 * verb is the voided verb). */
static json_t *
ref_statement_new(const char *id, const char *mbox, const char *verb,
                  const char *target)
{
    json_t *s = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s}}", "id", id,
                          "actor", "mbox", mbox, "verb", "id", verb,
                          "object", "objectType", "StatementRef", "id",
                          target);

    ck_assert_ptr_nonnull(s);
    return s;
}

#define VOIDED_VERB "http://adlnet.gov/expapi/verbs/voided"

static json_t *
authority_new(void)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "objectType", "Agent", "account",
                     "homePage", "http://lrsd.test", "name", "tester");
}

/* Builds rows from statements (stolen: freed here). */
static struct xapi_row *
rows_new(json_t **stmts, size_t n)
{
    struct xapi_row *rows = calloc(n, sizeof(*rows));
    json_t *authority = authority_new();
    struct lrs_error err = {0};

    ck_assert_ptr_nonnull(rows);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(xapi_row_build(stmts[i], authority, XAPI_V1_0,
                                     &rows[i], &err) == 0,
                      "row_build: %s", err.message);
        json_decref(stmts[i]);
    }
    json_decref(authority);
    return rows;
}

static void
rows_free(struct xapi_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xapi_row_free(&rows[i]);
    free(rows);
}

/* Inserts statements (stolen) as one request; returns the outcome's
 * status (0 when stored) and copies the error. */
static int
insert_many(json_t **stmts, size_t n, struct lrs_error *out)
{
    struct xapi_row *rows = rows_new(stmts, n);
    struct lrs_error err = {0};
    int rc = store_statements_insert(st, 1, rows, n, NULL, 0, &err);

    rows_free(rows, n);
    if (out != NULL)
        *out = err;
    return rc == 0 ? 0 : err.status;
}

static int
insert_one(json_t *stmt, struct lrs_error *out)
{
    return insert_many(&stmt, 1, out);
}

static void
must_insert(json_t *stmt)
{
    struct lrs_error err = {0};

    ck_assert_msg(insert_one(stmt, &err) == 0, "insert: %d %s", err.status,
                  err.message);
}

static struct xapi_index_key
key_of(enum xapi_index_kind kind, const char *value)
{
    struct xapi_index_key key = {.kind = (unsigned char)kind};

    ck_assert_int_eq(xapi_key_digest(kind, value, key.digest), 0);
    return key;
}

static struct xapi_index_key
agent_key(enum xapi_index_kind kind, const char *mbox)
{
    json_t *agent = json_pack("{s:s}", "mbox", mbox);
    char *value = xapi_actor_key(agent);
    struct xapi_index_key key;

    ck_assert_ptr_nonnull(value);
    key = key_of(kind, value);
    free(value);
    json_decref(agent);
    return key;
}

static void
query_init(struct store_query *q)
{
    memset(q, 0, sizeof(*q));
    q->store_id = 1;
    q->limit = 100;
}

static void
must_query(const struct store_query *q, struct store_result *r)
{
    struct lrs_error err = {0};

    ck_assert_msg(store_statements_query(st, q, r, &err) == 0,
                  "query: %d %s", err.status, err.message);
}

/* The "id" of a result item. */
static char *
item_id(const struct store_statement *item)
{
    json_error_t jerr;
    json_t *body = json_loadb(item->body, item->body_len, 0, &jerr);
    char *id;

    ck_assert_msg(body != NULL, "body does not parse: %s", jerr.text);
    id = strdup(json_string_value(json_object_get(body, "id")));
    json_decref(body);
    return id;
}

/* True when the filtered query returns exactly the given ids (any
 * order is checked against the newest-first contract separately). */
static bool
result_has(const struct store_result *r, const char *id)
{
    for (size_t i = 0; i < r->count; i++) {
        char *got = item_id(&r->items[i]);
        bool same = strcmp(got, id) == 0;

        free(got);
        if (same)
            return true;
    }
    return false;
}

static size_t
count_filter(const struct xapi_index_key *keys, size_t n)
{
    struct store_query q;
    struct store_result r;
    size_t count;

    query_init(&q);
    memcpy(q.filters, keys, n * sizeof(*keys));
    q.nfilters = n;
    must_query(&q, &r);
    count = r.count;
    store_result_free(&r);
    return count;
}

static size_t
lookup_count(const char *id, bool voided)
{
    struct store_query q;
    struct store_result r;
    size_t count;

    query_init(&q);
    q.statement_id = id;
    q.voided = voided;
    must_query(&q, &r);
    count = r.count;
    store_result_free(&r);
    return count;
}

static void
unique_iri(const char *prefix, char *out, size_t size)
{
    char u[37];

    new_uuid(u);
    snprintf(out, size, "%s%s", prefix, u);
}

static void
open_store(void)
{
    struct store_config cfg = {
        .conninfo = conninfo,
        .pool_size = 4,
        .acquire_timeout_ms = 2000,
        .statement_timeout_ms = 10000,
        .max_group = 500,
    };
    struct lrs_error err = {0};

    ck_assert_msg(store_open(&cfg, &st, &err) == 0, "store_open: %s",
                  err.message);
}

static void
close_store(void)
{
    store_close(st);
    st = NULL;
}

/* ---- migrations and schema ---- */

START_TEST(test_migrate_is_idempotent)
{
    struct lrs_error err = {0};
    PGresult *res;

    char version[16];

    ck_assert_int_ge(store_migrations_count, 1);
    ck_assert_int_eq(migrate_latest_version(),
                     store_migrations[store_migrations_count - 1].version);
    ck_assert_int_eq(migrate_run(conninfo, &err), 0);
    res = db_exec(conninfo, "SELECT version, name FROM schema_migrations"
                            " ORDER BY version");
    ck_assert_int_eq(PQntuples(res), store_migrations_count);
    for (int i = 0; i < store_migrations_count; i++) {
        snprintf(version, sizeof(version), "%d", i + 1);
        ck_assert_str_eq(PQgetvalue(res, i, 0), version);
        ck_assert_str_eq(PQgetvalue(res, i, 1), store_migrations[i].name);
    }
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "init");
    PQclear(res);
}
END_TEST

/* Runs pg_dump --schema-only on a database; returns the text without the
 * lines that differ between any two dumps (\restrict keys). */
static char *
dump_schema(const char *info)
{
    char cmd[1024], line[4096];
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    FILE *p;

    ck_assert_ptr_nonnull(out);
    snprintf(cmd, sizeof(cmd),
             "pg_dump --schema-only --no-owner --no-privileges -d '%s'",
             info);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        size_t n = strlen(line);

        if (strncmp(line, "\\restrict", 9) == 0 ||
            strncmp(line, "\\unrestrict", 11) == 0)
            continue;
        while (len + n + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        memcpy(out + len, line, n);
        len += n;
    }
    out[len] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    return out;
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

START_TEST(test_schema_file_matches_migrations)
{
    const char *data = getenv("LRSD_TEST_DATA");
    char path[1024];
    char *schema_db, *schema_sql, *from_migrations, *from_file;
    PGresult *a, *b;

    ck_assert_ptr_nonnull(data);
    snprintf(path, sizeof(path), "%s/../../schema/schema.sql", data);
    schema_sql = read_file(path);
    db_run(conninfo, "DROP DATABASE IF EXISTS lrsd_schema");
    db_run(conninfo, "CREATE DATABASE lrsd_schema");
    schema_db = conninfo_for("lrsd_schema");
    db_run(schema_db, schema_sql);

    from_migrations = dump_schema(conninfo);
    from_file = dump_schema(schema_db);
    ck_assert_ptr_nonnull(strstr(from_file, "CREATE TABLE public.statements"));
    ck_assert_str_eq(from_migrations, from_file);

    a = db_exec(conninfo, "SELECT id, name FROM stores ORDER BY id");
    b = db_exec(schema_db, "SELECT id, name FROM stores ORDER BY id");
    ck_assert_int_eq(PQntuples(a), 1);
    ck_assert_int_eq(PQntuples(b), 1);
    ck_assert_str_eq(PQgetvalue(a, 0, 1), "default");
    ck_assert_str_eq(PQgetvalue(b, 0, 1), "default");
    PQclear(a);
    PQclear(b);
    free(from_migrations);
    free(from_file);
    free(schema_sql);
    free(schema_db);
}
END_TEST

START_TEST(test_store_open_refuses_unmigrated_database)
{
    struct store_config cfg = {.pool_size = 1, .acquire_timeout_ms = 100,
                               .max_group = 10};
    struct lrs_error err = {0};
    struct store *other = NULL;
    char *info;

    db_run(conninfo, "DROP DATABASE IF EXISTS lrsd_empty");
    db_run(conninfo, "CREATE DATABASE lrsd_empty");
    info = conninfo_for("lrsd_empty");
    cfg.conninfo = info;
    ck_assert_int_eq(store_open(&cfg, &other, &err), -1);
    ck_assert_ptr_null(other);
    ck_assert_ptr_nonnull(strstr(err.message, "lrsd migrate"));

    ck_assert_int_eq(migrate_run(info, &err), store_migrations_count);
    ck_assert_int_eq(migrate_run(info, &err), 0);
    ck_assert_int_eq(store_open(&cfg, &other, &err), 0);
    store_close(other);
    free(info);
}
END_TEST

struct migrate_arg {
    const char *info;
    int applied;
};

static void *
migrate_thread(void *p)
{
    struct migrate_arg *arg = p;
    struct lrs_error err = {0};

    arg->applied = migrate_run(arg->info, &err);
    return NULL;
}

START_TEST(test_concurrent_migrations_apply_once)
{
    struct migrate_arg args[3];
    pthread_t threads[3];
    char *info;
    PGresult *res;
    int total = 0;

    db_run(conninfo, "DROP DATABASE IF EXISTS lrsd_race");
    db_run(conninfo, "CREATE DATABASE lrsd_race");
    info = conninfo_for("lrsd_race");
    for (int i = 0; i < 3; i++) {
        args[i].info = info;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, migrate_thread,
                                        &args[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_ge(args[i].applied, 0);
        total += args[i].applied;
    }
    ck_assert_int_eq(total, store_migrations_count);
    res = db_exec(info, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 0)), store_migrations_count);
    PQclear(res);
    free(info);
}
END_TEST

/* ---- writing and reading ---- */

START_TEST(test_round_trip)
{
    char id[37], activity[128];
    struct store_query q;
    struct store_result r;
    json_t *sent, *got;
    json_error_t jerr;
    int64_t before = now_us() - 1000, stored_us;

    new_uuid(id);
    unique_iri("http://lrsd.test/act/", activity, sizeof(activity));
    sent = statement_new(id, "mailto:round@example.com",
                         "http://lrsd.test/verbs/did", activity);
    must_insert(json_deep_copy(sent));

    query_init(&q);
    q.statement_id = id;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    ck_assert(!r.more);
    ck_assert_int_eq(strlen(r.items[0].stored), 24);
    ck_assert_int_eq(r.items[0].stored[23], 'Z');
    ck_assert_str_eq(r.last_stored, r.items[0].stored);
    ck_assert_int_eq(xapi_timestamp_parse(r.items[0].stored, true,
                                          &stored_us), 0);
    ck_assert_int_ge(stored_us, before);
    ck_assert_int_le(stored_us, now_us() + 1000);

    got = json_loadb(r.items[0].body, r.items[0].body_len, 0, &jerr);
    ck_assert_ptr_nonnull(got);
    ck_assert(xapi_statements_equal(sent, got));
    ck_assert_str_eq(json_string_value(json_object_get(got, "stored")),
                     r.items[0].stored);
    /* No timestamp was sent: it reads as the stored time. */
    ck_assert_str_eq(json_string_value(json_object_get(got, "timestamp")),
                     r.items[0].stored);
    json_decref(got);
    json_decref(sent);
    store_result_free(&r);

    /* Found by its activity, and as the newest of all statements. */
    query_init(&q);
    q.filters[0] = key_of(XAPI_KEY_ACTIVITY, activity);
    q.nfilters = 1;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    store_result_free(&r);
}
END_TEST

START_TEST(test_timestamp_is_kept)
{
    char id[37];
    struct store_query q;
    struct store_result r;
    json_t *s, *got;
    json_error_t jerr;

    new_uuid(id);
    s = statement_new(id, "mailto:ts@example.com", "http://lrsd.test/v",
                      "http://lrsd.test/a");
    json_object_set_new(s, "timestamp",
                        json_string("2013-05-18T05:32:34.804+00:00"));
    must_insert(s);
    query_init(&q);
    q.statement_id = id;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    got = json_loadb(r.items[0].body, r.items[0].body_len, 0, &jerr);
    ck_assert_str_eq(json_string_value(json_object_get(got, "timestamp")),
                     "2013-05-18T05:32:34.804+00:00");
    json_decref(got);
    store_result_free(&r);
}
END_TEST

START_TEST(test_batch_is_atomic)
{
    char a[37], b[37];
    struct lrs_error err;
    json_t *batch[2];

    new_uuid(a);
    new_uuid(b);
    must_insert(statement_new(a, "mailto:atomic@example.com",
                              "http://lrsd.test/v1", "http://lrsd.test/x"));
    batch[0] = statement_new(b, "mailto:atomic@example.com",
                             "http://lrsd.test/v1", "http://lrsd.test/x");
    batch[1] = statement_new(a, "mailto:atomic@example.com",
                             "http://lrsd.test/OTHER", "http://lrsd.test/x");
    ck_assert_int_eq(insert_many(batch, 2, &err), 409);
    ck_assert_ptr_nonnull(strstr(err.message, a));
    ck_assert_ptr_nonnull(strstr(err.message, "statements[1].id"));
    ck_assert_uint_eq(lookup_count(b, false), 0);
    ck_assert_uint_eq(lookup_count(a, false), 1);
}
END_TEST

START_TEST(test_equal_reinsert_is_accepted)
{
    char a[37], c[37], agent[128];
    struct xapi_index_key key;
    json_t *first, *batch[2];
    PGresult *res;
    char sql[256];

    new_uuid(a);
    new_uuid(c);
    unique_iri("mailto:same", agent, sizeof(agent));
    strcat(agent, "@example.com");
    first = statement_new(a, agent, "http://lrsd.test/v", "http://lrsd.test/x");
    must_insert(json_deep_copy(first));
    /* The same statement again, alone and next to a new one. */
    must_insert(json_deep_copy(first));
    batch[0] = statement_new(c, agent, "http://lrsd.test/v",
                             "http://lrsd.test/x");
    batch[1] = first;
    ck_assert_int_eq(insert_many(batch, 2, NULL), 0);

    key = agent_key(XAPI_KEY_AGENT, agent);
    ck_assert_uint_eq(count_filter(&key, 1), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM statements WHERE id = '%s'", a);
    res = db_exec(conninfo, sql);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
}
END_TEST

START_TEST(test_duplicate_ids_in_one_request)
{
    char a[37];
    json_t *batch[2];
    struct lrs_error err;

    new_uuid(a);
    batch[0] = statement_new(a, "mailto:dup@example.com", "http://lrsd.test/v",
                             "http://lrsd.test/x");
    batch[1] = json_deep_copy(batch[0]);
    ck_assert_int_eq(insert_many(batch, 2, &err), 0);
    ck_assert_uint_eq(lookup_count(a, false), 1);

    new_uuid(a);
    batch[0] = statement_new(a, "mailto:dup@example.com", "http://lrsd.test/v",
                             "http://lrsd.test/x");
    batch[1] = statement_new(a, "mailto:dup@example.com", "http://lrsd.test/w",
                             "http://lrsd.test/x");
    ck_assert_int_eq(insert_many(batch, 2, &err), 409);
    ck_assert_uint_eq(lookup_count(a, false), 0);
}
END_TEST

START_TEST(test_different_reinsert_conflicts)
{
    char a[37];
    struct lrs_error err;

    new_uuid(a);
    must_insert(statement_new(a, "mailto:c@example.com", "http://lrsd.test/v",
                              "http://lrsd.test/x"));
    ck_assert_int_eq(insert_one(statement_new(a, "mailto:c@example.com",
                                              "http://lrsd.test/v",
                                              "http://lrsd.test/DIFFERENT"),
                                &err), 409);
    ck_assert_ptr_nonnull(strstr(err.message, a));
    ck_assert_ptr_nonnull(strstr(err.message, "statement.id"));
}
END_TEST

START_TEST(test_voiding_hides_target)
{
    char target[37], voiding[37], activity[128];
    struct xapi_index_key key;
    struct store_query q;
    struct store_result r;

    new_uuid(target);
    new_uuid(voiding);
    unique_iri("http://lrsd.test/void/", activity, sizeof(activity));
    must_insert(statement_new(target, "mailto:v@example.com",
                              "http://lrsd.test/v", activity));
    must_insert(ref_statement_new(voiding, "mailto:v@example.com",
                                  VOIDED_VERB, target));

    ck_assert_uint_eq(lookup_count(target, false), 0);
    ck_assert_uint_eq(lookup_count(target, true), 1);
    ck_assert_uint_eq(lookup_count(voiding, false), 1);
    ck_assert_uint_eq(lookup_count(voiding, true), 0);

    /* A filter matching the target returns the voiding statement (it
     * refers to a match) but never the voided target. */
    query_init(&q);
    key = key_of(XAPI_KEY_ACTIVITY, activity);
    q.filters[0] = key;
    q.nfilters = 1;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    ck_assert(result_has(&r, voiding));
    store_result_free(&r);

    /* Voiding it again is accepted and changes nothing. */
    new_uuid(voiding);
    must_insert(ref_statement_new(voiding, "mailto:v@example.com",
                                  VOIDED_VERB, target));
    ck_assert_uint_eq(lookup_count(target, true), 1);
}
END_TEST

START_TEST(test_voiding_a_voiding_statement_is_rejected)
{
    char target[37], v1[37], v2[37], other[37];
    struct lrs_error err;
    json_t *batch[2];

    new_uuid(target);
    new_uuid(v1);
    new_uuid(v2);
    new_uuid(other);
    must_insert(statement_new(target, "mailto:vv@example.com",
                              "http://lrsd.test/v", "http://lrsd.test/x"));
    must_insert(ref_statement_new(v1, "mailto:vv@example.com", VOIDED_VERB,
                                  target));
    batch[0] = statement_new(other, "mailto:vv@example.com",
                             "http://lrsd.test/v", "http://lrsd.test/x");
    batch[1] = ref_statement_new(v2, "mailto:vv@example.com", VOIDED_VERB,
                                 v1);
    ck_assert_int_eq(insert_many(batch, 2, &err), 400);
    ck_assert_str_eq(err.message, "statement.object.id: a voiding statement "
                                  "cannot target another voiding statement");
    ck_assert_uint_eq(lookup_count(v2, false), 0);
    ck_assert_uint_eq(lookup_count(other, false), 0);
    ck_assert_uint_eq(lookup_count(v1, false), 1);
    ck_assert_uint_eq(lookup_count(target, true), 1);
}
END_TEST

START_TEST(test_voiding_in_same_request_and_before_target)
{
    char target[37], voiding[37];
    json_t *batch[2];

    new_uuid(target);
    new_uuid(voiding);
    /* The voiding statement first, its target after it, in one request. */
    batch[0] = ref_statement_new(voiding, "mailto:vs@example.com",
                                 VOIDED_VERB, target);
    batch[1] = statement_new(target, "mailto:vs@example.com",
                             "http://lrsd.test/v", "http://lrsd.test/x");
    ck_assert_int_eq(insert_many(batch, 2, NULL), 0);
    ck_assert_uint_eq(lookup_count(target, false), 0);
    ck_assert_uint_eq(lookup_count(target, true), 1);

    /* The voiding statement in an earlier request than its target. */
    new_uuid(target);
    new_uuid(voiding);
    must_insert(ref_statement_new(voiding, "mailto:vs@example.com",
                                  VOIDED_VERB, target));
    must_insert(statement_new(target, "mailto:vs@example.com",
                              "http://lrsd.test/v", "http://lrsd.test/x"));
    ck_assert_uint_eq(lookup_count(target, false), 0);
    ck_assert_uint_eq(lookup_count(target, true), 1);
}
END_TEST

/* Enough statements in one request for the writer to load them with
 * COPY rather than INSERT (the threshold is in store/writer.c). */
#define COPY_BATCH 24

/* A statement with everything the writer extracts into columns: a
 * timestamp, a registration, parent and grouping activities, an
 * instructor. */
static json_t *
rich_statement_new(const char *id, const char *mbox, const char *verb,
                   const char *activity, const char *registration,
                   int minute)
{
    char ts[32];
    json_t *s;

    snprintf(ts, sizeof(ts), "2026-01-02T03:%02d:05.250Z", minute % 60);
    s = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:s,"
                  " s:{s:s, s:{s:s}, s:{s:[{s:s}], s:[{s:s}, {s:s}]}}}",
                  "id", id, "actor", "mbox", mbox, "verb", "id", verb,
                  "object", "objectType", "Activity", "id", activity,
                  "timestamp", ts, "context", "registration", registration,
                  "instructor", "mbox", "mailto:teacher@example.com",
                  "contextActivities", "parent", "id",
                  "http://lrsd.test/course", "grouping", "id",
                  "http://lrsd.test/program", "id", "http://lrsd.test/term");
    ck_assert_ptr_nonnull(s);
    return s;
}

/* The same statements stored one request at a time (INSERT) and all in
 * one request (COPY) give the same rows: every column but id, seq and
 * stored, the body but its id, and the same index keys. */
START_TEST(test_copy_rows_match_insert_rows)
{
    char ids[2][COPY_BATCH][37], reg[37], agent[128], sql[1024];
    json_t *batch[COPY_BATCH];
    PGresult *res;

    new_uuid(reg);
    unique_iri("mailto:copy", agent, sizeof(agent));
    strcat(agent, "@example.com");
    for (int i = 0; i < COPY_BATCH; i++) {
        char activity[64];

        snprintf(activity, sizeof(activity), "http://lrsd.test/slide/%d", i);
        new_uuid(ids[0][i]);
        new_uuid(ids[1][i]);
        must_insert(rich_statement_new(ids[0][i], agent,
                                       "http://lrsd.test/v", activity, reg,
                                       i));
        batch[i] = rich_statement_new(ids[1][i], agent, "http://lrsd.test/v",
                                      activity, reg, i);
    }
    ck_assert_int_eq(insert_many(batch, COPY_BATCH, NULL), 0);

    for (int i = 0; i < COPY_BATCH; i++) {
        snprintf(sql, sizeof(sql),
                 "WITH x AS (SELECT s.*, (SELECT array_agg(i.kind::text"
                 " || ':' || i.digest ORDER BY i.kind, i.digest)"
                 " FROM statement_index i WHERE i.store_id = s.store_id"
                 " AND i.seq = s.seq) AS keys FROM statements s"
                 " WHERE s.id IN ('%.36s', '%.36s'))"
                 " SELECT count(*), count(DISTINCT (store_id, voided, ts,"
                 " registration, voids, ref_target, actor_key, verb_id,"
                 " object_type, object_id, context_parents,"
                 " context_groupings, index_kinds, index_digests,"
                 " body::jsonb - 'id', keys)), min(cardinality(keys)),"
                 " bool_and(ts IS NOT NULL AND registration IS NOT NULL"
                 " AND context_parents IS NOT NULL)"
                 " FROM x",
                 ids[0][i], ids[1][i]);
        res = db_exec(conninfo, sql);
        ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
        ck_assert_msg(strcmp(PQgetvalue(res, 0, 1), "1") == 0,
                      "statement %d: the rows differ", i);
        ck_assert_int_ge(atoi(PQgetvalue(res, 0, 2)), 6);
        ck_assert_str_eq(PQgetvalue(res, 0, 3), "t");
        PQclear(res);
    }
    /* The batch keeps its order in seq, and queries find it. */
    snprintf(sql, sizeof(sql),
             "SELECT bool_and(s.seq > p.seq) FROM statements s"
             " JOIN statements p ON p.id = ANY(ARRAY['%s', '%s']::uuid[])"
             " AND p.id <> s.id WHERE s.id = '%s'",
             ids[0][COPY_BATCH - 1], ids[1][0], ids[1][1]);
    res = db_exec(conninfo, sql);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    struct xapi_index_key key = agent_key(XAPI_KEY_AGENT, agent);
    ck_assert_uint_eq(count_filter(&key, 1), 2 * COPY_BATCH);
}
END_TEST

/* A large request with a statement already stored: an equal one is
 * accepted with the rest stored; a different one fails the request. */
START_TEST(test_copy_batch_with_existing_ids)
{
    char first[37], ids[COPY_BATCH][37];
    json_t *batch[COPY_BATCH];
    struct lrs_error err;

    new_uuid(first);
    must_insert(statement_new(first, "mailto:cb@example.com",
                              "http://lrsd.test/v", "http://lrsd.test/x"));
    for (int i = 0; i < COPY_BATCH; i++) {
        new_uuid(ids[i]);
        batch[i] = statement_new(ids[i], "mailto:cb@example.com",
                                 "http://lrsd.test/v", "http://lrsd.test/x");
    }
    json_decref(batch[5]);
    batch[5] = statement_new(first, "mailto:cb@example.com",
                             "http://lrsd.test/v", "http://lrsd.test/x");
    ck_assert_int_eq(insert_many(batch, COPY_BATCH, &err), 0);
    for (int i = 0; i < COPY_BATCH; i++)
        ck_assert_uint_eq(lookup_count(i == 5 ? first : ids[i], false), 1);

    for (int i = 0; i < COPY_BATCH; i++) {
        new_uuid(ids[i]);
        batch[i] = statement_new(ids[i], "mailto:cb@example.com",
                                 "http://lrsd.test/v", "http://lrsd.test/x");
    }
    json_decref(batch[7]);
    batch[7] = statement_new(first, "mailto:cb@example.com",
                             "http://lrsd.test/v", "http://lrsd.test/OTHER");
    ck_assert_int_eq(insert_many(batch, COPY_BATCH, &err), 409);
    ck_assert_ptr_nonnull(strstr(err.message, "statements[7].id"));
    for (int i = 0; i < COPY_BATCH; i++) {
        if (i != 7)
            ck_assert_uint_eq(lookup_count(ids[i], false), 0);
    }
}
END_TEST

/* A voiding statement stored before its target: the target arriving in
 * a large request is stored voided. */
START_TEST(test_copy_batch_target_voided_before)
{
    char voiding[37], ids[COPY_BATCH][37];
    json_t *batch[COPY_BATCH];

    for (int i = 0; i < COPY_BATCH; i++) {
        new_uuid(ids[i]);
        batch[i] = statement_new(ids[i], "mailto:vb@example.com",
                                 "http://lrsd.test/v", "http://lrsd.test/x");
    }
    new_uuid(voiding);
    must_insert(ref_statement_new(voiding, "mailto:vb@example.com",
                                  VOIDED_VERB, ids[3]));
    ck_assert_int_eq(insert_many(batch, COPY_BATCH, NULL), 0);
    ck_assert_uint_eq(lookup_count(ids[3], false), 0);
    ck_assert_uint_eq(lookup_count(ids[3], true), 1);
    for (int i = 0; i < COPY_BATCH; i++) {
        if (i != 3)
            ck_assert_uint_eq(lookup_count(ids[i], false), 1);
    }
}
END_TEST

START_TEST(test_filters_of_every_kind)
{
    char id[37], reg[37], other_id[37];
    char actor[128], instructor[128], verb[128], act[128], parent[128];
    struct xapi_index_key k[6];
    json_t *s;

    new_uuid(id);
    new_uuid(other_id);
    new_uuid(reg);
    unique_iri("mailto:actor", actor, sizeof(actor));
    strcat(actor, "@example.com");
    unique_iri("mailto:teacher", instructor, sizeof(instructor));
    strcat(instructor, "@example.com");
    unique_iri("http://lrsd.test/verb/", verb, sizeof(verb));
    unique_iri("http://lrsd.test/act/", act, sizeof(act));
    unique_iri("http://lrsd.test/parent/", parent, sizeof(parent));
    s = statement_new(id, actor, verb, act);
    json_object_set_new(s, "context",
                        json_pack("{s:s, s:{s:s}, s:{s:[{s:s}]}}",
                                  "registration", reg, "instructor", "mbox",
                                  instructor, "contextActivities", "parent",
                                  "id", parent));
    must_insert(s);
    /* A statement sharing only the verb, to check that filters combine. */
    must_insert(statement_new(other_id, "mailto:someone@example.com", verb,
                              "http://lrsd.test/elsewhere"));

    k[0] = agent_key(XAPI_KEY_AGENT, actor);
    k[1] = agent_key(XAPI_KEY_AGENT_RELATED, instructor);
    k[2] = key_of(XAPI_KEY_ACTIVITY, act);
    k[3] = key_of(XAPI_KEY_ACTIVITY_RELATED, parent);
    k[4] = key_of(XAPI_KEY_REGISTRATION, reg);
    k[5] = key_of(XAPI_KEY_VERB, verb);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(count_filter(&k[i], 1) == 1, "filter %d", i);
    ck_assert_uint_eq(count_filter(&k[5], 1), 2);

    /* Not related: the instructor is no actor, the parent no object. */
    k[1] = agent_key(XAPI_KEY_AGENT, instructor);
    ck_assert_uint_eq(count_filter(&k[1], 1), 0);
    k[3] = key_of(XAPI_KEY_ACTIVITY, parent);
    ck_assert_uint_eq(count_filter(&k[3], 1), 0);
    /* Related forms include the direct ones. */
    k[1] = agent_key(XAPI_KEY_AGENT_RELATED, actor);
    ck_assert_uint_eq(count_filter(&k[1], 1), 1);
    k[3] = key_of(XAPI_KEY_ACTIVITY_RELATED, act);
    ck_assert_uint_eq(count_filter(&k[3], 1), 1);

    /* Combinations of two, three and four filters. */
    {
        struct xapi_index_key two[2] = {k[5], k[0]};
        struct xapi_index_key three[3] = {k[5], k[2], k[4]};
        struct xapi_index_key four[4] = {k[5], k[1], k[3], k[4]};
        struct xapi_index_key none[2] = {k[5],
                                         agent_key(XAPI_KEY_AGENT,
                                                   instructor)};

        ck_assert_uint_eq(count_filter(two, 2), 1);
        ck_assert_uint_eq(count_filter(three, 3), 1);
        ck_assert_uint_eq(count_filter(four, 4), 1);
        ck_assert_uint_eq(count_filter(none, 2), 0);
    }
}
END_TEST

/* S1 by agent a on activity x; S2 by b refers to S1; S3 by c refers to
 * S2. Filters on S1's values match all three, S2's match S2 and S3. */
static void
check_inheritance(const char *s1, const char *s2, const char *s3,
                  const char *a, const char *b, const char *c,
                  const char *activity)
{
    struct xapi_index_key key = key_of(XAPI_KEY_ACTIVITY, activity);
    struct store_query q;
    struct store_result r;

    query_init(&q);
    q.filters[0] = key;
    q.nfilters = 1;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 3);
    ck_assert(result_has(&r, s1) && result_has(&r, s2) &&
              result_has(&r, s3));
    store_result_free(&r);

    key = agent_key(XAPI_KEY_AGENT, a);
    ck_assert_uint_eq(count_filter(&key, 1), 3);
    key = agent_key(XAPI_KEY_AGENT, b);
    ck_assert_uint_eq(count_filter(&key, 1), 2);
    key = agent_key(XAPI_KEY_AGENT, c);
    ck_assert_uint_eq(count_filter(&key, 1), 1);
}

static void
make_mbox(const char *who, char *out, size_t size)
{
    char u[37];

    new_uuid(u);
    snprintf(out, size, "mailto:%s-%s@example.com", who, u);
}

START_TEST(test_statement_ref_inherits_keys)
{
    char s1[37], s2[37], s3[37], a[96], b[96], c[96], act[128];
    json_t *batch[3];

    /* In separate requests. */
    new_uuid(s1);
    new_uuid(s2);
    new_uuid(s3);
    make_mbox("a", a, sizeof(a));
    make_mbox("b", b, sizeof(b));
    make_mbox("c", c, sizeof(c));
    unique_iri("http://lrsd.test/ref/", act, sizeof(act));
    must_insert(statement_new(s1, a, "http://lrsd.test/v", act));
    must_insert(ref_statement_new(s2, b, "http://lrsd.test/v", s1));
    must_insert(ref_statement_new(s3, c, "http://lrsd.test/v", s2));
    check_inheritance(s1, s2, s3, a, b, c, act);

    /* In one request, references before their targets. */
    new_uuid(s1);
    new_uuid(s2);
    new_uuid(s3);
    make_mbox("a", a, sizeof(a));
    make_mbox("b", b, sizeof(b));
    make_mbox("c", c, sizeof(c));
    unique_iri("http://lrsd.test/ref/", act, sizeof(act));
    batch[0] = ref_statement_new(s3, c, "http://lrsd.test/v", s2);
    batch[1] = ref_statement_new(s2, b, "http://lrsd.test/v", s1);
    batch[2] = statement_new(s1, a, "http://lrsd.test/v", act);
    ck_assert_int_eq(insert_many(batch, 3, NULL), 0);
    check_inheritance(s1, s2, s3, a, b, c, act);
}
END_TEST

/* ---- paging ---- */

struct inserter {
    char reg[37];
    int count;
    volatile int done;
};

static json_t *
registered_statement(const char *reg)
{
    char id[37];
    json_t *s;

    new_uuid(id);
    s = statement_new(id, "mailto:pager@example.com", "http://lrsd.test/v",
                      "http://lrsd.test/page");
    json_object_set_new(s, "context", json_pack("{s:s}", "registration",
                                                reg));
    return s;
}

static void *
insert_loop(void *p)
{
    struct inserter *ins = p;

    for (int i = 0; i < ins->count; i++) {
        json_t *s = registered_statement(ins->reg);
        struct xapi_row *rows = rows_new(&s, 1);
        struct lrs_error err = {0};

        if (store_statements_insert(st, 1, rows, 1, NULL, 0, &err) != 0)
            fprintf(stderr, "insert: %s\n", err.message);
        rows_free(rows, 1);
    }
    __atomic_store_n(&ins->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Pages through the registration's statements with limit 7, appending
 * seqs to out. Returns how many were read. Asserts the page invariants. */
static size_t
page_all(const char *reg, bool ascending, int64_t *out, size_t cap,
         struct inserter *ins)
{
    struct store_query q;
    struct store_result r;
    size_t n = 0;

    query_init(&q);
    q.filters[0] = key_of(XAPI_KEY_REGISTRATION, reg);
    q.nfilters = 1;
    q.limit = 7;
    q.ascending = ascending;
    for (;;) {
        bool was_done = ins == NULL ||
                        __atomic_load_n(&ins->done, __ATOMIC_SEQ_CST);

        must_query(&q, &r);
        ck_assert_uint_le(r.count, 7);
        for (size_t i = 0; i < r.count; i++) {
            ck_assert_uint_lt(n, cap);
            out[n++] = r.items[i].seq;
        }
        if (r.count > 0)
            q.after_seq = r.items[r.count - 1].seq;
        if (!r.more && (was_done || !ascending)) {
            store_result_free(&r);
            return n;
        }
        ck_assert(r.more || ascending);
        store_result_free(&r);
    }
}

static void
assert_ordered(const int64_t *seqs, size_t n, bool ascending)
{
    for (size_t i = 1; i < n; i++) {
        if (ascending)
            ck_assert_int_lt(seqs[i - 1], seqs[i]);
        else
            ck_assert_int_gt(seqs[i - 1], seqs[i]);
    }
}

START_TEST(test_paging_while_inserting)
{
    enum { BEFORE = 40, DURING = 60, CAP = 256 };
    struct inserter ins = {.count = DURING};
    int64_t asc[CAP], desc[CAP], all[CAP];
    size_t nasc, ndesc, nall;
    pthread_t thread;

    new_uuid(ins.reg);
    for (int i = 0; i < BEFORE; i++)
        must_insert(registered_statement(ins.reg));

    /* Newest first while more arrive: exactly what existed at the first
     * page, each once, in strictly decreasing order. */
    ck_assert_int_eq(pthread_create(&thread, NULL, insert_loop, &ins), 0);
    ndesc = page_all(ins.reg, false, desc, CAP, NULL);
    /* Oldest first while more arrive: everything, each once, in order,
     * including what was committed while paging. */
    nasc = page_all(ins.reg, true, asc, CAP, &ins);
    pthread_join(thread, NULL);

    nall = page_all(ins.reg, true, all, CAP, NULL);
    ck_assert_uint_eq(nall, BEFORE + DURING);
    assert_ordered(all, nall, true);
    assert_ordered(desc, ndesc, false);
    assert_ordered(asc, nasc, true);
    ck_assert_uint_ge(ndesc, BEFORE);
    for (size_t i = 0; i < ndesc; i++)
        ck_assert_int_eq(desc[i], all[ndesc - 1 - i]);
    ck_assert_uint_eq(nasc, nall);
    for (size_t i = 0; i < nasc; i++)
        ck_assert_int_eq(asc[i], all[i]);
}
END_TEST

START_TEST(test_since_and_until)
{
    char reg[37], ids[3][37];
    struct store_query q;
    struct store_result r;
    int64_t stored[3];

    new_uuid(reg);
    for (int i = 0; i < 3; i++) {
        json_t *s = registered_statement(reg);

        snprintf(ids[i], sizeof(ids[i]), "%s",
                 json_string_value(json_object_get(s, "id")));
        must_insert(s);
        query_init(&q);
        q.statement_id = ids[i];
        must_query(&q, &r);
        ck_assert_uint_eq(r.count, 1);
        ck_assert_int_eq(xapi_timestamp_parse(r.items[0].stored, true,
                                              &stored[i]), 0);
        store_result_free(&r);
        usleep(5000);
    }
    ck_assert_int_lt(stored[0], stored[1]);
    ck_assert_int_lt(stored[1], stored[2]);

    query_init(&q);
    q.filters[0] = key_of(XAPI_KEY_REGISTRATION, reg);
    q.nfilters = 1;
    q.has_since = true;
    q.since_us = stored[0];     /* exclusive */
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 2);
    ck_assert(result_has(&r, ids[1]) && result_has(&r, ids[2]));
    store_result_free(&r);

    q.has_since = false;
    q.has_until = true;
    q.until_us = stored[1];     /* inclusive */
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 2);
    ck_assert(result_has(&r, ids[0]) && result_has(&r, ids[1]));
    store_result_free(&r);

    q.has_since = true;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    ck_assert(result_has(&r, ids[1]));
    store_result_free(&r);

    /* The same without filters: since/until on the whole store. */
    q.nfilters = 0;
    must_query(&q, &r);
    ck_assert(result_has(&r, ids[1]));
    ck_assert(!result_has(&r, ids[0]) && !result_has(&r, ids[2]));
    store_result_free(&r);
}
END_TEST

START_TEST(test_unfiltered_pages_newest_first)
{
    char ids[3][37];
    struct store_query q;
    struct store_result r;
    char *first;

    for (int i = 0; i < 3; i++) {
        new_uuid(ids[i]);
        must_insert(statement_new(ids[i], "mailto:u@example.com",
                                  "http://lrsd.test/v", "http://lrsd.test/u"));
    }
    query_init(&q);
    q.limit = 2;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 2);
    ck_assert(r.more);
    ck_assert_int_gt(r.items[0].seq, r.items[1].seq);
    first = item_id(&r.items[0]);
    ck_assert_str_eq(first, ids[2]);
    free(first);
    q.after_seq = r.items[1].seq;
    store_result_free(&r);
    must_query(&q, &r);
    ck_assert_uint_ge(r.count, 1);
    first = item_id(&r.items[0]);
    ck_assert_str_eq(first, ids[0]);
    free(first);
    store_result_free(&r);
}
END_TEST

/* ---- group commit ---- */

enum { CONCURRENT = 64 };

struct submitter {
    pthread_barrier_t *barrier;
    char id[37];
    int status;
};

static void *
submit_one(void *p)
{
    struct submitter *s = p;
    json_t *stmt = statement_new(s->id, "mailto:group@example.com",
                                 "http://lrsd.test/v", "http://lrsd.test/g");
    struct xapi_row *rows = rows_new(&stmt, 1);
    struct lrs_error err = {0};

    pthread_barrier_wait(s->barrier);
    s->status = store_statements_insert(st, 1, rows, 1, NULL, 0, &err) == 0
                    ? 0 : err.status;
    rows_free(rows, 1);
    return NULL;
}

START_TEST(test_concurrent_requests_share_transactions)
{
    struct submitter subs[CONCURRENT];
    pthread_t threads[CONCURRENT];
    pthread_barrier_t barrier;
    char sql[CONCURRENT * 40 + 128];
    size_t len;
    PGresult *res;
    long transactions;

    pthread_barrier_init(&barrier, NULL, CONCURRENT);
    for (int i = 0; i < CONCURRENT; i++) {
        subs[i].barrier = &barrier;
        new_uuid(subs[i].id);
        ck_assert_int_eq(pthread_create(&threads[i], NULL, submit_one,
                                        &subs[i]), 0);
    }
    for (int i = 0; i < CONCURRENT; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(subs[i].status, 0);
    }
    pthread_barrier_destroy(&barrier);

    len = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT count(DISTINCT xmin::text) FROM statements"
                           " WHERE id IN (");
    for (int i = 0; i < CONCURRENT; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s'%s'",
                                i ? "," : "", subs[i].id);
    snprintf(sql + len, sizeof(sql) - len, ")");
    res = db_exec(conninfo, sql);
    transactions = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    ck_assert_int_ge(transactions, 1);
    ck_assert_msg(transactions <= CONCURRENT / 4,
                  "%ld transactions for %d requests", transactions,
                  CONCURRENT);
}
END_TEST

struct writer_arg {
    struct store *store;
    int count;
};

static void *
insert_with(void *p)
{
    struct writer_arg *arg = p;

    for (int i = 0; i < arg->count; i++) {
        json_t *s = statement_new(NULL, "mailto:order@example.com",
                                  "http://lrsd.test/v", "http://lrsd.test/o");
        struct xapi_row *rows = rows_new(&s, 1);
        struct lrs_error err = {0};

        ck_assert_int_eq(store_statements_insert(arg->store, 1, rows, 1, NULL,
                                                 0, &err), 0);
        rows_free(rows, 1);
    }
    return NULL;
}

/* Two stores stand for two lrsd processes: their writers serialise on
 * the advisory lock, so stored never decreases along seq. */
START_TEST(test_two_writers_commit_in_seq_order)
{
    struct writer_arg args[2] = {{st, 100}, {NULL, 100}};
    struct store_config cfg = {.conninfo = conninfo, .pool_size = 1,
                               .acquire_timeout_ms = 1000, .max_group = 8};
    struct lrs_error err = {0};
    pthread_t threads[2];
    PGresult *res;

    ck_assert_int_eq(store_open(&cfg, &args[1].store, &err), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, insert_with,
                                        &args[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    store_close(args[1].store);

    res = db_exec(conninfo,
                  "SELECT count(*) FROM (SELECT stored < lag(stored) OVER"
                  " (ORDER BY seq) AS backwards FROM statements) t"
                  " WHERE backwards");
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
}
END_TEST

/* The stored time of one statement, looked up by id. */
static int64_t
stored_of(const char *id)
{
    struct store_query q;
    struct store_result r;
    int64_t t;

    query_init(&q);
    q.statement_id = id;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_int_eq(xapi_timestamp_parse(r.items[0].stored, true, &t), 0);
    store_result_free(&r);
    return t;
}

/* A clock that steps back must not make a later statement look older:
 * the writer never gives a group a stored time before the previous
 * group's. The previous group's time is set two seconds ahead, as if the
 * clock had just been turned back by that much. */
START_TEST(test_stored_never_goes_back)
{
    char reg[37], ids[3][37];
    struct store_query q;
    struct store_result r;
    PGresult *res;
    int64_t ahead;

    res = db_exec(conninfo,
                  "UPDATE writer_clock SET stored = date_trunc("
                  "'milliseconds', clock_timestamp()) + interval '2 s'"
                  " RETURNING (extract(epoch FROM stored) * 1000000)::int8");
    ck_assert_int_eq(PQntuples(res), 1);
    ahead = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    new_uuid(reg);
    for (int i = 0; i < 2; i++) {
        json_t *s = registered_statement(reg);

        snprintf(ids[i], sizeof(ids[i]), "%s",
                 json_string_value(json_object_get(s, "id")));
        must_insert(s);
        ck_assert_int_eq(stored_of(ids[i]), ahead);
    }

    /* Since and until, which become bounds on seq, agree. */
    query_init(&q);
    q.filters[0] = key_of(XAPI_KEY_REGISTRATION, reg);
    q.nfilters = 1;
    q.has_until = true;
    q.until_us = ahead - 1000;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 0);
    store_result_free(&r);
    q.has_until = false;
    q.has_since = true;
    q.since_us = ahead - 1000;
    must_query(&q, &r);
    ck_assert_uint_eq(r.count, 2);
    store_result_free(&r);

    /* Once the clock has passed that time again, it is the clock. */
    while (now_us() < ahead + 10000)
        usleep(20000);
    {
        json_t *s = registered_statement(reg);

        snprintf(ids[2], sizeof(ids[2]), "%s",
                 json_string_value(json_object_get(s, "id")));
        must_insert(s);
    }
    ck_assert_int_gt(stored_of(ids[2]), ahead);
}
END_TEST

START_TEST(test_consistent_through)
{
    char text[40];
    int64_t t, before = now_us();

    store_consistent_through(st, text, sizeof(text));
    ck_assert_int_eq(strlen(text), 24);
    ck_assert_int_eq(xapi_timestamp_parse(text, true, &t), 0);
    ck_assert_int_ge(t, before - 1000);
    ck_assert_int_le(t, now_us());
}
END_TEST

/* ---- credentials ---- */

START_TEST(test_credentials)
{
    json_t *scopes = json_pack("[s, s]", "statements/write",
                               "statements/read");
    struct store_credential cred;
    struct lrs_error err = {0};
    json_t *made = NULL;
    const char *key, *secret;
    char wrong[128];

    ck_assert_msg(keys_create(conninfo, scopes, "test client",
                              "http://lrsd.test/", &made, &err) == 0,
                  "keys_create: %s", err.message);
    key = json_string_value(json_object_get(made, "key"));
    secret = json_string_value(json_object_get(made, "secret"));
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(secret);
    ck_assert_uint_ge(strlen(secret), 43);
    ck_assert_uint_eq(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                     "mnopqrstuvwxyz0123456789-_"),
                      strlen(secret));
    ck_assert_str_eq(json_string_value(json_object_get(made, "store")),
                     "default");

    for (int round = 0; round < 2; round++) {   /* uncached, then cached */
        ck_assert_int_eq(keys_authenticate(st, key, secret, &cred, &err), 1);
        ck_assert_int_eq(cred.store_id, 1);
        ck_assert(json_equal(cred.scopes, scopes));
        ck_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(cred.authority, "account"),
                             "name")),
                         key);
        keys_credential_free(&cred);
    }
    snprintf(wrong, sizeof(wrong), "%sx", secret);
    ck_assert_int_eq(keys_authenticate(st, key, wrong, &cred, &err), 0);
    ck_assert_int_eq(keys_authenticate(st, key, "", &cred, &err), 0);
    ck_assert_int_eq(keys_authenticate(st, "no-such-key", secret, &cred,
                                       &err), 0);
    ck_assert_int_eq(keys_authenticate(st, secret, key, &cred, &err), 0);

    /* Only a hash of the secret is stored. */
    {
        PGresult *res = db_exec(conninfo,
                                "SELECT key, secret_hash::text,"
                                " secret_salt::text FROM credentials");

        for (int i = 0; i < PQntuples(res); i++) {
            ck_assert_ptr_null(strstr(PQgetvalue(res, i, 1), secret));
            ck_assert_int_eq(strlen(PQgetvalue(res, i, 1)), 2 + 64);
        }
        PQclear(res);
    }
    json_decref(made);

    /* Scopes must be strings. */
    json_decref(scopes);
    scopes = json_pack("[i]", 3);
    ck_assert_int_eq(keys_create(conninfo, scopes, NULL, NULL, &made, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_null(made);
    json_decref(scopes);
}
END_TEST

/* ---- an unreachable database ---- */

START_TEST(test_closed_port_fails_fast)
{
    struct store_config cfg = {
        .conninfo = "host=127.0.0.1 port=1 dbname=nothing user=nobody",
        .pool_size = 1, .acquire_timeout_ms = 100, .max_group = 1};
    struct lrs_error err = {0};
    struct store *other = NULL;
    int64_t start = monotonic_ms();

    ck_assert_int_eq(store_open(&cfg, &other, &err), -1);
    ck_assert_int_eq(err.status, 503);
    ck_assert_int_lt(monotonic_ms() - start, 1500);
    ck_assert_int_eq(migrate_run(cfg.conninfo, &err), -1);
    ck_assert_int_eq(err.status, 503);
}
END_TEST

static void
pg_ctl(const char *action)
{
    const char *ctl = getenv("LRSD_TEST_PGCTL");
    const char *dir = getenv("LRSD_TEST_PGDIR");
    char cmd[2048];

    ck_assert_ptr_nonnull(ctl);
    ck_assert_ptr_nonnull(dir);
    snprintf(cmd, sizeof(cmd), "%s -w -l %s/server.log %s >/dev/null 2>&1",
             ctl, dir, action);
    ck_assert_int_eq(system(cmd), 0);
}

static int
insert_status(void)
{
    return insert_one(statement_new(NULL, "mailto:down@example.com",
                                    "http://lrsd.test/v",
                                    "http://lrsd.test/d"),
                      NULL);
}

START_TEST(test_stopped_server_gives_503_then_recovers)
{
    struct store_query q;
    struct store_result r;
    struct lrs_error err = {0};
    struct store_credential cred;
    int64_t start;

    /* Warm up: pooled and writer connections exist. */
    query_init(&q);
    q.limit = 1;
    must_query(&q, &r);
    store_result_free(&r);
    ck_assert_int_eq(insert_status(), 0);

    pg_ctl("-m fast stop");
    start = monotonic_ms();
    ck_assert_int_eq(store_statements_query(st, &q, &r, &err), -1);
    ck_assert_int_eq(err.status, 503);
    ck_assert_int_eq(insert_status(), 503);
    ck_assert_int_eq(insert_status(), 503);
    ck_assert_int_eq(keys_authenticate(st, "some-key", "secret", &cred,
                                       &err), -1);
    ck_assert_int_eq(err.status, 503);
    ck_assert_int_lt(monotonic_ms() - start, 2000);

    pg_ctl("start");
    usleep(400 * 1000);   /* past the pool's reconnect back-off */
    must_query(&q, &r);
    store_result_free(&r);
    ck_assert_int_eq(insert_status(), 0);
}
END_TEST

/* ---- suite ---- */

static void
migrate_once(void)
{
    struct lrs_error err = {0};
    int applied;

    conninfo = getenv("LRSD_TEST_DATABASE");
    if (conninfo == NULL) {
        fprintf(stderr, "LRSD_TEST_DATABASE is not set: run under "
                        "tests/with-postgres\n");
        exit(1);
    }
    applied = migrate_run(conninfo, &err);
    if (applied < 0) {
        fprintf(stderr, "migrate: %s\n", err.message);
        exit(1);
    }
}

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *schema = tcase_create("schema");
    TCase *rw = tcase_create("statements");
    TCase *down = tcase_create("unavailable");

    tcase_add_unchecked_fixture(schema, migrate_once, NULL);
    tcase_add_test(schema, test_migrate_is_idempotent);
    tcase_add_test(schema, test_schema_file_matches_migrations);
    tcase_add_test(schema, test_store_open_refuses_unmigrated_database);
    tcase_add_test(schema, test_concurrent_migrations_apply_once);
    suite_add_tcase(s, schema);

    tcase_add_unchecked_fixture(rw, migrate_once, NULL);
    tcase_add_checked_fixture(rw, open_store, close_store);
    tcase_set_timeout(rw, 60);
    tcase_add_test(rw, test_round_trip);
    tcase_add_test(rw, test_timestamp_is_kept);
    tcase_add_test(rw, test_batch_is_atomic);
    tcase_add_test(rw, test_equal_reinsert_is_accepted);
    tcase_add_test(rw, test_duplicate_ids_in_one_request);
    tcase_add_test(rw, test_different_reinsert_conflicts);
    tcase_add_test(rw, test_voiding_hides_target);
    tcase_add_test(rw, test_voiding_a_voiding_statement_is_rejected);
    tcase_add_test(rw, test_voiding_in_same_request_and_before_target);
    tcase_add_test(rw, test_copy_rows_match_insert_rows);
    tcase_add_test(rw, test_copy_batch_with_existing_ids);
    tcase_add_test(rw, test_copy_batch_target_voided_before);
    tcase_add_test(rw, test_filters_of_every_kind);
    tcase_add_test(rw, test_statement_ref_inherits_keys);
    tcase_add_test(rw, test_paging_while_inserting);
    tcase_add_test(rw, test_since_and_until);
    tcase_add_test(rw, test_unfiltered_pages_newest_first);
    tcase_add_test(rw, test_concurrent_requests_share_transactions);
    tcase_add_test(rw, test_two_writers_commit_in_seq_order);
    tcase_add_test(rw, test_consistent_through);
    tcase_add_test(rw, test_stored_never_goes_back);
    tcase_add_test(rw, test_credentials);
    suite_add_tcase(s, rw);

    /* Last: stops and restarts the server. */
    tcase_add_unchecked_fixture(down, migrate_once, NULL);
    tcase_add_checked_fixture(down, open_store, close_store);
    tcase_set_timeout(down, 60);
    tcase_add_test(down, test_closed_port_fails_fast);
    tcase_add_test(down, test_stopped_server_gives_503_then_recovers);
    suite_add_tcase(s, down);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
