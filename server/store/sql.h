/*
 * Every SQL statement lrsd runs, in one table, plus the builder of the
 * statement-query shapes. Statements take parameters only: nothing a
 * client sends is ever part of SQL text. Connections prepare the
 * statements of their use once, when they connect (see pool_prepare).
 * Internal to store/.
 */
#ifndef LRSD_STORE_SQL_H
#define LRSD_STORE_SQL_H

#include <stdbool.h>

#include "store/pgbuf.h"

/* Advisory lock keys ('lrsd' in the high half). */
#define SQL_LOCK_WRITER 7814435176775155713   /* 0x6c72736400000001 */
#define SQL_LOCK_MIGRATE 7814435176775155714  /* 0x6c72736400000002 */

enum sql_use {
    SQL_USE_ONCE = 0,   /* run unprepared (rare, or utility statements) */
    SQL_USE_READ = 1,   /* prepared on pool connections */
    SQL_USE_WRITE = 2,  /* prepared on the writer's connection */
};

enum sql_id {
    SQL_BEGIN,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_SAVEPOINT,
    SQL_RELEASE,
    SQL_ROLLBACK_TO,
    SQL_WRITER_LOCK,
    SQL_WRITER_CLOCK,
    SQL_WRITER_CLOCK_SEQ,
    SQL_VOIDED_ALREADY,
    SQL_COPY_STATEMENTS,
    SQL_COPY_INDEX,
    SQL_INSERT_STATEMENTS,
    SQL_INSERT_WITH_REFS,
    SQL_VOID_TARGETS,
    SQL_EXISTING_BODIES,
    SQL_INSERT_ATTACHMENT,
    SQL_ATTACHMENTS_BY_HASH,
    SQL_STATEMENT_BY_ID,
    SQL_CREDENTIAL_BY_KEY,
    SQL_CREDENTIAL_INSERT,
    SQL_MIGRATIONS_TABLE_EXISTS,
    SQL_SCHEMA_VERSION,
    SQL_MIGRATE_LOCK,
    SQL_MIGRATE_UNLOCK,
    SQL_MIGRATION_RECORD,
    SQL_COUNT
};

struct sql_statement {
    const char *name;   /* prepared statement name */
    unsigned use;       /* enum sql_use */
    const char *text;
};

extern const struct sql_statement sql_statements[SQL_COUNT];

/* The name of the constraint that rejects voiding a voiding statement. */
#define SQL_CONSTRAINT_VOIDING "statements_voiding_never_voided"

/*
 * Statement queries. A shape is the set of clauses a query needs: how
 * many index filters, whether since and until are present, and the
 * direction. Parameters by position: $1 store_id int4, $2 cursor int8
 * (exclusive bound on seq), $3 row limit int8, then kind int2 and digest
 * uuid for each filter, then since and until (timestamptz) when present.
 * Result columns: seq int8, body text, stored timestamptz, ts_missing
 * bool. They are read in binary: the server then sends seq and stored as
 * eight bytes each instead of formatting them as text, and stored is
 * formatted by xapi_timestamp_format.
 */
#define SQL_SHAPE_ASC 1u
#define SQL_SHAPE_UNTIL 2u
#define SQL_SHAPE_SINCE 4u
#define SQL_SHAPE_FILTER_SHIFT 3
#define SQL_SHAPE_MAX_FILTERS 4
#define SQL_SHAPE_COUNT ((SQL_SHAPE_MAX_FILTERS + 1) << SQL_SHAPE_FILTER_SHIFT)

/* Returns the shape for the given clauses. */
unsigned sql_shape(int nfilters, bool since, bool until, bool ascending);

/* Writes the shape's SQL text, NUL-terminated, into out. Returns 0, or -1
 * when memory ran out. */
int sql_shape_text(unsigned shape, struct buf *out)
    __attribute__((warn_unused_result));

/* Writes the prepared statement name of a shape into name (16 bytes). */
void sql_shape_name(unsigned shape, char name[16]);

#endif
