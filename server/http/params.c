/*
 * GET /statements parameters. Each parameter has one parser; the table
 * below says which exist, so anything else (including a miscased name) is
 * rejected, as the specification requires.
 *
 * A `more` cursor carries the original parameters and the sequence number
 * of the last statement returned, base64url-encoded, so continuing a query
 * needs no server-side state and survives a restart.
 */
#include "http/params.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "xapi/formats.h"
#include "xapi/json_parse.h"
#include "xapi/statement.h"
#include "xapi/validate.h"

void
params_add(struct param_list *list, const char *name, const char *value)
{
    if (list->count == PARAMS_MAX) {
        list->overflow = true;
        return;
    }
    list->items[list->count].name = name;
    list->items[list->count].value = value ? value : "";
    list->count++;
}

const char *
params_get(const struct param_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].name, name) == 0)
            return list->items[i].value;
    }
    return NULL;
}

/* The parameters GET /statements knows. Single lookups allow only the
 * ones marked. */
static const struct {
    const char *name;
    bool with_single;
} known[] = {
    {"statementId", true},
    {"voidedStatementId", true},
    {"agent", false},
    {"verb", false},
    {"activity", false},
    {"registration", false},
    {"related_activities", false},
    {"related_agents", false},
    {"since", false},
    {"until", false},
    {"limit", false},
    {"format", true},
    {"attachments", true},
    {"ascending", false},
    {"more", false},
};

static int
check_names(const struct param_list *params, struct lrs_error *err)
{
    bool single = params_get(params, "statementId") != NULL ||
                  params_get(params, "voidedStatementId") != NULL;

    if (params->overflow)
        return lrs_error_set(err, 400, "query: too many parameters");
    for (size_t i = 0; i < params->count; i++) {
        const char *name = params->items[i].name;
        size_t k;

        for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            if (strcmp(known[k].name, name) == 0)
                break;
        }
        if (k == sizeof(known) / sizeof(known[0]))
            return lrs_error_set(err, 400, "%s: unknown parameter", name);
        if (single && !known[k].with_single)
            return lrs_error_set(err, 400,
                                 "%s: not allowed with statementId or "
                                 "voidedStatementId",
                                 name);
    }
    if (params_get(params, "statementId") &&
        params_get(params, "voidedStatementId"))
        return lrs_error_set(err, 400,
                             "statementId: not allowed with "
                             "voidedStatementId");
    return 0;
}

static int
parse_bool(const char *name, const char *value, bool *out,
           struct lrs_error *err)
{
    if (value == NULL)
        return 0;
    if (strcmp(value, "true") == 0)
        *out = true;
    else if (strcmp(value, "false") == 0)
        *out = false;
    else
        return lrs_error_set(err, 400, "%s: must be true or false", name);
    return 0;
}

static int
add_filter(struct store_query *q, enum xapi_index_kind kind, const char *value)
{
    if (q->nfilters == STORE_MAX_FILTERS ||
        xapi_key_digest(kind, value, q->filters[q->nfilters].digest) < 0)
        return -1;
    q->filters[q->nfilters].kind = (unsigned char)kind;
    q->nfilters++;
    return 0;
}

static int
parse_agent(const char *value, bool related, enum xapi_version v,
            struct store_query *q, struct lrs_error *err)
{
    json_t *agent;
    char *key;
    int rc = -1;

    agent = xapi_json_parse(value, strlen(value), NULL);
    if (agent == NULL || !json_is_object(agent)) {
        lrs_error_set(err, 400, "agent: must be a JSON Agent or Group");
        goto out;
    }
    if (xapi_validate_actor(agent, v, "agent", err) < 0)
        goto out;
    key = xapi_actor_key(agent);
    if (key == NULL) {
        lrs_error_set(err, 400,
                      "agent: must have an inverse functional identifier");
        goto out;
    }
    rc = add_filter(q, related ? XAPI_KEY_AGENT_RELATED : XAPI_KEY_AGENT, key);
    free(key);
out:
    json_decref(agent);
    return rc;
}

static int
parse_iri_filter(const char *name, const char *value, enum xapi_index_kind kind,
                 struct store_query *q, struct lrs_error *err)
{
    if (!xapi_is_iri(value))
        return lrs_error_set(err, 400, "%s: must be an absolute IRI", name);
    return add_filter(q, kind, value);
}

static int
parse_time(const char *name, const char *value, int64_t *out,
           struct lrs_error *err)
{
    if (xapi_timestamp_parse(value, false, out) < 0)
        return lrs_error_set(err, 400, "%s: must be an ISO 8601 timestamp",
                             name);
    return 0;
}

static int
parse_limit(const char *value, int page_limit, int *out, struct lrs_error *err)
{
    char *end;
    long n;

    *out = page_limit;
    if (value == NULL)
        return 0;
    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < 0 ||
        value[0] == '-' || value[0] == '+')
        return lrs_error_set(err, 400, "limit: must be a non-negative integer");
    if (n > 0 && n < page_limit)
        *out = (int)n;
    return 0;
}

static int
parse_single(const struct param_list *params, struct statements_get *out,
             struct lrs_error *err)
{
    const char *id = params_get(params, "statementId");
    const char *name = "statementId";

    if (id == NULL) {
        id = params_get(params, "voidedStatementId");
        name = "voidedStatementId";
        out->query.voided = true;
    }
    if (xapi_uuid_normalize(id, out->statement_id) < 0)
        return lrs_error_set(err, 400, "%s: must be a UUID", name);
    out->single = true;
    out->query.statement_id = out->statement_id;
    out->query.limit = 1;
    return 0;
}

static int
parse_filters(const struct param_list *params, enum xapi_version v,
              struct statements_get *out, struct lrs_error *err)
{
    struct store_query *q = &out->query;
    bool related_agents = false, related_activities = false;
    const char *value;

    if (parse_bool("related_agents", params_get(params, "related_agents"),
                   &related_agents, err) < 0 ||
        parse_bool("related_activities",
                   params_get(params, "related_activities"),
                   &related_activities, err) < 0 ||
        parse_bool("ascending", params_get(params, "ascending"), &q->ascending,
                   err) < 0)
        return -1;
    if ((value = params_get(params, "agent")) != NULL &&
        parse_agent(value, related_agents, v, q, err) < 0)
        return -1;
    if ((value = params_get(params, "verb")) != NULL &&
        parse_iri_filter("verb", value, XAPI_KEY_VERB, q, err) < 0)
        return -1;
    if ((value = params_get(params, "activity")) != NULL &&
        parse_iri_filter("activity", value,
                         related_activities ? XAPI_KEY_ACTIVITY_RELATED
                                            : XAPI_KEY_ACTIVITY,
                         q, err) < 0)
        return -1;
    if ((value = params_get(params, "registration")) != NULL) {
        char id[37];

        if (xapi_uuid_normalize(value, id) < 0)
            return lrs_error_set(err, 400, "registration: must be a UUID");
        if (add_filter(q, XAPI_KEY_REGISTRATION, id) < 0)
            return -1;
    }
    if ((value = params_get(params, "since")) != NULL) {
        if (parse_time("since", value, &q->since_us, err) < 0)
            return -1;
        q->has_since = true;
    }
    if ((value = params_get(params, "until")) != NULL) {
        if (parse_time("until", value, &q->until_us, err) < 0)
            return -1;
        q->has_until = true;
    }
    return 0;
}

static int
parse_all(const struct param_list *params, enum xapi_version v, int page_limit,
          struct statements_get *out, struct lrs_error *err)
{
    const char *value;

    if (check_names(params, err) < 0)
        return -1;
    if ((value = params_get(params, "format")) != NULL &&
        xapi_format_parse(value, &out->format) < 0)
        return lrs_error_set(err, 400,
                             "format: must be exact, ids or canonical");
    if (parse_bool("attachments", params_get(params, "attachments"),
                   &out->attachments, err) < 0)
        return -1;
    if (params_get(params, "statementId") ||
        params_get(params, "voidedStatementId"))
        return parse_single(params, out, err);
    if (parse_limit(params_get(params, "limit"), page_limit, &out->query.limit,
                    err) < 0)
        return -1;
    return parse_filters(params, v, out, err);
}

/* Percent-encodes text into f for use inside a query string. */
static void
put_encoded(FILE *f, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* Encodes the parameters other than `more` as "&name=value..." for a
 * cursor. Returns a new string, or NULL on OOM. */
static char *
encode_params(const struct param_list *params)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < params->count; i++) {
        if (strcmp(params->items[i].name, "more") == 0)
            continue;
        fputc('&', f);
        put_encoded(f, params->items[i].name);
        fputc('=', f);
        put_encoded(f, params->items[i].value);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

char *
params_more_token(const struct statements_get *g, long long last_seq)
{
    char *text, *token;
    int len;

    len = asprintf(&text, "%lld%s", last_seq,
                   g->cursor_rest ? g->cursor_rest : "");
    if (len < 0)
        return NULL;
    token = base64_encode(text, (size_t)len, true);
    free(text);
    return token;
}

void
params_statements_get_free(struct statements_get *g)
{
    free(g->cursor_rest);
    g->cursor_rest = NULL;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX sequences in place. Returns -1 on a malformed escape. */
static int
percent_decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '%') {
            int hi = hex_value(s[1]), lo = hi < 0 ? -1 : hex_value(s[2]);

            if (hi < 0 || lo < 0)
                return -1;
            *o++ = (char)(hi << 4 | lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

/* Splits a decoded cursor "SEQ&name=value&..." into its parts, in place.
 * The parameters point into text. */
static int
split_cursor(char *text, long long *seq, struct param_list *params)
{
    char *end, *part, *next;

    errno = 0;
    *seq = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *seq <= 0 || (*end && *end != '&'))
        return -1;
    for (part = *end ? end + 1 : end; *part; part = next) {
        char *eq;

        next = strchr(part, '&');
        if (next != NULL)
            *next++ = '\0';
        else
            next = part + strlen(part);
        eq = strchr(part, '=');
        if (eq == NULL)
            return -1;
        *eq = '\0';
        if (percent_decode(part) < 0 || percent_decode(eq + 1) < 0)
            return -1;
        params_add(params, part, eq + 1);
    }
    return params->overflow ? -1 : 0;
}

static int
parse_more(const char *token, enum xapi_version v, int page_limit,
           struct statements_get *out, struct lrs_error *err)
{
    struct param_list original = {0};
    unsigned char *text;
    long long seq;
    size_t len;
    int rc = -1;

    text = base64_decode(token, strlen(token), &len);
    if (text != NULL && strlen((char *)text) == len) {
        char *rest = strchr((char *)text, '&');

        out->cursor_rest = strdup(rest ? rest : "");
    }
    if (text == NULL || out->cursor_rest == NULL ||
        split_cursor((char *)text, &seq, &original) < 0 ||
        params_get(&original, "more") != NULL) {
        lrs_error_set(err, 400, "more: not a cursor this server issued");
        goto out;
    }
    if (parse_all(&original, v, page_limit, out, err) < 0 || out->single) {
        lrs_error_set(err, 400, "more: not a cursor this server issued");
        goto out;
    }
    out->query.after_seq = seq;
    rc = 0;
out:
    free(text);
    return rc;
}

int
params_statements_get(const struct param_list *params, enum xapi_version v,
                      int store_id, int page_limit, struct statements_get *out,
                      struct lrs_error *err)
{
    const char *more = params_get(params, "more");

    memset(out, 0, sizeof(*out));
    out->query.store_id = store_id;
    out->format = XAPI_FORMAT_EXACT;
    if (more != NULL) {
        if (params->count != 1)
            return lrs_error_set(err, 400, "more: must be the only parameter");
        if (parse_more(more, v, page_limit, out, err) < 0)
            goto fail;
        return 0;
    }
    if (parse_all(params, v, page_limit, out, err) < 0)
        goto fail;
    if (!out->single) {
        out->cursor_rest = encode_params(params);
        if (out->cursor_rest == NULL) {
            lrs_error_set(err, 500, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    params_statements_get_free(out);
    return -1;
}
