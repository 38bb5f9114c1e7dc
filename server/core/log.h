/*
 * Logging: one line per event on stderr, as key=value pairs, starting with
 * the time, the level and (inside a request) the request id:
 *
 *   ts=2026-12-03T20:10:00.123Z level=info req=42 event=access method=GET ...
 *
 * Client mistakes are logged at debug, the server's own failures at error.
 * The macros check the level before any formatting is done.
 */
#ifndef LRSD_CORE_LOG_H
#define LRSD_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 if unknown. */
int log_level_parse(const char *text, enum log_level *out)
    __attribute__((warn_unused_result));

/* The request id printed on this thread's lines; 0 prints none. */
void log_set_request(uint64_t request_id);

/* Writes one line; fmt gives the key=value pairs after the prefix. Use the
 * macros below, which skip disabled levels cheaply. */
void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies text into buf as a log value: unchanged when it is a plain token,
 * otherwise double-quoted with quotes, backslashes and control characters
 * escaped. Always NUL-terminates; truncates to fit. Returns buf. */
const char *log_quote(char *buf, size_t size, const char *text);

#define log_enabled(level) ((level) <= log_threshold)
#define LOG_AT(level, ...)                                                     \
    do {                                                                       \
        if (log_enabled(level))                                                \
            log_write(level, __VA_ARGS__);                                     \
    } while (0)
#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
