/* The About resource: which xAPI versions this LRS speaks. No credential
 * is needed to ask. */
#include <jansson.h>
#include <string.h>

#include "http/respond.h"
#include "http/server_internal.h"

enum MHD_Result
about_handle(struct http_request *req)
{
    enum MHD_Result ret;
    json_t *body;

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return http_method_not_allowed(req, "GET, HEAD, OPTIONS");
    body = json_pack("{s:[s,s]}", "version", "1.0.3", "2.0.0");
    if (body == NULL)
        return MHD_NO;
    ret = http_respond_json(req, 200, body, NULL);
    json_decref(body);
    return ret;
}
