/*
 * The integration tests' HTTP client: one libcurl easy handle per request,
 * so that threads need no locking, and every response kept whole so that
 * a test can assert on any header. See client.h for the defaults it adds.
 */
#include "client.h"

#include <curl/curl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define URL_MAX 1024
#define BODY_MAX (64u * 1024u * 1024u)  /* a test never needs more */
#define HEADERS_MAX 128
#define CREDENTIALS_MAX 256             /* key or secret, with the NUL */
#define PAIR_MAX (2 * CREDENTIALS_MAX)  /* "key:secret" */
#define ENCODED_MAX (PAIR_MAX / 3 * 4 + 8)

static char base_url[URL_MAX];      /* e.g. http://127.0.0.1:8123/xapi */
static char origin[URL_MAX];        /* e.g. http://127.0.0.1:8123 */
static char auth_line[ENCODED_MAX + 32]; /* "Authorization: Basic ..." */

struct receive {
    struct http_response *resp;
    size_t body_cap;                /* bytes allocated for resp->body */
    bool too_big;                   /* body passed BODY_MAX */
};

static void *
xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size);

    if (p == NULL) {
        fputs("http client: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *
xstrndup(const char *text, size_t len)
{
    char *copy = xrealloc(NULL, len + 1);

    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

static int
copy_env(const char *name, char *out, size_t size)
{
    const char *value = getenv(name);

    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "http client: %s is not set (run the test through "
                "tests/with-lrsd)\n", name);
        return -1;
    }
    if (strlen(value) >= size) {
        fprintf(stderr, "http client: %s is too long\n", name);
        return -1;
    }
    strcpy(out, value);
    return 0;
}

/* The origin is the base URL up to the first '/' after "scheme://". */
static int
split_origin(void)
{
    const char *scheme_end = strstr(base_url, "://");
    const char *path;
    size_t len = strlen(base_url);

    if (scheme_end == NULL) {
        fprintf(stderr, "http client: bad LRSD_TEST_URL %s\n", base_url);
        return -1;
    }
    while (len > 0 && base_url[len - 1] == '/')
        base_url[--len] = '\0';
    path = strchr(scheme_end + 3, '/');
    len = path == NULL ? strlen(base_url) : (size_t)(path - base_url);
    memcpy(origin, base_url, len);
    origin[len] = '\0';
    return 0;
}

static int
build_auth_line(void)
{
    char key[CREDENTIALS_MAX], secret[CREDENTIALS_MAX];
    char pair[PAIR_MAX];
    unsigned char encoded[ENCODED_MAX];
    int n;

    if (copy_env("LRSD_TEST_KEY", key, sizeof(key)) < 0 ||
        copy_env("LRSD_TEST_SECRET", secret, sizeof(secret)) < 0)
        return -1;
    /* Both fit: each is shorter than CREDENTIALS_MAX. */
    n = snprintf(pair, sizeof(pair), "%s:%s", key, secret);
    if (n < 0 || (size_t)n >= sizeof(pair))
        return -1;
    EVP_EncodeBlock(encoded, (const unsigned char *)pair, n);
    snprintf(auth_line, sizeof(auth_line), "Authorization: Basic %s",
             (const char *)encoded);
    return 0;
}

int
http_client_init(void)
{
    if (copy_env("LRSD_TEST_URL", base_url, sizeof(base_url)) < 0 ||
        split_origin() < 0 || build_auth_line() < 0)
        return -1;
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fputs("http client: curl_global_init failed\n", stderr);
        return -1;
    }
    return 0;
}

void
http_client_cleanup(void)
{
    curl_global_cleanup();
}

const char *
http_base_url(void)
{
    return base_url;
}

/* ---- receiving ---------------------------------------------------------- */

static void
headers_clear(struct http_response *resp)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->nheaders = 0;
}

static size_t
trimmed_len(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == '\n' ||
                       text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    return len;
}

/* curl calls this once per header line, for every response it reads
 * (interim 1xx ones too): a status line starts the list afresh. */
static size_t
on_header(char *line, size_t size, size_t count, void *arg)
{
    struct receive *rx = arg;
    struct http_response *resp = rx->resp;
    size_t len = trimmed_len(line, size * count);
    const char *colon = memchr(line, ':', len);
    const char *value;
    struct http_header *h;

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        headers_clear(resp);
        return size * count;
    }
    if (colon == NULL || resp->nheaders >= HEADERS_MAX)
        return size * count;
    resp->headers = xrealloc(resp->headers,
                             (resp->nheaders + 1) * sizeof(*resp->headers));
    h = &resp->headers[resp->nheaders++];
    h->name = xstrndup(line, (size_t)(colon - line));
    value = colon + 1;
    while (value < line + len && (*value == ' ' || *value == '\t'))
        value++;
    h->value = xstrndup(value, (size_t)(line + len - value));
    return size * count;
}

static size_t
on_body(char *data, size_t size, size_t count, void *arg)
{
    struct receive *rx = arg;
    struct http_response *resp = rx->resp;
    size_t n = size * count;

    if (resp->body_len + n > BODY_MAX) {
        rx->too_big = true;
        return 0;
    }
    if (resp->body_len + n + 1 > rx->body_cap) {
        rx->body_cap = (resp->body_len + n + 1) * 2;
        resp->body = xrealloc(resp->body, rx->body_cap);
    }
    memcpy(resp->body + resp->body_len, data, n);
    resp->body_len += n;
    resp->body[resp->body_len] = '\0';
    return n;
}

/* ---- sending ------------------------------------------------------------ */

static bool
line_names(const char *line, const char *name)
{
    size_t n = strlen(name);

    /* "Name;" is curl's way of sending Name with an empty value. */
    return strncasecmp(line, name, n) == 0 &&
           (line[n] == ':' || line[n] == ';');
}

static bool
headers_name(const char *const *headers, const char *name)
{
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (line_names(headers[i], name))
            return true;
    }
    return false;
}

static struct curl_slist *
slist_add(struct curl_slist *list, const char *line)
{
    struct curl_slist *next = curl_slist_append(list, line);

    if (next == NULL) {
        fputs("http client: out of memory\n", stderr);
        abort();
    }
    return next;
}

/* The caller's lines go last so that "Name:" also removes headers curl
 * would add by itself (Content-Type, Accept, Expect). */
static struct curl_slist *
request_headers(const char *const *headers, bool has_body)
{
    struct curl_slist *list = NULL;

    if (!headers_name(headers, "Authorization"))
        list = slist_add(list, auth_line);
    if (!headers_name(headers, "X-Experience-API-Version"))
        list = slist_add(list, "X-Experience-API-Version: 1.0.3");
    if (has_body && !headers_name(headers, "Content-Type"))
        list = slist_add(list, "Content-Type: application/json");
    if (!headers_name(headers, "Expect"))
        list = slist_add(list, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = slist_add(list, headers[i]);
    return list;
}

static void
resolve_target(const char *target, char *url, size_t size)
{
    if (strncmp(target, "http://", 7) == 0 ||
        strncmp(target, "https://", 8) == 0)
        snprintf(url, size, "%s", target);
    else if (target[0] == '/')
        snprintf(url, size, "%s%s", origin, target);
    else
        snprintf(url, size, "%s/%s", base_url, target);
}

static void
set_method(CURL *curl, const char *method, const char *body)
{
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
}

static struct http_response *
response_new(void)
{
    struct http_response *resp = xrealloc(NULL, sizeof(*resp));

    memset(resp, 0, sizeof(*resp));
    resp->body = xstrndup("", 0);
    return resp;
}

static void
response_fail(struct http_response *resp, const char *method,
              const char *url, const char *why)
{
    fprintf(stderr, "http client: %s %s: %s\n", method, url, why);
    free(resp->body);
    resp->body = xstrndup(why, strlen(why));
    resp->body_len = strlen(why);
    resp->status = 0;
}

struct http_response *
http_request(const char *method, const char *target,
             const char *const *headers, const char *body)
{
    struct http_response *resp = response_new();
    struct receive rx = {.resp = resp, .body_cap = 1};
    char url[URL_MAX * 4], error[CURL_ERROR_SIZE] = "";
    struct curl_slist *list = request_headers(headers, body != NULL);
    CURL *curl = curl_easy_init();
    CURLcode rc;

    if (curl == NULL) {
        fputs("http client: curl_easy_init failed\n", stderr);
        abort();
    }
    resolve_target(target, url, sizeof(url));
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &rx);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rx);
    set_method(curl, method, body);

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        response_fail(resp, method, url, rx.too_big ? "response too large"
                      : error[0] != '\0' ? error : curl_easy_strerror(rc));
    else
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->status != 0 && resp->body_len > 0)
        resp->json = json_loadb(resp->body, resp->body_len,
                                JSON_REJECT_DUPLICATES, NULL);

    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    return resp;
}

struct http_response *
http_get(const char *target)
{
    return http_request("GET", target, NULL, NULL);
}

struct http_response *
http_send_json(const char *method, const char *target, const json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    struct http_response *resp;

    if (text == NULL) {
        fputs("http client: cannot serialise JSON\n", stderr);
        abort();
    }
    resp = http_request(method, target, NULL, text);
    free(text);
    return resp;
}

const char *
http_header(const struct http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

size_t
http_header_count(const struct http_response *resp, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            n++;
    }
    return n;
}

char *
http_escape(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(text);
    char *out = xrealloc(NULL, len * 3 + 1);
    char *p = out;

    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
            (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL) {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 15];
        }
    }
    *p = '\0';
    return out;
}

const char *
http_auth_line(void)
{
    return auth_line;
}

/* ---- raw exchanges ------------------------------------------------------ */

/* Splits the origin "http://host:port" into host and port. */
static int
origin_host_port(char *host, size_t host_size, char *port, size_t port_size)
{
    const char *start = strstr(origin, "://");
    const char *colon;

    if (start == NULL)
        return -1;
    start += 3;
    colon = strrchr(start, ':');
    if (colon == NULL || (size_t)(colon - start) >= host_size ||
        strlen(colon + 1) >= port_size)
        return -1;
    memcpy(host, start, (size_t)(colon - start));
    host[colon - start] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int
raw_connect(void)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    struct timeval timeout = {.tv_sec = 30};
    int fd = -1;

    if (origin_host_port(host, sizeof(host), port, sizeof(port)) < 0 ||
        getaddrinfo(host, port, &hints, &list) != 0)
        return -1;
    for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
}

static int
raw_send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

char *
http_raw_exchange(const char *request, size_t *len)
{
    int fd = raw_connect();
    size_t cap = 4096, used = 0;
    char *buf;

    if (fd < 0)
        return NULL;
    if (raw_send_all(fd, request, strlen(request)) < 0) {
        close(fd);
        return NULL;
    }
    buf = xrealloc(NULL, cap);
    for (;;) {
        ssize_t n = recv(fd, buf + used, cap - used - 1, 0);

        if (n <= 0)
            break;
        used += (size_t)n;
        if (used + 1 == cap) {
            if (cap >= BODY_MAX)
                break;
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    close(fd);
    buf[used] = '\0';
    *len = used;
    return buf;
}

void
http_response_free(struct http_response *resp)
{
    if (resp == NULL)
        return;
    headers_clear(resp);
    json_decref(resp->json);
    free(resp->body);
    free(resp);
}
