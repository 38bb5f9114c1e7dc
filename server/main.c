/*
 * lrsd: an xAPI Learning Record Store on PostgreSQL.
 *
 * One binary with three commands: `serve` runs the HTTP server, `migrate`
 * brings the database schema up to date, and `key create` makes a
 * credential. Configuration comes from flags and LRSD_* variables through
 * the table in config.c.
 */
#include <errno.h>
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "http/server.h"
#include "store/keys.h"
#include "store/migrate.h"
#include "store/store.h"

static const char usage_main[] =
    "Usage: lrsd COMMAND [OPTIONS]\n"
    "\n"
    "An xAPI 1.0.3 and 2.0 Learning Record Store on PostgreSQL.\n"
    "\n"
    "Commands:\n"
    "  serve        Run the HTTP server (xAPI under --base-path).\n"
    "  migrate      Apply the database migrations this build knows.\n"
    "  key create   Create a credential and print it as JSON.\n"
    "\n"
    "Run 'lrsd COMMAND --help' for a command's options. Every option can\n"
    "also be given as an environment variable LRSD_<OPTION>, e.g.\n"
    "LRSD_DATABASE=postgresql:///lrsd.";

static const char usage_serve[] =
    "Usage: lrsd serve [OPTIONS]\n"
    "\n"
    "Serves the xAPI resources over HTTP until SIGTERM or SIGINT, then\n"
    "stops accepting, lets requests in flight finish and exits 0. The\n"
    "database schema must be current: run 'lrsd migrate' first.";

static const char usage_migrate[] =
    "Usage: lrsd migrate [OPTIONS]\n"
    "\n"
    "Applies, in order, each migration newer than the database's schema,\n"
    "each in its own transaction. Running it again changes nothing.";

static const char usage_key_create[] =
    "Usage: lrsd key create [OPTIONS]\n"
    "\n"
    "Creates a credential for HTTP Basic authentication and prints one\n"
    "JSON object with its key and secret. Only a hash of the secret is\n"
    "stored: keep the printed secret.";

static int
apply_log_level(const struct config *cfg)
{
    if (log_level_parse(cfg->log_level, &log_threshold) < 0) {
        fprintf(stderr, "lrsd: --log-level must be error, warn, info or "
                        "debug\n");
        return -1;
    }
    return 0;
}

/* Blocks the stop signals in every thread so that main can wait for them
 * with sigwait; threads started later inherit the mask. */
static void
block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*
 * Keeps glibc from mapping and unmapping memory per request. By default
 * an allocation over 128 KiB (a page of statements, a batch's body) gets
 * its own mapping, and freeing it unmaps it, which on a multi-core
 * machine interrupts every core to flush its TLB; glibc raises that
 * threshold only as it sees such blocks freed. Profiling GETs of 50
 * statements on a fresh lrsd showed most of its time there. Large blocks
 * now come from the arenas and stay there under load; wait_for_stop
 * returns them to the system once lrsd is idle.
 */
static void
tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

/*
 * Waits for SIGTERM or SIGINT and returns it. Meanwhile, once a second:
 * after a second in which no request began, hands the memory that bursts
 * left free back to the system. glibc keeps freed memory in each
 * thread's arena, so a burst of large batches would otherwise leave lrsd
 * at its peak size for good; under load no trim runs at all.
 */
static int
wait_for_stop(const sigset_t *set, struct http_server *srv)
{
    const struct timespec tick = {.tv_sec = 1};
    uint64_t seen = http_server_requests(srv), trimmed = seen;

    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        uint64_t now;

        if (sig > 0)
            return sig;
        if (errno != EAGAIN)
            continue;
        now = http_server_requests(srv);
        if (now == seen && now != trimmed) {
#ifdef __GLIBC__
            malloc_trim(0);
#endif
            trimmed = now;
            log_debug("event=memory_trimmed requests=%llu",
                      (unsigned long long)now);
        }
        seen = now;
    }
}

static int
cmd_serve(int argc, char **argv)
{
    struct config cfg;
    struct store_config scfg;
    struct http_config hcfg;
    struct store *st = NULL;
    struct http_server *srv = NULL;
    struct lrs_error err = {0};
    char quoted[LRS_ERROR_MESSAGE_MAX + 64];
    sigset_t set;
    int rc, sig = 0;

    rc = config_load(&cfg, CMD_SERVE, argc, argv, usage_serve);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (apply_log_level(&cfg) < 0)
        return 2;
    block_signals(&set);
    tune_malloc();
    scfg = (struct store_config){
        .conninfo = cfg.database,
        .pool_size = cfg.db_pool,
        .acquire_timeout_ms = cfg.db_acquire_ms,
        .statement_timeout_ms = cfg.db_statement_ms,
        .max_group = cfg.group_max,
    };
    if (store_open(&scfg, &st, &err) < 0) {
        log_error("event=start_failed reason=%s",
                  log_quote(quoted, sizeof(quoted), err.message));
        return 1;
    }
    hcfg = (struct http_config){
        .listen = cfg.listen,
        .base_path = cfg.base_path,
        .cors_origin = cfg.cors_origin,
        .threads = cfg.threads,
        .max_connections = cfg.max_connections,
        .idle_timeout = cfg.idle_timeout,
        .max_body = cfg.max_body,
        .max_batch = cfg.max_batch,
        .page_limit = cfg.page_limit,
    };
    if (http_server_start(&hcfg, st, &srv) < 0) {
        store_close(st);
        return 1;
    }
    sig = wait_for_stop(&set, srv);
    log_info("event=stopping signal=%s grace_s=%d",
             sig == SIGTERM ? "TERM" : "INT", cfg.shutdown_grace);
    http_server_stop(srv, cfg.shutdown_grace);
    store_close(st);
    log_info("event=stopped");
    return 0;
}

static int
cmd_migrate(int argc, char **argv)
{
    struct config cfg;
    struct lrs_error err = {0};
    char quoted[LRS_ERROR_MESSAGE_MAX + 64];
    int rc;

    rc = config_load(&cfg, CMD_MIGRATE, argc, argv, usage_migrate);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (apply_log_level(&cfg) < 0)
        return 2;
    rc = migrate_run(cfg.database, &err);
    if (rc < 0) {
        log_error("event=migrate_failed reason=%s",
                  log_quote(quoted, sizeof(quoted), err.message));
        return 1;
    }
    log_info("event=migrated applied=%d version=%d", rc,
             migrate_latest_version());
    return 0;
}

/* Turns "a,b , c" into a JSON array of the non-empty names. */
static json_t *
split_scopes(const char *text)
{
    json_t *arr = json_array();

    while (arr != NULL && *text) {
        size_t n = strcspn(text, ",");
        size_t start = 0, end = n;

        while (start < end && text[start] == ' ')
            start++;
        while (end > start && text[end - 1] == ' ')
            end--;
        if (end > start)
            json_array_append_new(arr, json_stringn(text + start, end - start));
        text += n;
        if (*text == ',')
            text++;
    }
    return arr;
}

static int
cmd_key_create(int argc, char **argv)
{
    struct config cfg;
    struct lrs_error err = {0};
    char endpoint[512], quoted[LRS_ERROR_MESSAGE_MAX + 64];
    json_t *scopes, *out = NULL;
    int rc;

    rc = config_load(&cfg, CMD_KEY_CREATE, argc, argv, usage_key_create);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (apply_log_level(&cfg) < 0)
        return 2;
    if (cfg.public_url[0] != '\0')
        snprintf(endpoint, sizeof(endpoint), "%s", cfg.public_url);
    else
        snprintf(endpoint, sizeof(endpoint), "http://localhost/xapi");
    scopes = split_scopes(cfg.scopes);
    if (scopes == NULL || json_array_size(scopes) == 0) {
        fprintf(stderr, "lrsd: --scopes needs at least one scope\n");
        json_decref(scopes);
        return 2;
    }
    rc = keys_create(cfg.database, scopes, cfg.label[0] ? cfg.label : NULL,
                     endpoint, &out, &err);
    json_decref(scopes);
    if (rc < 0) {
        log_error("event=key_create_failed reason=%s",
                  log_quote(quoted, sizeof(quoted), err.message));
        return 1;
    }
    json_dumpf(out, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(out);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        printf("%s\n", usage_main);
        return cmd == NULL ? 2 : 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("lrsd 0.1.0 (xAPI 1.0.3, 2.0.0)\n");
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "key") == 0) {
        if (argc > 2 && strcmp(argv[2], "create") == 0)
            return cmd_key_create(argc - 3, argv + 3);
        if (argc > 2 && strcmp(argv[2], "--help") == 0) {
            printf("%s\n", usage_key_create);
            return 0;
        }
        fprintf(stderr, "lrsd: 'key' needs a subcommand: create\n");
        return 2;
    }
    fprintf(stderr, "lrsd: unknown command '%s' (see lrsd --help)\n", cmd);
    return 2;
}
