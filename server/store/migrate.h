/*
 * Schema migrations. The numbered files of migrations/ are compiled into
 * the binary; each is applied in its own transaction and recorded in the
 * schema_migrations table, so running them again changes nothing.
 */
#ifndef LRSD_STORE_MIGRATE_H
#define LRSD_STORE_MIGRATE_H

#include "core/error.h"

/* The highest migration number this build knows. */
int migrate_latest_version(void);

/* Applies every migration newer than the database's, in order, logging one
 * line per migration applied. Returns the number applied (0 when already
 * current), or -1 with err. */
int migrate_run(const char *conninfo, struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
