/*
 * libmicrohttpd glue: the access handler that collects a request's body,
 * checks the headers every xAPI request must carry, authenticates, and
 * hands the request to its resource; plus start, graceful stop and the
 * access log.
 */
#include "http/server.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "http/auth.h"
#include "http/respond.h"
#include "http/server_internal.h"

struct store *
http_request_store(const struct http_request *req)
{
    return req->srv->store;
}

const struct http_config *
http_request_config(const struct http_request *req)
{
    return &req->srv->cfg;
}

static enum MHD_Result
collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
              const char *value)
{
    params_add(cls, key, value);
    return MHD_YES;
}

void
http_request_params(struct http_request *req, struct param_list *out)
{
    if (req->form != NULL) {
        *out = req->form->params;
        return;
    }
    memset(out, 0, sizeof(*out));
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_param,
                              out);
}

const char *
http_request_header(struct http_request *req, const char *name)
{
    if (req->form != NULL) {
        for (size_t i = 0; i < req->form->headers.count; i++) {
            if (strcasecmp(req->form->headers.items[i].name, name) == 0)
                return req->form->headers.items[i].value;
        }
        /* The form's own type is not the content's. A form without a
         * Content-Type field carries JSON: xAPI clients send statements
         * this way from browsers that cannot set headers. */
        if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
            return req->form->content != NULL ? "application/json" : NULL;
    }
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void
http_request_suspend(struct http_request *req)
{
    struct http_server *srv = req->srv;

    pthread_mutex_lock(&srv->lock);
    srv->suspended++;
    pthread_mutex_unlock(&srv->lock);
    req->suspended = true;
    MHD_suspend_connection(req->conn);
}

void
http_request_finish(struct http_request *req, const struct lrs_error *err)
{
    struct http_server *srv = req->srv;

    pthread_mutex_lock(&req->lock);
    if (err != NULL && err->status != 0)
        req->outcome = *err;
    else
        lrs_error_clear(&req->outcome);
    req->finished = true;
    pthread_mutex_unlock(&req->lock);
    MHD_resume_connection(req->conn);
    pthread_mutex_lock(&srv->lock);
    srv->suspended--;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
}

/* ---- request life cycle ------------------------------------------------ */

static struct http_request *
request_new(struct http_server *srv, struct MHD_Connection *conn,
            const char *url, const char *method)
{
    struct http_request *req = calloc(1, sizeof(*req));

    if (req == NULL)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    req->url = url;
    req->method = method;
    req->id = atomic_fetch_add(&srv->next_id, 1);
    req->version = XAPI_V2_0;
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    pthread_mutex_init(&req->lock, NULL);
    pthread_mutex_lock(&srv->lock);
    srv->active++;
    pthread_mutex_unlock(&srv->lock);
    return req;
}

static void
request_free(struct http_request *req)
{
    struct http_server *srv = req->srv;

    if (req->free_state != NULL)
        req->free_state(req->state);
    if (req->authenticated)
        keys_credential_free(&req->cred);
    if (req->form != NULL) {
        form_free(req->form);
        free(req->form);
    }
    free(req->body);
    pthread_mutex_destroy(&req->lock);
    free(req);
    pthread_mutex_lock(&srv->lock);
    srv->active--;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct http_request *req = *con_cls;
    struct timespec now;
    char path[512];
    long long us;

    if (req == NULL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    us = (long long)(now.tv_sec - req->started.tv_sec) * 1000000 +
         (now.tv_nsec - req->started.tv_nsec) / 1000;
    log_set_request(req->id);
    log_info("event=access method=%s path=%s status=%u bytes=%zu us=%lld%s",
             req->method, log_quote(path, sizeof(path), req->url), req->status,
             req->bytes, us,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
    log_set_request(0);
    request_free(req);
    *con_cls = NULL;
}

/* Appends upload data to the body, up to the configured limit. */
static void
append_body(struct http_request *req, const char *data, size_t size)
{
    size_t limit = (size_t)req->srv->cfg.max_body;
    size_t cap;
    char *grown;

    if (req->body_too_large)
        return;
    if (req->body_len + size > limit) {
        req->body_too_large = true;
        return;
    }
    if (req->body_len + size + 1 > req->body_cap) {
        cap = req->body_cap ? req->body_cap * 2 : 4096;
        while (cap < req->body_len + size + 1)
            cap *= 2;
        if (cap > limit + 1)
            cap = limit + 1;
        grown = realloc(req->body, cap);
        if (grown == NULL) {
            req->body_too_large = true;
            return;
        }
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, size);
    req->body_len += size;
    req->body[req->body_len] = '\0';
}

static bool
declared_too_large(struct http_request *req)
{
    const char *len = http_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;

    if (len == NULL)
        return false;
    errno = 0;
    n = strtoull(len, &end, 10);
    return errno != 0 || n > (unsigned long long)req->srv->cfg.max_body;
}

/* ---- routing ----------------------------------------------------------- */

static enum MHD_Result
answer_preflight(struct http_request *req)
{
    const char *headers[] = {
        "Access-Control-Allow-Methods",
        "GET, HEAD, POST, PUT, DELETE, OPTIONS",
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, X-Experience-API-Version, "
        "If-Match, If-None-Match, X-Experience-API-Hash",
        "Access-Control-Max-Age",
        "86400",
        NULL};

    return http_respond(req, 204, NULL, 0, NULL, headers);
}

static int
check_version(struct http_request *req, struct lrs_error *err)
{
    const char *header = http_request_header(req, "X-Experience-API-Version");

    if (header == NULL)
        return lrs_error_set(err, 400,
                             "X-Experience-API-Version: header is required");
    if (xapi_version_parse(header, &req->version) < 0)
        return lrs_error_set(err, 400,
                             "X-Experience-API-Version: unsupported version "
                             "'%.40s' (1.0.x and 2.0.x are supported)",
                             header);
    return 0;
}

static void
note_spoken_version(struct http_request *req)
{
    uint64_t id = (uint64_t)req->cred.id;

    atomic_store(&req->srv->spoken[id % HTTP_SPOKEN_SLOTS],
                 id << 2 | (uint64_t)req->version);
}

/* For a request without a usable version header: answers in the version
 * its credential spoke last, so that a client's errors come in the
 * dialect it speaks. Authentication failures change nothing here; the
 * request is rejected for its header either way. */
static void
answer_in_spoken_version(struct http_request *req)
{
    struct lrs_error ignored = {0};
    uint64_t id, slot;

    req->version = XAPI_V2_0;
    if (!req->authenticated && auth_request(req, &ignored) < 0)
        return;
    id = (uint64_t)req->cred.id;
    slot = atomic_load(&req->srv->spoken[id % HTTP_SPOKEN_SLOTS]);
    if (slot >> 2 == id)
        req->version = (enum xapi_version)(slot & 3);
}

/* The methods the alternate request syntax may ask for. */
static const char *
alternate_method(const char *name)
{
    static const char *const methods[] = {"GET", "HEAD", "PUT", "POST",
                                          "DELETE"};

    for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
        if (strcmp(name, methods[i]) == 0)
            return methods[i];
    }
    return NULL;
}

/* Rewrites a request that uses the alternate request syntax into the
 * request it stands for: method from ?method=, headers, parameters and
 * body from the form. */
static int
apply_alternate_syntax(struct http_request *req, struct lrs_error *err)
{
    struct param_list query;
    const char *method, *ct;
    char *body;

    http_request_params(req, &query);
    method = alternate_method(params_get(&query, "method"));
    if (method == NULL)
        return lrs_error_set(err, 400,
                             "method: must be GET, HEAD, PUT, POST or "
                             "DELETE");
    if (query.count != 1)
        return lrs_error_set(err, 400,
                             "%s: the alternate request syntax takes no "
                             "parameter but method",
                             strcmp(query.items[0].name, "method") == 0
                                 ? query.items[1].name
                                 : query.items[0].name);
    ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return lrs_error_set(err, 400,
                             "Content-Type: the alternate request syntax "
                             "needs application/x-www-form-urlencoded");
    req->form = calloc(1, sizeof(*req->form));
    if (req->form == NULL)
        return lrs_error_set(err, 500, "out of memory");
    if (form_parse(req->body ? req->body : "", req->body_len, req->form, err) <
        0) {
        free(req->form);
        req->form = NULL;
        return -1;
    }
    body = malloc(req->form->content_len + 1);
    if (body == NULL)
        return lrs_error_set(err, 500, "out of memory");
    memcpy(body, req->form->content ? req->form->content : "",
           req->form->content_len);
    body[req->form->content_len] = '\0';
    free(req->body);
    req->body = body;
    req->body_len = req->body_cap = req->form->content_len;
    req->method = method;
    return 0;
}

static bool
uses_alternate_syntax(struct http_request *req)
{
    return strcmp(req->method, "POST") == 0 &&
           MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
                                       "method") != NULL;
}

static enum MHD_Result
dispatch(struct http_request *req)
{
    struct lrs_error err = {0};
    const char *resource = req->resource;

    if (strcmp(req->method, "OPTIONS") == 0)
        return answer_preflight(req);
    if (resource == NULL)
        return http_fail(req, 404, "%s: no such resource", req->url);
    if (strcmp(resource, "/about") == 0 || strcmp(resource, "/about/") == 0) {
        const char *header =
            http_request_header(req, "X-Experience-API-Version");

        if (header != NULL && xapi_version_parse(header, &req->version) < 0)
            req->version = XAPI_V2_0;
        return about_handle(req);
    }
    if (req->body_too_large)
        return http_fail(req, 413, "body: larger than %ld bytes",
                         req->srv->cfg.max_body);
    if (uses_alternate_syntax(req)) {
        if (apply_alternate_syntax(req, &err) < 0)
            return http_respond_error(req, &err);
        if (check_version(req, &err) < 0) {
            answer_in_spoken_version(req);
            return http_respond_error(req, &err);
        }
        if (req->version != XAPI_V1_0)
            return http_fail(req, 400,
                             "method: the alternate request syntax is not "
                             "part of xAPI 2.0");
    }
    if (check_version(req, &err) < 0) {
        answer_in_spoken_version(req);
        return http_respond_error(req, &err);
    }
    if (auth_request(req, &err) < 0)
        return http_respond_error(req, &err);
    note_spoken_version(req);
    if (strcmp(resource, "/statements") == 0)
        return statements_handle(req);
    /* Not yet: the document resources (activities/state,
     * activities/profile, agents/profile) and the Agents and Activities
     * resources; they answer 404 until they exist. */
    return http_fail(req, 404, "%s: no such resource", req->url);
}

static const char *
resource_of(struct http_server *srv, const char *url)
{
    if (strncmp(url, srv->cfg.base_path, srv->base_len) != 0)
        return NULL;
    url += srv->base_len;
    return *url == '/' ? url : NULL;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;

    if (req == NULL) {
        req = request_new(srv, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        req->resource = resource_of(srv, url);
        if (declared_too_large(req)) {
            log_set_request(req->id);
            return http_fail(req, 413, "body: larger than %ld bytes",
                             srv->cfg.max_body);
        }
        return MHD_YES;
    }
    log_set_request(req->id);
    if (*upload_size > 0) {
        append_body(req, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->suspended) {
        req->suspended = false;
        return req->resume(req);
    }
    if (req->dispatched)
        return MHD_YES;
    req->dispatched = true;
    return dispatch(req);
}

/* ---- start and stop ---------------------------------------------------- */

/* Resolves HOST:PORT ("[::1]:8080" for IPv6) into addr. */
static int
resolve_listen(const char *listen, struct sockaddr_storage *addr,
               socklen_t *addr_len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints = {0}, *res = NULL;
    size_t hlen;
    int rc;

    if (colon == NULL || colon == listen || colon[1] == '\0')
        return -1;
    hlen = (size_t)(colon - listen);
    if (listen[0] == '[' && hlen >= 2 && listen[hlen - 1] == ']') {
        listen++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host))
        return -1;
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL)
        return -1;
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void
log_mhd(void *cls, const char *fmt, va_list ap)
{
    char text[512], quoted[600];

    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    log_warn("event=http_library message=%s",
             log_quote(quoted, sizeof(quoted), text));
}

int
http_server_start(const struct http_config *cfg, struct store *st,
                  struct http_server **out)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct http_server *srv;
    const union MHD_DaemonInfo *info;
    char quoted[300];

    if (resolve_listen(cfg->listen, &addr, &addr_len) < 0) {
        log_error("event=listen_failed listen=%s reason=\"not HOST:PORT\"",
                  log_quote(quoted, sizeof(quoted), cfg->listen));
        return -1;
    }
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return -1;
    srv->cfg = *cfg;
    srv->store = st;
    srv->base_len = strlen(cfg->base_path);
    atomic_init(&srv->next_id, 1);
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->changed, NULL);
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, srv,
        /* First, so that the library logs nothing on its own. */
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        log_error("event=listen_failed listen=%s reason=%s",
                  log_quote(quoted, sizeof(quoted), cfg->listen),
                  "\"cannot bind or start the HTTP server\"");
        pthread_cond_destroy(&srv->changed);
        pthread_mutex_destroy(&srv->lock);
        free(srv);
        return -1;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    log_info("event=listening listen=%s port=%u base_path=%s threads=%d",
             log_quote(quoted, sizeof(quoted), cfg->listen),
             info ? info->port : 0, cfg->base_path, cfg->threads);
    *out = srv;
    return 0;
}

/* Waits until no request is in flight, or until the deadline when one is
 * given. Suspended requests are always waited for: the writer will answer
 * them, and the library must not be stopped while they are suspended. */
static void
wait_for_requests(struct http_server *srv, int grace_seconds)
{
    struct timespec deadline;
    bool late = false;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_seconds;
    pthread_mutex_lock(&srv->lock);
    while (srv->active > 0) {
        if (!late) {
            late = pthread_cond_timedwait(&srv->changed, &srv->lock,
                                          &deadline) == ETIMEDOUT;
        } else if (srv->suspended > 0) {
            pthread_cond_wait(&srv->changed, &srv->lock);
        } else {
            break;
        }
    }
    if (srv->active > 0)
        log_warn("event=shutdown_cut requests=%d", srv->active);
    pthread_mutex_unlock(&srv->lock);
}

uint64_t
http_server_requests(struct http_server *srv)
{
    return (uint64_t)atomic_load(&srv->next_id) - 1;
}

void
http_server_stop(struct http_server *srv, int grace_seconds)
{
    MHD_socket listen_fd;

    if (srv == NULL)
        return;
    listen_fd = MHD_quiesce_daemon(srv->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    wait_for_requests(srv, grace_seconds);
    MHD_stop_daemon(srv->daemon);
    pthread_cond_destroy(&srv->changed);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
