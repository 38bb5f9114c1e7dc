/*
 * What the parts of store/ share: the store object itself and the entry
 * points of the credential cache and the migrations that store.c calls.
 * Internal to store/.
 */
#ifndef LRSD_STORE_INTERNAL_H
#define LRSD_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "core/error.h"
#include "store/pool.h"
#include "store/store.h"
#include "store/writer.h"

struct key_cache;

struct store {
    struct store_config cfg;  /* conninfo points at conninfo below */
    char *conninfo;           /* owned copy */
    struct pool *pool;        /* read connections, owned */
    struct writer *writer;    /* owned */
    struct key_cache *keys;   /* verified credentials, owned */
};

/* A new, empty credential cache, or NULL when memory runs out. */
struct key_cache *keys_cache_new(void);
void keys_cache_free(struct key_cache *cache);

/* Reads the database's schema version (0 for an empty database) into
 * *out. Returns 0, or -1 with err. */
int migrate_read_version(PGconn *pg, int *out, struct lrs_error *err)
    __attribute__((warn_unused_result));

#endif
