/*
 * A small HTTP client for the integration tests, over libcurl. It speaks to
 * the lrsd that tests/with-lrsd started (LRSD_TEST_URL, LRSD_TEST_KEY,
 * LRSD_TEST_SECRET) and adds what every xAPI request carries unless the
 * caller says otherwise: HTTP Basic credentials, X-Experience-API-Version
 * 1.0.3 and, with a body, Content-Type application/json. The response is
 * kept whole: status, the headers of the final response and the body, also
 * parsed as JSON when it is JSON.
 *
 * The client has no state beyond what http_client_init reads, so tests may
 * call it from several threads at once.
 */
#ifndef LRSD_TESTS_HTTP_CLIENT_H
#define LRSD_TESTS_HTTP_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct http_header {
    char *name;                 /* as sent by the server, owned */
    char *value;                /* surrounding whitespace removed, owned */
};

struct http_response {
    long status;                /* HTTP status; 0 when no answer came */
    char *body;                 /* NUL-terminated, owned; "" when none */
    size_t body_len;            /* bytes received, without the NUL */
    json_t *json;               /* body parsed as JSON, or NULL; owned */
    struct http_header *headers; /* of the final response, owned */
    size_t nheaders;
};

/* Reads LRSD_TEST_URL, LRSD_TEST_KEY and LRSD_TEST_SECRET and initialises
 * libcurl. Call once, before any thread or fork. Returns 0, or -1 after
 * printing what is missing. */
int http_client_init(void) __attribute__((warn_unused_result));

/* Releases what http_client_init set up. */
void http_client_cleanup(void);

/* The xAPI base URL without a trailing slash, e.g.
 * "http://127.0.0.1:8123/xapi". Static. */
const char *http_base_url(void);

/* Sends one request and waits for the whole answer.
 *
 * target is resolved like a link: "statements?limit=1" is relative to the
 * xAPI base URL, "/xapi/statements?..." (a "more" link) to the server's
 * origin. headers is a NULL-terminated list of "Name: value" lines (may be
 * NULL). A line naming Authorization, X-Experience-API-Version or
 * Content-Type replaces the default; "Name:" with no value leaves that
 * header out altogether. body (NUL-terminated, may be NULL) is sent as is.
 *
 * Always returns a response the caller frees with http_response_free; when
 * the server cannot be reached its status is 0 and the body holds curl's
 * error. Aborts when memory runs out. */
struct http_response *http_request(const char *method, const char *target,
                                   const char *const *headers,
                                   const char *body);

/* GET with the default headers. */
struct http_response *http_get(const char *target);

/* method (POST or PUT) with json serialised compactly as the body and the
 * default headers. json is borrowed. */
struct http_response *http_send_json(const char *method, const char *target,
                                     const json_t *json);

/* The value of the first response header called name (case-insensitive),
 * or NULL. Borrowed from the response. */
const char *http_header(const struct http_response *resp, const char *name);

/* How many response headers are called name (case-insensitive). */
size_t http_header_count(const struct http_response *resp, const char *name);

/* Percent-encodes text for use in a query string. Returns a new string the
 * caller frees. Aborts when memory runs out. */
char *http_escape(const char *text);

/* The "Authorization: Basic ..." line sent by default. Static. */
const char *http_auth_line(void);

/* Sends request, a complete HTTP/1.1 request written by the caller (it
 * should say "Connection: close"), byte for byte over a new connection to
 * the server's origin, and reads until the server closes the connection
 * (at most 30 seconds between reads). For checks curl would hide, such as
 * bytes after the headers of a HEAD or 204 response. Returns a new
 * NUL-terminated string holding all that was received, its length in
 * *len; NULL when the connection fails. */
char *http_raw_exchange(const char *request, size_t *len);

/* Frees a response. NULL is allowed. */
void http_response_free(struct http_response *resp);

#endif
