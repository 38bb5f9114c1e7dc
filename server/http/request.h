/*
 * The state of one HTTP request, shared by the server and the resource
 * handlers. It lives from the first call of the access handler until
 * libmicrohttpd's request-completed callback frees it, and owns the body,
 * the credential and whatever the handler attaches to it.
 */
#ifndef LRSD_HTTP_REQUEST_H
#define LRSD_HTTP_REQUEST_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "http/form.h"
#include "http/params.h"
#include "http/server.h"
#include "store/keys.h"
#include "xapi/version.h"

struct http_request {
    uint64_t id;                 /* request id shown in logs */
    struct http_server *srv;     /* borrowed */
    struct MHD_Connection *conn; /* borrowed from libmicrohttpd */
    const char *method;          /* borrowed from libmicrohttpd */
    const char *url;             /* full path, borrowed */
    const char *resource;        /* url below the base path */
    struct timespec started;     /* for the access log */
    enum xapi_version version;   /* rules the request asked for */
    char *body;                  /* owned, NUL-terminated */
    size_t body_len;
    size_t body_cap;
    bool body_too_large;          /* stop reading; answer 413 */
    bool dispatched;              /* handler already ran */
    struct store_credential cred; /* owned once authenticated */
    bool authenticated;

    /* xAPI 1.0's alternate request syntax (POST ?method=X with a form
     * body) moves headers, parameters and the content into the form. */
    struct form *form; /* owned, or NULL */

    /* Completion of a suspended request, set by another thread. */
    pthread_mutex_t lock;
    bool suspended;
    bool finished; /* the outcome below is final */
    struct lrs_error outcome;
    void *state; /* handler's, freed with free_state */
    void (*free_state)(void *state);
    /* Answers the request once it has been resumed. */
    enum MHD_Result (*resume)(struct http_request *req);

    unsigned status; /* answered status, for the log */
    size_t bytes;    /* answered body bytes */
};

/* What the server knows that handlers need. */
struct store *http_request_store(const struct http_request *req);
const struct http_config *http_request_config(const struct http_request *req);

/* Returns a request header (from the form under the alternate request
 * syntax), or NULL when absent. Borrowed for the request's lifetime. */
const char *http_request_header(struct http_request *req, const char *name);

/* Suspends the request until http_request_finish is called (from any
 * thread); then req->resume runs on a worker thread to answer. */
void http_request_suspend(struct http_request *req);

/* Records the outcome of a suspended request and wakes it. err may be
 * NULL or have status 0 for success. */
void http_request_finish(struct http_request *req, const struct lrs_error *err);

#endif
