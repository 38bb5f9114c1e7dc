/*
 * The query parameters of GET /statements, checked and turned into a
 * store query, and the `more` cursor that continues a query. Pure code:
 * parameters come in as name/value pairs, so it is unit-tested alone.
 */
#ifndef LRSD_HTTP_PARAMS_H
#define LRSD_HTTP_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "store/statements.h"
#include "xapi/canonical.h"
#include "xapi/version.h"

struct param {
    const char *name;  /* borrowed */
    const char *value; /* borrowed, URL-decoded */
};

#define PARAMS_MAX 32

struct param_list {
    struct param items[PARAMS_MAX];
    size_t count;
    bool overflow; /* more parameters than fit */
};

/* Adds a parameter; sets overflow when full. */
void params_add(struct param_list *list, const char *name, const char *value);

/* Returns the value of a parameter, or NULL when absent. */
const char *params_get(const struct param_list *list, const char *name);

struct statements_get {
    struct store_query query; /* filters, cursor, limit */
    char statement_id[37];    /* single lookup id, "" for a list */
    enum xapi_format format;
    bool attachments;
    bool single;       /* statementId or voidedStatementId given */
    char *cursor_rest; /* owned: the query's parameters, encoded
                          for the next `more` cursor */
};

/* Checks the parameters of GET /statements and fills out. Unknown or
 * miscased parameters, malformed values and forbidden combinations
 * (statementId with filters) are rejected with 400 naming the parameter.
 * A `more` cursor is decoded and its original parameters applied.
 * page_limit is the server's maximum page size (limit=0 or no limit).
 * Returns 0 or -1 with err. */
int params_statements_get(const struct param_list *params, enum xapi_version v,
                          int store_id, int page_limit,
                          struct statements_get *out, struct lrs_error *err)
    __attribute__((warn_unused_result));

/* Frees what params_statements_get allocated in g. */
void params_statements_get_free(struct statements_get *g);

/* Builds the value of the `more` parameter that continues the query after
 * the statement with sequence number last_seq. Returns a new string
 * (URL-safe) the caller frees, or NULL on OOM. */
char *params_more_token(const struct statements_get *g, long long last_seq);

#endif
