/*
 * Building and queueing responses. Every response carries
 * X-Experience-API-Version, the CORS headers and an exact Content-Length;
 * responses to HEAD, and 204 and 304 responses, carry no body.
 */
#ifndef LRSD_HTTP_RESPOND_H
#define LRSD_HTTP_RESPOND_H

#include <jansson.h>

#include "core/error.h"
#include "http/request.h"

/* Queues a response with body (taken: freed by libmicrohttpd), of the
 * given length and content type (may be NULL when body is NULL). Extra
 * headers are name/value pairs ending with NULL. Returns MHD_YES/MHD_NO
 * for the access handler to return. */
enum MHD_Result http_respond(struct http_request *req, unsigned status,
                             char *body, size_t len, const char *content_type,
                             const char *const *headers);

/* Queues a JSON value (borrowed) with the given status. */
enum MHD_Result http_respond_json(struct http_request *req, unsigned status,
                                  const json_t *value,
                                  const char *const *headers);

/* Queues an error: {"error":{"status":N,"message":"..."}} with the
 * error's status (500 if unset); 401 adds WWW-Authenticate and 503 adds
 * Retry-After. Client errors are logged at debug, server ones at error. */
enum MHD_Result http_respond_error(struct http_request *req,
                                   const struct lrs_error *err);

/* Answers 405 with an Allow header listing the allowed methods. */
enum MHD_Result http_method_not_allowed(struct http_request *req,
                                        const char *allow);

/* Shorthand: formats a message and responds with it as an error. */
enum MHD_Result http_fail(struct http_request *req, unsigned status,
                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats an epoch-microsecond time as an HTTP date (RFC 7231). */
void http_date(int64_t epoch_us, char *out, size_t size);

#endif
