/*
 * key=value logging to stderr. Each line is formatted into a stack buffer
 * and written with one write(2), so lines from different threads never
 * interleave.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

enum log_level log_threshold = LOG_INFO;

static _Thread_local uint64_t current_request;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int
log_level_parse(const char *text, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_request(uint64_t request_id)
{
    current_request = request_id;
}

static size_t
format_prefix(char *buf, size_t size, enum log_level level)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (current_request != 0)
        n = snprintf(buf, size, "ts=%s.%03ldZ level=%s req=%llu ", stamp,
                     now.tv_nsec / 1000000L, level_names[level],
                     (unsigned long long)current_request);
    else
        n = snprintf(buf, size, "ts=%s.%03ldZ level=%s ", stamp,
                     now.tv_nsec / 1000000L, level_names[level]);
    return n < 0 ? 0 : (size_t)n;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    size_t len;
    va_list ap;
    int n;

    len = format_prefix(line, sizeof(line), level);
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n
                                                  : sizeof(line) - len - 2;
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0)
        return;
}

static int
is_plain(const char *text)
{
    if (*text == '\0')
        return 0;
    for (const char *p = text; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return 0;
    }
    return 1;
}

const char *
log_quote(char *buf, size_t size, const char *text)
{
    size_t o = 0;

    if (size == 0)
        return buf;
    if (text == NULL)
        text = "";
    if (is_plain(text)) {
        snprintf(buf, size, "%s", text);
        return buf;
    }
    if (size < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char esc[8];
        size_t n;

        if (*p == '"' || *p == '\\')
            n = (size_t)snprintf(esc, sizeof(esc), "\\%c", *p);
        else if (*p < ' ' || *p == 0x7f)
            n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        else
            n = (size_t)snprintf(esc, sizeof(esc), "%c", *p);
        if (o + n + 2 > size)
            break;
        memcpy(buf + o, esc, n);
        o += n;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
