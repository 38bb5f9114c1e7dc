/*
 * The HTTP server: libmicrohttpd with a fixed pool of worker threads.
 * Requests that wait for a commit are suspended rather than holding a
 * thread, so a few threads serve many connections.
 */
#ifndef LRSD_HTTP_SERVER_H
#define LRSD_HTTP_SERVER_H

#include <stdint.h>

#include "store/store.h"

struct http_server;

struct http_config {
    const char *listen;      /* HOST:PORT */
    const char *base_path;   /* "/xapi" */
    const char *cors_origin; /* Access-Control-Allow-Origin */
    int threads;
    int max_connections;
    int idle_timeout; /* seconds */
    long max_body;    /* bytes */
    int max_batch;    /* statements per POST */
    int page_limit;   /* statements per GET page */
};

/* Starts listening. The store is borrowed and must outlive the server.
 * Returns 0 and a server to stop with http_server_stop, or -1 after
 * logging why (address in use, bad listen address). */
int http_server_start(const struct http_config *cfg, struct store *st,
                      struct http_server **out)
    __attribute__((warn_unused_result));

/* Stops accepting connections, waits up to grace_seconds for requests in
 * flight to finish, then closes everything and frees the server. */
void http_server_stop(struct http_server *srv, int grace_seconds);

/* How many requests the server has begun since it started. */
uint64_t http_server_requests(struct http_server *srv);

#endif
