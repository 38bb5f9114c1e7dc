/*
 * The Statements resource: PUT and POST store statements, GET and HEAD
 * answer single lookups and filtered, paged queries.
 *
 * A write is validated and prepared completely before anything reaches
 * the store; then the request is suspended until the writer reports that
 * the transaction holding its statements has committed (or failed), so an
 * acknowledgement is never sent for anything not durably stored.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "http/attachments.h"
#include "http/params.h"
#include "http/respond.h"
#include "http/server_internal.h"
#include "store/statements.h"
#include "xapi/canonical.h"
#include "xapi/formats.h"
#include "xapi/json_parse.h"
#include "xapi/json_text.h"
#include "xapi/statement.h"
#include "xapi/validate.h"

#define STATEMENTS_METHODS "GET, HEAD, PUT, POST, OPTIONS"

/* ---- writes ------------------------------------------------------------ */

struct ingest {
    json_t *doc;           /* the parsed body */
    struct xapi_row *rows; /* one per statement */
    size_t nrows;
    struct attachment_set set; /* attachment contents, from the body */
    bool put; /* answer 204 rather than the ids */
};

static void
ingest_free(void *p)
{
    struct ingest *in = p;

    for (size_t i = 0; i < in->nrows; i++)
        xapi_row_free(&in->rows[i]);
    free(in->rows);
    attachments_set_free(&in->set);
    json_decref(in->doc);
    free(in);
}

static bool
is_media_type(const char *header, const char *type)
{
    size_t n = strlen(type);

    return header != NULL && strncasecmp(header, type, n) == 0 &&
           (header[n] == '\0' || header[n] == ';' || header[n] == ' ');
}

/* Parses the body, a JSON document or a multipart/mixed body with
 * attachment contents, into in->doc and in->set. */
static int
read_body(struct http_request *req, struct ingest *in, struct lrs_error *err)
{
    const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (is_media_type(ct, "multipart/mixed"))
        return attachments_read_multipart(req->body, req->body_len, ct,
                                          &in->doc, &in->set, err);
    if (!is_media_type(ct, "application/json"))
        return lrs_error_set(err, 400,
                             "Content-Type: must be application/json or "
                             "multipart/mixed");
    if (req->body_len == 0)
        return lrs_error_set(err, 400, "body: a statement is required");
    in->doc = xapi_json_parse_checked(req->body, req->body_len, "body", err);
    return in->doc != NULL ? 0 : -1;
}

static _Thread_local const struct xapi_row *sort_rows; /* compare_ids */

static int
compare_ids(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(sort_rows[a].id, sort_rows[b].id);

    if (c != 0)
        return c;
    return a < b ? -1 : a > b;
}

/* Rejects a batch that uses one id twice: the specification forbids it,
 * and storing it would make the batch conflict with itself. The error
 * names the first statement whose id an earlier one has. Sorting the
 * indexes by id keeps a batch of --max-batch statements at n log n
 * comparisons, not n squared. */
static int
check_unique_ids(const struct ingest *in, struct lrs_error *err)
{
    size_t *order, first = SIZE_MAX;

    if (in->nrows < 2)
        return 0;
    order = malloc(in->nrows * sizeof(*order));
    if (order == NULL)
        return lrs_error_set(err, 500, "out of memory");
    for (size_t i = 0; i < in->nrows; i++)
        order[i] = i;
    /* qsort takes no context argument; the rows are passed through a
     * thread-local pointer instead. */
    sort_rows = in->rows;
    qsort(order, in->nrows, sizeof(*order), compare_ids);
    for (size_t k = 1; k < in->nrows; k++) {
        if (strcmp(in->rows[order[k]].id, in->rows[order[k - 1]].id) == 0 &&
            order[k] < first)
            first = order[k];
    }
    free(order);
    if (first == SIZE_MAX)
        return 0;
    return lrs_error_set(err, 400,
                         "statements[%zu].id: the batch already has a "
                         "statement with id %s",
                         first, in->rows[first].id);
}

/* The statements of a batch are checked and turned into rows in slices.
 * A large batch is split between the request's thread and one helper
 * thread: with few connections, this is the part of a request that
 * nothing else overlaps, and another core is usually idle. */
#define SPLIT_MIN_STATEMENTS 32

struct slice {
    struct http_request *req;
    struct ingest *in;
    size_t lo, hi;             /* statements [lo, hi) */
    bool array;                /* the body is an array (paths) */
    size_t invalid;            /* first statement that failed validation,
                                * SIZE_MAX if none */
    bool build_failed;
    struct lrs_error err;      /* the first failure's */
};

/* Validates the slice's statements, then, when they are all valid, builds
 * their rows. */
static void
process_slice(struct slice *sl)
{
    json_t *doc = sl->in->doc;
    char path[48];

    sl->invalid = SIZE_MAX;
    sl->build_failed = false;
    for (size_t i = sl->lo; i < sl->hi; i++) {
        json_t *stmt = sl->array ? json_array_get(doc, i) : doc;

        if (sl->array)
            snprintf(path, sizeof(path), "statements[%zu]", i);
        else
            snprintf(path, sizeof(path), "statement");
        if (!json_is_object(stmt)) {
            lrs_error_set(&sl->err, 400, "%s: must be an object", path);
            sl->invalid = i;
            return;
        }
        if (xapi_validate_statement(stmt, sl->req->version, path,
                                    &sl->err) < 0) {
            sl->invalid = i;
            return;
        }
    }
    for (size_t i = sl->lo; i < sl->hi; i++) {
        json_t *stmt = sl->array ? json_array_get(doc, i) : doc;

        if (xapi_row_build(stmt, sl->req->cred.authority, sl->req->version,
                           &sl->in->rows[i], &sl->err) < 0) {
            sl->build_failed = true;
            return;
        }
    }
}

static void *
slice_thread(void *arg)
{
    struct slice *sl = arg;

    log_set_request(sl->req->id);
    process_slice(sl);
    return NULL;
}

/* Validates every statement of the body and builds the rows, with the
 * outcome a sequential pass would have: the first invalid statement's
 * error, then the attachments' check, then any failure to build. */
static int
validate_and_build(struct http_request *req, struct ingest *in,
                   struct lrs_error *err)
{
    bool array = json_is_array(in->doc);
    size_t n = array ? json_array_size(in->doc) : 1;
    struct slice part[2];
    size_t nparts = 1;
    pthread_t helper;
    bool helped = false;

    if (n > (size_t)http_request_config(req)->max_batch)
        return lrs_error_set(err, 413,
                             "statements: more than %d statements in one "
                             "request",
                             http_request_config(req)->max_batch);
    if (n == 0)
        return lrs_error_set(err, 400, "statements: the array is empty");
    in->rows = calloc(n, sizeof(*in->rows));
    if (in->rows == NULL)
        return lrs_error_set(err, 500, "out of memory");
    /* Rows are zeroed until built, and a failed build frees its own, so
     * every slot can be freed whatever happens. */
    in->nrows = n;
    memset(part, 0, sizeof(part));
    part[0] = (struct slice){.req = req, .in = in, .lo = 0, .hi = n,
                             .array = array};
    if (n >= SPLIT_MIN_STATEMENTS) {
        part[1] = part[0];
        part[0].hi = part[1].lo = n / 2;
        nparts = 2;
        helped = pthread_create(&helper, NULL, slice_thread, &part[1]) == 0;
    }
    process_slice(&part[0]);
    if (helped)
        pthread_join(helper, NULL);
    else if (nparts == 2)
        process_slice(&part[1]);
    for (size_t k = 0; k < nparts; k++) {
        if (part[k].invalid != SIZE_MAX) {
            *err = part[k].err;
            return -1;
        }
    }
    if (attachments_check(in->doc, &in->set, err) < 0)
        return -1;
    for (size_t k = 0; k < nparts; k++) {
        if (part[k].build_failed) {
            *err = part[k].err;
            return -1;
        }
    }
    return check_unique_ids(in, err);
}

static void
on_stored(void *arg, const struct lrs_error *err)
{
    http_request_finish(arg, err);
}

static enum MHD_Result
answer_stored(struct http_request *req)
{
    struct ingest *in = req->state;
    enum MHD_Result ret;
    json_t *ids;

    if (req->outcome.status != 0)
        return http_respond_error(req, &req->outcome);
    if (in->put)
        return http_respond(req, 204, NULL, 0, NULL, NULL);
    ids = json_array();
    for (size_t i = 0; ids != NULL && i < in->nrows; i++)
        json_array_append_new(ids, json_string(in->rows[i].id));
    if (ids == NULL)
        return MHD_NO;
    ret = http_respond_json(req, 200, ids, NULL);
    json_decref(ids);
    return ret;
}

/* PUT carries the id in statementId; the body may repeat it. */
static int
apply_put_id(struct http_request *req, json_t *doc, struct lrs_error *err)
{
    struct param_list params;
    const char *given;
    json_t *body_id;
    char id[37], other[37];

    http_request_params(req, &params);
    for (size_t i = 0; i < params.count; i++) {
        if (strcmp(params.items[i].name, "statementId") != 0)
            return lrs_error_set(err, 400, "%s: unknown parameter",
                                 params.items[i].name);
    }
    given = params_get(&params, "statementId");
    if (given == NULL)
        return lrs_error_set(err, 400, "statementId: parameter is required");
    if (xapi_uuid_normalize(given, id) < 0)
        return lrs_error_set(err, 400, "statementId: must be a UUID");
    if (!json_is_object(doc))
        return lrs_error_set(err, 400, "statement: must be an object");
    body_id = json_object_get(doc, "id");
    if (body_id == NULL)
        return json_object_set_new(doc, "id", json_string(id)) == 0
                   ? 0
                   : lrs_error_set(err, 500, "out of memory");
    if (!json_is_string(body_id) ||
        xapi_uuid_normalize(json_string_value(body_id), other) < 0 ||
        strcmp(id, other) != 0)
        return lrs_error_set(err, 400,
                             "statement.id: must equal the statementId "
                             "parameter");
    return 0;
}

static enum MHD_Result
statements_write(struct http_request *req, bool put)
{
    struct lrs_error err = {0};
    struct ingest *in;

    in = calloc(1, sizeof(*in));
    if (in == NULL)
        return MHD_NO;
    in->put = put;
    req->state = in;
    req->free_state = ingest_free;
    if (read_body(req, in, &err) < 0)
        return http_respond_error(req, &err);
    if (put && apply_put_id(req, in->doc, &err) < 0)
        return http_respond_error(req, &err);
    if (!put) {
        struct param_list params;

        http_request_params(req, &params);
        if (params.count > 0)
            return http_fail(req, 400, "%s: unknown parameter",
                             params.items[0].name);
    }
    if (validate_and_build(req, in, &err) < 0)
        return http_respond_error(req, &err);
    req->resume = answer_stored;
    http_request_suspend(req);
    store_statements_submit(http_request_store(req), req->cred.store_id,
                            in->rows, in->nrows, in->set.items, in->set.count,
                            on_stored, req);
    return MHD_YES;
}

/* ---- reads ------------------------------------------------------------- */

/* Returns the text of one statement in the requested format: the stored
 * text itself for exact, a re-serialised copy otherwise. */
static char *
format_statement(const struct store_statement *item, enum xapi_format fmt,
                 const char *accept_language, size_t *len)
{
    json_t *stmt;
    char *text;

    if (fmt == XAPI_FORMAT_EXACT) {
        text = malloc(item->body_len + 1);
        if (text != NULL) {
            memcpy(text, item->body, item->body_len + 1);
            *len = item->body_len;
        }
        return text;
    }
    stmt = xapi_json_parse(item->body, item->body_len, NULL);
    if (stmt == NULL || xapi_format_apply(stmt, fmt, accept_language) < 0) {
        json_decref(stmt);
        return NULL;
    }
    text = xapi_json_text(stmt, len);
    json_decref(stmt);
    return text;
}

/* Wraps a JSON answer with the contents of the attachments of the
 * statements in res, as attachments=true asks. */
static char *
wrap_multipart(struct http_request *req, const struct store_result *res,
               char *json, size_t *len, char *boundary, size_t bsize,
               struct lrs_error *err)
{
    const char **bodies = calloc(res->count + 1, sizeof(*bodies));
    size_t *lens = calloc(res->count + 1, sizeof(*lens));
    struct store_attachment *items = NULL;
    size_t nhashes = 0, nitems = 0;
    char **hashes = NULL, *out = NULL;

    if (bodies == NULL || lens == NULL) {
        lrs_error_set(err, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < res->count; i++) {
        bodies[i] = res->items[i].body;
        lens[i] = res->items[i].body_len;
    }
    hashes = attachments_hashes(bodies, lens, res->count, &nhashes);
    if (nhashes > 0 &&
        store_attachments_get(http_request_store(req), req->cred.store_id,
                              (const char *const *)hashes, nhashes, &items,
                              &nitems, err) < 0)
        goto out;
    out =
        attachments_multipart(json, *len, items, nitems, boundary, bsize, len);
    json = NULL;
    if (out == NULL)
        lrs_error_set(err, 500, "out of memory");
out:
    free(json);
    store_attachments_free(items, nitems);
    for (size_t i = 0; i < nhashes; i++)
        free(hashes[i]);
    free(hashes);
    free(bodies);
    free(lens);
    return out;
}

static enum MHD_Result
answer_read(struct http_request *req, const struct statements_get *g,
            const struct store_result *res, char *text, size_t len,
            const char *stored)
{
    char date[64], boundary[40], ctype[96];
    const char *headers[] = {MHD_HTTP_HEADER_LAST_MODIFIED, date, NULL};
    struct lrs_error err = {0};
    int64_t us;

    if (stored[0] != '\0' && xapi_timestamp_parse(stored, true, &us) == 0)
        http_date(us, date, sizeof(date));
    else
        headers[0] = NULL;
    if (!g->attachments)
        return http_respond(req, 200, text, len, "application/json", headers);
    text =
        wrap_multipart(req, res, text, &len, boundary, sizeof(boundary), &err);
    if (text == NULL)
        return http_respond_error(req, &err);
    snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=%s", boundary);
    return http_respond(req, 200, text, len, ctype, headers);
}

static enum MHD_Result
answer_single(struct http_request *req, const struct statements_get *g,
              const struct store_result *res)
{
    const char *lang =
        http_request_header(req, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    size_t len;
    char *text;

    if (res->count == 0)
        return http_fail(req, 404, "%s: no such statement",
                         g->query.voided ? "voidedStatementId" : "statementId");
    text = format_statement(&res->items[0], g->format, lang, &len);
    if (text == NULL)
        return MHD_NO;
    return answer_read(req, g, res, text, len, res->items[0].stored);
}

/* The texts of a page of statements, in the requested format: the
 * stored text itself for exact, which is only pointed at, or a
 * re-serialised copy that the list owns. */
struct list_texts {
    const char **text;
    size_t *len;
    char **owned;       /* the copies, NULL for exact */
    size_t count;
};

static void
list_texts_free(struct list_texts *t)
{
    for (size_t i = 0; t->owned != NULL && i < t->count; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t->text);
    free(t->len);
}

/* Fills t for the items of res. Returns the sum of the lengths, or
 * SIZE_MAX when memory runs out. */
static size_t
list_texts_fill(struct list_texts *t, struct http_request *req,
                const struct statements_get *g,
                const struct store_result *res)
{
    const char *lang =
        http_request_header(req, MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
    size_t n = res->count > 0 ? res->count : 1, total = 0;

    t->text = calloc(n, sizeof(*t->text));
    t->len = calloc(n, sizeof(*t->len));
    if (g->format != XAPI_FORMAT_EXACT)
        t->owned = calloc(n, sizeof(*t->owned));
    if (t->text == NULL || t->len == NULL ||
        (g->format != XAPI_FORMAT_EXACT && t->owned == NULL))
        return SIZE_MAX;
    for (size_t i = 0; i < res->count; i++) {
        if (t->owned == NULL) {
            t->text[i] = res->items[i].body;
            t->len[i] = res->items[i].body_len;
        } else {
            t->owned[i] =
                format_statement(&res->items[i], g->format, lang, &t->len[i]);
            if (t->owned[i] == NULL)
                return SIZE_MAX;
            t->text[i] = t->owned[i];
        }
        t->count++;
        total += t->len[i];
    }
    return total;
}

static char *
append_text(char *at, const char *text, size_t len)
{
    memcpy(at, text, len);
    return at + len;
}

/* Returns the list answer {"statements":[...],"more":"..."} in one
 * allocation sized up front, each statement's text copied into it once;
 * NULL when memory runs out. */
static char *
build_list(struct http_request *req, const struct statements_get *g,
           const struct store_result *res, size_t *len)
{
    static const char head[] = "{\"statements\":[";
    static const char middle[] = "],\"more\":\"";
    static const char more_path[] = "/statements?more=";
    const char *base = http_request_config(req)->base_path;
    struct list_texts t = {0};
    char *token = NULL, *text = NULL, *at;
    size_t size;

    size = list_texts_fill(&t, req, g, res);
    if (size == SIZE_MAX)
        goto out;
    if (res->more && res->count > 0) {
        token =
            params_more_token(g, (long long)res->items[res->count - 1].seq);
        if (token == NULL)
            goto out;
        size += strlen(base) + sizeof(more_path) + strlen(token);
    }
    size += sizeof(head) + t.count + sizeof(middle) + 2;
    text = malloc(size);
    if (text == NULL)
        goto out;
    at = append_text(text, head, sizeof(head) - 1);
    for (size_t i = 0; i < t.count; i++) {
        if (i > 0)
            *at++ = ',';
        at = append_text(at, t.text[i], t.len[i]);
    }
    at = append_text(at, middle, sizeof(middle) - 1);
    if (token != NULL) {
        at = append_text(at, base, strlen(base));
        at = append_text(at, more_path, sizeof(more_path) - 1);
        at = append_text(at, token, strlen(token));
    }
    at = append_text(at, "\"}", 2);
    *len = (size_t)(at - text);
out:
    free(token);
    list_texts_free(&t);
    return text;
}

static enum MHD_Result
answer_list(struct http_request *req, const struct statements_get *g,
            const struct store_result *res)
{
    size_t len = 0;
    char *text = build_list(req, g, res, &len);

    if (text == NULL)
        return MHD_NO;
    return answer_read(req, g, res, text, len, res->last_stored);
}

static enum MHD_Result
statements_read(struct http_request *req)
{
    struct param_list params;
    struct statements_get g;
    struct store_result res = {0};
    struct lrs_error err = {0};
    enum MHD_Result ret;

    http_request_params(req, &params);
    if (params_statements_get(&params, req->version, req->cred.store_id,
                              http_request_config(req)->page_limit, &g,
                              &err) < 0)
        return http_respond_error(req, &err);
    if (store_statements_query(http_request_store(req), &g.query, &res, &err) <
        0) {
        params_statements_get_free(&g);
        return http_respond_error(req, &err);
    }
    ret = g.single ? answer_single(req, &g, &res) : answer_list(req, &g, &res);
    store_result_free(&res);
    params_statements_get_free(&g);
    return ret;
}

enum MHD_Result
statements_handle(struct http_request *req)
{
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        return statements_read(req);
    if (strcmp(req->method, "POST") == 0)
        return statements_write(req, false);
    if (strcmp(req->method, "PUT") == 0)
        return statements_write(req, true);
    return http_method_not_allowed(req, STATEMENTS_METHODS);
}
