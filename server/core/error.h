/*
 * An error as the client will see it: the HTTP status to answer with and a
 * message that names the offending field and the rule it broke, for example
 * "statement.actor.mbox: must be a mailto IRI". The layer that detects a
 * problem fills it in; outer layers pass it on unchanged.
 */
#ifndef LRSD_CORE_ERROR_H
#define LRSD_CORE_ERROR_H

#define LRS_ERROR_MESSAGE_MAX 512

struct lrs_error {
    int status;                          /* HTTP status; 0 means none */
    char message[LRS_ERROR_MESSAGE_MAX]; /* shown to the client */
};

/* Sets status and formats the message (truncated to fit). Returns -1 so
 * callers can write `return lrs_error_set(err, 400, ...)`. err may be NULL. */
int lrs_error_set(struct lrs_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears an error to "no error". */
void lrs_error_clear(struct lrs_error *err);

#endif
