/*
 * Responses. All of them go through http_respond, which adds the headers
 * every xAPI response carries, so no handler can forget one.
 */
#include "http/respond.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "http/server_internal.h"
#include "xapi/json_text.h"

static const char exposed_headers[] =
    "ETag, Last-Modified, Content-Type, Content-Length, "
    "X-Experience-API-Version, X-Experience-API-Consistent-Through";

static void
add_cors(struct http_request *req, struct MHD_Response *resp)
{
    const char *allowed = http_request_config(req)->cors_origin;
    const char *origin = http_request_header(req, MHD_HTTP_HEADER_ORIGIN);

    if (allowed == NULL || allowed[0] == '\0')
        return;
    /* Reflecting the origin (rather than "*") lets browsers that send
     * credentials along accept the answer too. */
    if (strcmp(allowed, "*") == 0 && origin != NULL) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Credentials",
                                "true");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
    } else {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", allowed);
    }
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            exposed_headers);
}

enum MHD_Result
http_respond(struct http_request *req, unsigned status, char *body, size_t len,
             const char *content_type, const char *const *headers)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (body == NULL || status == 204 || status == 304) {
        free(body);
        body = NULL;
        len = 0;
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        resp =
            MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "X-Experience-API-Version",
                            xapi_version_string(req->version));
    if (body != NULL && content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
    if (req->resource != NULL && strcmp(req->resource, "/statements") == 0) {
        char through[40];

        store_consistent_through(http_request_store(req), through,
                                 sizeof(through));
        MHD_add_response_header(resp, "X-Experience-API-Consistent-Through",
                                through);
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    add_cors(req, resp);
    req->status = status;
    req->bytes = strcmp(req->method, "HEAD") == 0 ? 0 : len;
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result
http_respond_json(struct http_request *req, unsigned status,
                  const json_t *value, const char *const *headers)
{
    size_t len;
    char *text = xapi_json_text(value, &len);

    if (text == NULL)
        return MHD_NO;
    return http_respond(req, status, text, len, "application/json",
                        headers);
}

static enum MHD_Result
respond_error(struct http_request *req, const struct lrs_error *err,
              const char *const *headers)
{
    unsigned status = err->status >= 400 ? (unsigned)err->status : 500;
    const char *message = err->message[0] ? err->message : "internal error";
    char quoted[LRS_ERROR_MESSAGE_MAX + 64];
    enum MHD_Result ret;
    json_t *body;

    if (status >= 500)
        log_error("event=request_failed status=%u message=%s", status,
                  log_quote(quoted, sizeof(quoted), message));
    else
        log_debug("event=request_rejected status=%u message=%s", status,
                  log_quote(quoted, sizeof(quoted), message));
    body = json_pack("{s:{s:i,s:s}}", "error", "status", (int)status, "message",
                     message);
    if (body == NULL)
        return MHD_NO;
    ret = http_respond_json(req, status, body, headers);
    json_decref(body);
    return ret;
}

enum MHD_Result
http_respond_error(struct http_request *req, const struct lrs_error *err)
{
    const char *h401[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                          "Basic realm=\"xAPI\", charset=\"UTF-8\"", NULL};
    const char *h503[] = {MHD_HTTP_HEADER_RETRY_AFTER, "1", NULL};

    if (err->status == 401)
        return respond_error(req, err, h401);
    if (err->status == 503)
        return respond_error(req, err, h503);
    return respond_error(req, err, NULL);
}

enum MHD_Result
http_method_not_allowed(struct http_request *req, const char *allow)
{
    const char *headers[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
    struct lrs_error err;

    lrs_error_set(&err, 405, "%s: method not allowed here (allowed: %s)",
                  req->method, allow);
    return respond_error(req, &err, headers);
}

enum MHD_Result
http_fail(struct http_request *req, unsigned status, const char *fmt, ...)
{
    struct lrs_error err;
    va_list ap;

    err.status = (int)status;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, ap);
    va_end(ap);
    return http_respond_error(req, &err);
}

void
http_date(int64_t epoch_us, char *out, size_t size)
{
    time_t secs = (time_t)(epoch_us / 1000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
