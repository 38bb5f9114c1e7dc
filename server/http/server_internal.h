/*
 * The server's own state, shared by the files of http/ and by nothing
 * else, and the entry points of the resources.
 */
#ifndef LRSD_HTTP_SERVER_INTERNAL_H
#define LRSD_HTTP_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http/params.h"
#include "http/request.h"
#include "http/server.h"

#define HTTP_SPOKEN_SLOTS 64

struct http_server {
    struct http_config cfg; /* strings borrowed from the caller */
    struct store *store;    /* borrowed */
    struct MHD_Daemon *daemon;
    size_t base_len;              /* strlen(cfg.base_path) */
    atomic_uint_fast64_t next_id; /* request ids */

    pthread_mutex_t lock;   /* guards the counts below */
    pthread_cond_t changed; /* signalled when a count drops */
    int active;             /* requests not yet completed */
    int suspended;          /* requests waiting for the writer */

    /* The version each credential spoke last, to answer in its dialect a
     * request that names none: slot id % HTTP_SPOKEN_SLOTS holds
     * id << 2 | version. Lossy by design; a miss means 2.0.0. */
    atomic_uint_fast64_t spoken[HTTP_SPOKEN_SLOTS];
};

/* Collects the query string parameters of a request. */
void http_request_params(struct http_request *req, struct param_list *out);

/* Resources. Each answers the request (queues a response, or suspends
 * it) and returns what the access handler should return. */
enum MHD_Result statements_handle(struct http_request *req);
enum MHD_Result about_handle(struct http_request *req);

#endif
