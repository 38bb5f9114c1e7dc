/*
 * Opening and closing the store: checks that the database schema is the
 * one this build expects, then sets up the read pool, the writer thread
 * and the credential cache. See store.h.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/internal.h"
#include "store/migrate.h"
#include "xapi/formats.h"

static int
check_config(const struct store_config *cfg, struct lrs_error *err)
{
    if (cfg->conninfo == NULL)
        return lrs_error_set(err, 500, "no database configured");
    if (cfg->pool_size < 1 || cfg->max_group < 1 ||
        cfg->acquire_timeout_ms < 0 || cfg->statement_timeout_ms < 0)
        return lrs_error_set(err, 500, "invalid store configuration");
    return 0;
}

/* Connects once to compare the schema version with this build's. */
static int
check_schema(const struct store_config *cfg, struct lrs_error *err)
{
    int version, latest = migrate_latest_version();
    PGconn *pg;
    int rc;

    if (pool_connect(cfg->conninfo, cfg->statement_timeout_ms, &pg, err) != 0)
        return -1;
    rc = migrate_read_version(pg, &version, err);
    PQfinish(pg);
    if (rc != 0)
        return -1;
    if (version < latest)
        return lrs_error_set(err, 500, "the database schema is at version "
                             "%d but this lrsd needs version %d: run "
                             "`lrsd migrate`", version, latest);
    if (version > latest)
        log_warn("event=schema_newer version=%d known=%d", version, latest);
    return 0;
}

int
store_open(const struct store_config *cfg, struct store **out,
           struct lrs_error *err)
{
    struct store *st;

    *out = NULL;
    if (check_config(cfg, err) != 0 || check_schema(cfg, err) != 0)
        return -1;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return lrs_error_set(err, 500, "out of memory");
    st->cfg = *cfg;
    st->conninfo = strdup(cfg->conninfo);
    st->cfg.conninfo = st->conninfo;
    st->keys = keys_cache_new();
    if (st->conninfo != NULL)
        st->pool = pool_new(st->conninfo, cfg->pool_size,
                            cfg->statement_timeout_ms);
    if (st->conninfo == NULL || st->keys == NULL || st->pool == NULL) {
        store_close(st);
        return lrs_error_set(err, 500, "out of memory");
    }
    if (writer_start(st->conninfo, cfg->statement_timeout_ms, cfg->max_group,
                     &st->writer, err) != 0) {
        store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    writer_stop(st->writer);
    pool_free(st->pool);
    keys_cache_free(st->keys);
    free(st->conninfo);
    free(st);
}

void
store_consistent_through(struct store *st, char *out, size_t size)
{
    xapi_timestamp_format(writer_consistent_through_us(st->writer), out,
                          size);
}
