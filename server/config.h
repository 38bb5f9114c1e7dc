/*
 * Configuration: one table of options that the command line, the
 * environment (LRSD_<NAME>) and --help all read. A flag given on the
 * command line wins over the environment, which wins over the default.
 */
#ifndef LRSD_CONFIG_H
#define LRSD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/* Commands an option belongs to, as a bit set. */
enum config_command {
    CMD_SERVE = 1 << 0,
    CMD_MIGRATE = 1 << 1,
    CMD_KEY_CREATE = 1 << 2,
};

struct config {
    const char *database;    /* libpq URI or conninfo; "" = PG* env */
    const char *listen;      /* HOST:PORT */
    const char *base_path;   /* e.g. "/xapi", no trailing slash */
    const char *public_url;  /* endpoint advertised in authorities */
    const char *log_level;   /* error, warn, info, debug */
    const char *cors_origin; /* Access-Control-Allow-Origin value */
    const char *scopes;      /* key create: comma-separated scopes */
    const char *label;       /* key create: free text */
    int threads;             /* HTTP worker threads */
    int max_connections;     /* simultaneous client connections */
    int idle_timeout;        /* seconds before an idle connection closes */
    long max_body;           /* bytes per request body */
    int max_batch;           /* statements per POST */
    int page_limit;          /* most statements per GET page */
    int db_pool;             /* read connections to PostgreSQL */
    int db_acquire_ms;       /* wait for a read connection before 503 */
    int db_statement_ms;     /* PostgreSQL statement_timeout */
    int group_max;           /* statements per group commit */
    int shutdown_grace;      /* seconds to finish requests on SIGTERM */
};

/* Fills cfg with defaults, then the environment, then argv (options only,
 * the command words already removed) for the given command. Prints the
 * problem and returns -1 on a bad option or value; returns 1 when --help
 * was printed; 0 otherwise. */
int config_load(struct config *cfg, enum config_command cmd, int argc,
                char **argv, const char *usage)
    __attribute__((warn_unused_result));

/* Prints the options of a command, one paragraph each, to out. */
void config_print_help(FILE *out, enum config_command cmd);

#endif
