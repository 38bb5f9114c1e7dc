/*
 * The option table and its readers. Each option names its environment
 * variable and its bounds once; parsing, defaults and help text all come
 * from the table, so they cannot drift apart.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum option_type { OPT_STRING, OPT_INT, OPT_LONG };

struct option_def {
    const char *name; /* --name; env LRSD_NAME with '-' as '_' */
    enum option_type type;
    size_t offset;        /* field in struct config */
    const char *fallback; /* default, as text */
    long min, max;        /* bounds for numbers */
    unsigned commands;    /* enum config_command bits */
    const char *help;
};

#define DB       (CMD_SERVE | CMD_MIGRATE | CMD_KEY_CREATE)
#define FIELD(f) offsetof(struct config, f)

static const struct option_def options[] = {
    {"database", OPT_STRING, FIELD(database), "", 0, 0, DB,
     "PostgreSQL connection, as a libpq URI (postgresql://...) or conninfo "
     "string. Empty uses libpq's defaults and PG* environment variables."},
    {"listen", OPT_STRING, FIELD(listen), "127.0.0.1:8080", 0, 0, CMD_SERVE,
     "Address and port to accept HTTP on, as HOST:PORT (IPv4 or [IPv6])."},
    {"base-path", OPT_STRING, FIELD(base_path), "/xapi", 0, 0, CMD_SERVE,
     "Path under which the xAPI resources are served."},
    {"public-url", OPT_STRING, FIELD(public_url), "", 0, 0,
     CMD_SERVE | CMD_KEY_CREATE,
     "The endpoint as clients see it (http://host/xapi). Used as the "
     "homePage of the authority of new credentials. Empty: derived from "
     "--listen and --base-path."},
    {"log-level", OPT_STRING, FIELD(log_level), "info", 0, 0, DB,
     "Least severe level logged: error, warn, info or debug. Client "
     "mistakes are logged at debug."},
    {"cors-origin", OPT_STRING, FIELD(cors_origin), "*", 0, 0, CMD_SERVE,
     "Value of Access-Control-Allow-Origin for browser clients; '*' allows "
     "courses served from any origin."},
    {"threads", OPT_INT, FIELD(threads), "4", 1, 256, CMD_SERVE,
     "HTTP worker threads. Requests waiting for a commit do not hold one."},
    {"max-connections", OPT_INT, FIELD(max_connections), "1024", 1, 65536,
     CMD_SERVE, "Simultaneous client connections; more are refused."},
    {"idle-timeout", OPT_INT, FIELD(idle_timeout), "60", 1, 86400, CMD_SERVE,
     "Seconds an idle or stalled client connection is kept open."},
    {"max-body", OPT_LONG, FIELD(max_body), "16777216", 1024, 1L << 32,
     CMD_SERVE, "Largest request body in bytes; larger ones get 413."},
    {"max-batch", OPT_INT, FIELD(max_batch), "10000", 1, 1000000, CMD_SERVE,
     "Most statements accepted in one POST; more get 413."},
    {"page-limit", OPT_INT, FIELD(page_limit), "500", 1, 100000, CMD_SERVE,
     "Most statements returned per GET page; also what limit=0 means."},
    {"db-pool", OPT_INT, FIELD(db_pool), "4", 1, 512, CMD_SERVE,
     "PostgreSQL connections for reads (the writer has one more)."},
    {"db-acquire-timeout", OPT_INT, FIELD(db_acquire_ms), "5000", 1, 600000,
     CMD_SERVE,
     "Milliseconds a request waits for a free database connection before "
     "it is answered 503."},
    {"db-statement-timeout", OPT_INT, FIELD(db_statement_ms), "30000", 0,
     86400000, CMD_SERVE,
     "PostgreSQL statement_timeout for queries, in milliseconds; 0 = none."},
    {"group-max", OPT_INT, FIELD(group_max), "2000", 1, 100000, CMD_SERVE,
     "Most statements the writer commits in one transaction."},
    {"shutdown-grace", OPT_INT, FIELD(shutdown_grace), "30", 0, 3600, CMD_SERVE,
     "Seconds to let requests in flight finish after SIGTERM or SIGINT."},
    {"scopes", OPT_STRING, FIELD(scopes), "all", 0, 0, CMD_KEY_CREATE,
     "Comma-separated xAPI scopes of the new credential (e.g. all, "
     "statements/write,statements/read/mine)."},
    {"label", OPT_STRING, FIELD(label), "", 0, 0, CMD_KEY_CREATE,
     "Free text to recognise the credential by."},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int
set_value(struct config *cfg, const struct option_def *o, const char *text,
          const char *source)
{
    char *end;
    long v;

    if (o->type == OPT_STRING) {
        *(const char **)((char *)cfg + o->offset) = text;
        return 0;
    }
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < o->min || v > o->max) {
        fprintf(stderr, "lrsd: %s %s: must be a whole number from %ld to %ld\n",
                source, o->name, o->min, o->max);
        return -1;
    }
    if (o->type == OPT_INT)
        *(int *)((char *)cfg + o->offset) = (int)v;
    else
        *(long *)((char *)cfg + o->offset) = v;
    return 0;
}

static void
env_name(const struct option_def *o, char *buf, size_t size)
{
    size_t i = 0;

    snprintf(buf, size, "LRSD_");
    for (i = 5; i + 1 < size && o->name[i - 5]; i++) {
        char c = o->name[i - 5];

        buf[i] = c == '-' ? '_' : (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    buf[i] = '\0';
}

static const struct option_def *
find_option(const char *name, size_t len, enum config_command cmd)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        if ((options[i].commands & cmd) && strlen(options[i].name) == len &&
            strncmp(options[i].name, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

static int
load_defaults_and_env(struct config *cfg, enum config_command cmd)
{
    char env[64];

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_def *o = &options[i];
        const char *value;

        if (set_value(cfg, o, o->fallback, "default") < 0)
            return -1;
        if (!(o->commands & cmd))
            continue;
        env_name(o, env, sizeof(env));
        value = getenv(env);
        if (value != NULL && set_value(cfg, o, value, env) < 0)
            return -1;
    }
    return 0;
}

static int
load_argv(struct config *cfg, enum config_command cmd, int argc, char **argv,
          const char *usage)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq, *value;
        const struct option_def *o;
        size_t len;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("%s\n", usage);
            config_print_help(stdout, cmd);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "lrsd: unexpected argument '%s' (see --help)\n",
                    arg);
            return -1;
        }
        arg += 2;
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        o = find_option(arg, len, cmd);
        if (o == NULL) {
            fprintf(stderr, "lrsd: unknown option '--%.*s' (see --help)\n",
                    (int)len, arg);
            return -1;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "lrsd: option --%s needs a value\n", o->name);
            return -1;
        }
        if (set_value(cfg, o, value, "option") < 0)
            return -1;
    }
    return 0;
}

int
config_load(struct config *cfg, enum config_command cmd, int argc, char **argv,
            const char *usage)
{
    memset(cfg, 0, sizeof(*cfg));
    if (load_defaults_and_env(cfg, cmd) < 0)
        return -1;
    return load_argv(cfg, cmd, argc, argv, usage);
}

/* Prints text wrapped at 76 columns with the given indent. */
static void
print_wrapped(FILE *out, const char *text, int indent)
{
    int col = indent;

    fprintf(out, "%*s", indent, "");
    while (*text) {
        size_t word = strcspn(text, " ");

        if (col > indent && col + 1 + (int)word > 76) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)word, text);
        col += (int)word;
        text += word;
        while (*text == ' ')
            text++;
    }
    fputc('\n', out);
}

void
config_print_help(FILE *out, enum config_command cmd)
{
    char env[64];

    fprintf(out, "\nOptions (each also read from the environment variable "
                 "shown):\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_def *o = &options[i];

        if (!(o->commands & cmd))
            continue;
        env_name(o, env, sizeof(env));
        fprintf(out, "  --%s %s  (%s", o->name,
                o->type == OPT_STRING ? "TEXT" : "N", env);
        if (o->fallback[0] != '\0')
            fprintf(out, ", default %s", o->fallback);
        fprintf(out, ")\n");
        print_wrapped(out, o->help, 6);
    }
}
