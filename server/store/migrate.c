/*
 * Applying the migrations compiled into the binary. See migrate.h.
 *
 * A session-level advisory lock serialises concurrent `lrsd migrate`
 * runs: the second waits for the first and then finds nothing left to do.
 * Each migration runs in its own transaction together with the row that
 * records it, so a failed migration leaves no trace and the next run
 * starts it again. (A future migration that cannot run inside a
 * transaction, such as CREATE INDEX CONCURRENTLY, needs a different path.)
 */
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/internal.h"
#include "store/migrations.h"
#include "store/pool.h"
#include "store/sql.h"

int
migrate_latest_version(void)
{
    if (store_migrations_count == 0)
        return 0;
    return store_migrations[store_migrations_count - 1].version;
}

/* Runs a parameterless statement of the sql table; res may be NULL when
 * the caller needs no rows. */
static int
exec_simple(PGconn *pg, enum sql_id id, ExecStatusType want, PGresult **res,
            struct lrs_error *err)
{
    PGresult *r = PQexec(pg, sql_statements[id].text);
    int rc = pool_check(pg, r, want, sql_statements[id].name, err);

    if (rc == 0 && res != NULL)
        *res = r;
    else
        PQclear(r);
    return rc;
}

int
migrate_read_version(PGconn *pg, int *out, struct lrs_error *err)
{
    PGresult *res = NULL;
    bool exists;

    *out = 0;
    if (exec_simple(pg, SQL_MIGRATIONS_TABLE_EXISTS, PGRES_TUPLES_OK, &res,
                    err) != 0)
        return -1;
    exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    if (exec_simple(pg, SQL_SCHEMA_VERSION, PGRES_TUPLES_OK, &res, err) != 0)
        return -1;
    *out = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int
record_migration(PGconn *pg, const struct migration *m,
                 struct lrs_error *err)
{
    char version[16];
    const char *values[2] = {version, m->name};
    PGresult *res;
    int rc;

    snprintf(version, sizeof(version), "%d", m->version);
    res = PQexecParams(pg, sql_statements[SQL_MIGRATION_RECORD].text, 2, NULL,
                       values, NULL, NULL, 0);
    rc = pool_check(pg, res, PGRES_COMMAND_OK, "migration_record", err);
    PQclear(res);
    return rc;
}

static int
apply_one(PGconn *pg, const struct migration *m, struct lrs_error *err)
{
    PGresult *res;
    int rc;

    if (exec_simple(pg, SQL_BEGIN, PGRES_COMMAND_OK, NULL, err) != 0)
        return -1;
    /* A migration is several statements: the simple query protocol runs
     * them all; the last one's result tells whether all succeeded. */
    res = PQexec(pg, m->sql);
    rc = PQresultStatus(res) == PGRES_TUPLES_OK
             ? 0
             : pool_check(pg, res, PGRES_COMMAND_OK, "migration", err);
    PQclear(res);
    if (rc == 0)
        rc = record_migration(pg, m, err);
    if (rc == 0)
        rc = exec_simple(pg, SQL_COMMIT, PGRES_COMMAND_OK, NULL, err);
    if (rc != 0) {
        struct lrs_error ignored;

        if (exec_simple(pg, SQL_ROLLBACK, PGRES_COMMAND_OK, NULL,
                        &ignored) != 0)
            log_warn("event=migration_rollback_failed version=%d",
                     m->version);
        log_error("event=migration_failed version=%d name=%s", m->version,
                  m->name);
        return -1;
    }
    log_info("event=migration_applied version=%d name=%s", m->version,
             m->name);
    return 0;
}

static int
apply_pending(PGconn *pg, struct lrs_error *err)
{
    int current, applied = 0;

    if (migrate_read_version(pg, &current, err) != 0)
        return -1;
    if (current > migrate_latest_version())
        log_warn("event=schema_newer version=%d known=%d", current,
                 migrate_latest_version());
    for (int i = 0; i < store_migrations_count; i++) {
        if (store_migrations[i].version <= current)
            continue;
        if (apply_one(pg, &store_migrations[i], err) != 0)
            return -1;
        applied++;
    }
    return applied;
}

int
migrate_run(const char *conninfo, struct lrs_error *err)
{
    PGconn *pg;
    int applied;

    if (pool_connect(conninfo, 0, &pg, err) != 0)
        return -1;
    if (exec_simple(pg, SQL_MIGRATE_LOCK, PGRES_TUPLES_OK, NULL, err) != 0) {
        PQfinish(pg);
        return -1;
    }
    applied = apply_pending(pg, err);
    /* Closing the session also releases the lock; unlocking first keeps
     * a pooled server-side session (pgbouncer) from holding it. */
    if (exec_simple(pg, SQL_MIGRATE_UNLOCK, PGRES_TUPLES_OK, NULL, err) != 0)
        applied = -1;
    PQfinish(pg);
    return applied;
}
