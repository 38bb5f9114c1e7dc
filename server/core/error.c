/* Filling in client-facing errors. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

int
lrs_error_set(struct lrs_error *err, int status, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

void
lrs_error_clear(struct lrs_error *err)
{
    err->status = 0;
    err->message[0] = '\0';
}
