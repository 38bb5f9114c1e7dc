/* Parsing the form body of the alternate request syntax. */
#include "http/form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const header_fields[] = {
    "Authorization",   "X-Experience-API-Version",
    "Content-Type",    "Content-Length",
    "If-Match",        "If-None-Match",
    "Accept-Language", "Accept",
};

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes '+' and %XX in place; returns the decoded length or -1. */
static long
url_decode(char *s)
{
    char *o = s, *start = s;

    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);

            if (hi < 0 || lo < 0)
                return -1;
            *o++ = (char)(hi << 4 | lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return o - start;
}

static const char *
header_name(const char *field)
{
    for (size_t i = 0; i < sizeof(header_fields) / sizeof(*header_fields);
         i++) {
        if (strcasecmp(field, header_fields[i]) == 0)
            return header_fields[i];
    }
    return NULL;
}

static int
add_field(struct form *form, char *name, char *value, struct lrs_error *err)
{
    const char *header;
    long vlen;

    if (url_decode(name) < 0 || (vlen = url_decode(value)) < 0)
        return lrs_error_set(err, 400, "body: malformed form encoding");
    header = header_name(name);
    if (strcmp(name, "content") == 0) {
        form->content = value;
        form->content_len = (size_t)vlen;
    } else if (header != NULL) {
        params_add(&form->headers, header, value);
    } else {
        params_add(&form->params, name, value);
    }
    if (form->headers.overflow || form->params.overflow)
        return lrs_error_set(err, 400, "body: too many form fields");
    return 0;
}

int
form_parse(const char *body, size_t len, struct form *out,
           struct lrs_error *err)
{
    char *field, *next;

    memset(out, 0, sizeof(*out));
    out->text = malloc(len + 1);
    if (out->text == NULL)
        return lrs_error_set(err, 500, "out of memory");
    memcpy(out->text, body, len);
    out->text[len] = '\0';
    if (strlen(out->text) != len) {
        form_free(out);
        return lrs_error_set(err, 400, "body: malformed form encoding");
    }
    for (field = out->text; *field; field = next) {
        char *eq;

        next = field + strcspn(field, "&");
        if (*next == '&')
            *next++ = '\0';
        if (*field == '\0')
            continue;
        eq = strchr(field, '=');
        if (eq != NULL)
            *eq++ = '\0';
        if (add_field(out, field, eq ? eq : field + strlen(field), err) < 0) {
            form_free(out);
            return -1;
        }
    }
    return 0;
}

void
form_free(struct form *form)
{
    free(form->text);
    memset(form, 0, sizeof(*form));
}
